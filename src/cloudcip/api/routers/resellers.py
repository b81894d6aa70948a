"""Sub-lessees of Reseller Accounts over HTTP (E2, D3, D4, B3, B4).

- ``POST /v1/resellers/{account_id}/sub-lessees``: one sub-lessee or a JSON array of them, shared by
  the reseller (role ``signup-service``); each is stored sealed, screened and answered with its id,
  status and screening outcome (no personal data in the answer). Idempotent on each ``reference``:
  201 when any sub-lessee was new, else 200.
- ``GET /v1/resellers/{account_id}/sub-lessees?limit=&cursor=&status=``: a page, masked (analysts,
  compliance officers, administrators); each read on the ledger with ``X-Access-Purpose``.
- ``DELETE /v1/resellers/{account_id}/sub-lessees/{id}``: the reseller stopped serving it; ``removed``,
  never deleted.

404 for an unknown account or one that is not a Reseller Account; 409 for a closed one; 422 naming
each bad field; 410 once the reseller's customer record was purged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import StringConstraints, TypeAdapter

from cloudcip.api.auth import ServicesDep, require, stated_purpose
from cloudcip.api.models.resellers import SharedSubLessees, SubLesseePage, SubLesseeRemoved
from cloudcip.api.routers.screening import ScreeningDep
from cloudcip.records.roles import Actor
from cloudcip.resellers import sub_lessees as register
from cloudcip.resellers.sub_lessee_input import SubLesseeInput
from cloudcip.runtime import sub_lessee_links

router = APIRouter(prefix="/v1/resellers", tags=["resellers"])

AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
SubLesseeId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Sharer = Annotated[Actor, Depends(require("sub_lessee:share"))]
Reader = Annotated[Actor, Depends(require("sub_lessee:read"))]

_SCHEMA = TypeAdapter(SubLesseeInput | list[SubLesseeInput]).json_schema(
    ref_template="#/components/schemas/{model}")
_BODY_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "description": "one sub-lessee, or a JSON array of up to 500",
    "oneOf": _SCHEMA.get("anyOf", [_SCHEMA]),
}}}}}
#: the models the body's schema refers to, added to the document's components by ``api.app``
COMPONENT_SCHEMAS: dict[str, Any] = _SCHEMA.get("$defs", {})


@router.post("/{account_id}/sub-lessees", response_model=SharedSubLessees, openapi_extra=_BODY_DOC, responses={
    201: {"model": SharedSubLessees, "description": "at least one sub-lessee was new"},
    200: {"description": "every sub-lessee was known already (by its reference)"}})
def share_sub_lessees(
    account_id: AccountId,
    body: Annotated[Any, Body()],
    request: Request,
    services: ServicesDep,
    screening: ScreeningDep,
    actor: Sharer,
) -> JSONResponse:
    """E2: the reseller shares sub-lessees; each is screened on arrival, measures reach through."""
    items, many = register.parse_sub_lessees(body)
    shared = register.share_sub_lessees(services, screening, account_id, items, actor, many=many,
                                        purpose=stated_purpose(request), links=sub_lessee_links(services))
    created = any(item.outcome == "created" for item in shared)
    return JSONResponse({"reseller_account_id": account_id, "sub_lessees": [item.as_json() for item in shared]},
                        status_code=201 if created else 200)


@router.get("/{account_id}/sub-lessees", response_model=SubLesseePage, response_model_exclude_unset=True)
def list_sub_lessees(
    account_id: AccountId,
    request: Request,
    services: ServicesDep,
    actor: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9a-f\-]{36}$")] = None,
    status: Annotated[Literal["active", "removed", "refused"] | None, Query()] = None,
) -> dict[str, Any]:
    """A page of the Reseller Account's sub-lessees, masked; ``next_cursor`` fetches the next."""
    return register.list_sub_lessees(services, account_id, actor, purpose=stated_purpose(request),
                                     limit=limit, after=cursor, status=status)


@router.delete("/{account_id}/sub-lessees/{sub_lessee_id}", response_model=SubLesseeRemoved)
def remove_sub_lessee(
    account_id: AccountId,
    sub_lessee_id: SubLesseeId,
    request: Request,
    services: ServicesDep,
    actor: Sharer,
) -> dict[str, Any]:
    """The reseller no longer serves this sub-lessee: ``removed`` (kept, never deleted)."""
    return register.remove_sub_lessee(services, account_id, sub_lessee_id, actor,
                                      purpose=stated_purpose(request))
