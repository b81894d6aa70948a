"""Screening, special measures and hit adjudication over HTTP (D1, D3, D4, D5).

- ``GET /v1/lists``: the in-force snapshot of each list source.
- ``GET /v1/measures``, ``POST /v1/measures``, ``POST /v1/measures/{id}/extend``,
  ``POST /v1/measures/{id}/revoke``: the special-measures register (D1).
- ``POST /v1/screen``: screen one person or entity (name in the body, never the URL) against the
  in-force lists and measures (D3).
- ``GET /v1/hits?state=open``, ``GET /v1/hits/{id}`` (``unmask=true`` for a compliance officer with a
  purpose), ``POST /v1/hits/{id}/decision``: adjudication (D5); explanations are masked unless
  unmasked (B2, B4).

Refusals are 422s naming the field (the errors' own kinds, mapped by ``api.errors``); no response or error
echoes a screened person's data back except the screening result itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudcip import clock
from cloudcip.api.auth import ServicesDep, require, stated_legal_basis, stated_purpose
from cloudcip.api.models.screening import HitList, HitView, ListSnapshots, MeasureList, MeasureView, ScreeningAnswer
from cloudcip.api.params import Day
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor, check
from cloudcip.runtime import screening_service as process_screening
from cloudcip.screening import hits as hits_store
from cloudcip.screening import measures as register
from cloudcip.screening.service import ScreeningService
from cloudcip.screening.snapshots import in_force_snapshots

router = APIRouter(tags=["screening"])

RecordId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]


def screening_service(request: Request, services: ServicesDep) -> ScreeningService:
    """The app's screening service, the process's one (``runtime.screening_service``); its index is
    rebuilt when lists or measures change."""
    service: ScreeningService | None = getattr(request.app.state, "screening", None)
    if service is None or service.services is not services:
        service = process_screening(services)
    return service


ScreeningDep = Annotated[ScreeningService, Depends(screening_service)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DescribedPersonIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]
    birth_date: Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] | None = None
    nationality: CountryCode | None = None


class MeasureIn(Strict):
    kind: Literal["jurisdiction", "person"]
    target: Annotated[str, StringConstraints(min_length=1, max_length=200)] | DescribedPersonIn = Field(
        description="jurisdiction: ISO 3166 code or region name; person: SOURCE:SOURCE_ID or a described person")
    measure: Literal["prohibit", "conditions"]
    conditions: Annotated[list[str], Field(max_length=10)] = []
    determination_date: Day
    effective_date: Day | None = None
    duration_days: Annotated[int, Field(ge=1, le=register.MAX_DAYS)] | None = None
    covers_resellers: bool = True
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class ExtensionIn(Strict):
    days: Annotated[int, Field(ge=1, le=register.MAX_DAYS)]
    reason: Reason


class RevocationIn(Strict):
    reason: Reason


class DecisionIn(Strict):
    state: Literal["confirmed", "false_positive", "escalated"]
    reason: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)] | None = None


class ScreenIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    schema_: Literal["Person", "Organization"] | None = Field(default=None, alias="schema")
    birth_date: Annotated[str, StringConstraints(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")] | None = None
    nationality: CountryCode | None = None
    gender: Literal["male", "female"] | None = None
    document_numbers: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=20)] = []
    emails: Annotated[list[Annotated[str, StringConstraints(max_length=254)]], Field(max_length=10)] = []
    wallets: Annotated[list[Annotated[str, StringConstraints(max_length=128)]], Field(max_length=20)] = []
    jurisdictions: Annotated[list[Jurisdiction], Field(max_length=50)] = []
    limit: Annotated[int, Field(ge=1, le=50)] = 5


# --- lists --------------------------------------------------------------------------------------


@router.get("/v1/lists", response_model=ListSnapshots)
def show_lists(
    services: ServicesDep,
    _actor: Annotated[Actor, Depends(require("screening:read"))],
) -> dict[str, Any]:
    with services.database.engine.connect() as conn:
        return {"sources": [s.as_json() for s in in_force_snapshots(conn)]}


# --- measures -----------------------------------------------------------------------------------


@router.get("/v1/measures", response_model=MeasureList, response_model_exclude_unset=True)
def get_measures(
    services: ServicesDep,
    _actor: Annotated[Actor, Depends(require("screening:read", "measures:write"))],
    include_revoked: bool = True,
) -> dict[str, Any]:
    today = clock.today()
    with services.database.engine.connect() as conn:
        found = register.list_measures(conn, include_revoked=include_revoked)
    return {"measures": [m.as_json(today) for m in found]}


@router.post("/v1/measures", status_code=201, response_model=MeasureView,
             response_model_exclude_unset=True)
def post_measure(
    body: MeasureIn,
    services: ServicesDep,
    screening: ScreeningDep,
    actor: Annotated[Actor, Depends(require("measures:write"))],
) -> dict[str, Any]:
    target: str | dict[str, Any] = body.target if isinstance(body.target, str) else body.target.model_dump()
    created = register.add_measure(
        services, actor, kind=body.kind, target=target, measure=body.measure,
        determination_date=body.determination_date, conditions=body.conditions,
        effective_date=body.effective_date, duration_days=body.duration_days,
        covers_resellers=body.covers_resellers, description=body.description,
    )
    screening.invalidate()
    return created.as_json(clock.today())


@router.post("/v1/measures/{measure_id}/extend", response_model=MeasureView, response_model_exclude_unset=True)
def extend(
    measure_id: RecordId,
    body: ExtensionIn,
    services: ServicesDep,
    screening: ScreeningDep,
    actor: Annotated[Actor, Depends(require("measures:write"))],
) -> dict[str, Any]:
    changed = register.extend_measure(services, actor, measure_id, body.days, body.reason)
    screening.invalidate()
    return changed.as_json(clock.today())


@router.post("/v1/measures/{measure_id}/revoke", response_model=MeasureView, response_model_exclude_unset=True)
def revoke(
    measure_id: RecordId,
    body: RevocationIn,
    services: ServicesDep,
    screening: ScreeningDep,
    actor: Annotated[Actor, Depends(require("measures:write"))],
) -> dict[str, Any]:
    changed = register.revoke_measure(services, actor, measure_id, body.reason)
    screening.invalidate()
    return changed.as_json(clock.today())


# --- screening ----------------------------------------------------------------------------------


@router.post("/v1/screen", response_model=ScreeningAnswer)
def screen_one(
    body: ScreenIn,
    request: Request,
    services: ServicesDep,
    screening: ScreeningDep,
    actor: Annotated[Actor, Depends(require("screening:read"))],
) -> dict[str, Any]:
    """Screen a name (and what else is known) against the in-force lists and measures. The screening
    goes on the ledger with its purpose; the ledger names the query by a keyed hash, never by the
    name (B3, B4)."""
    result = screening.screen_person(
        body.name, body.birth_date, body.nationality, schema=body.schema_, gender=body.gender,
        document_numbers=body.document_numbers, emails=body.emails, wallets=body.wallets,
        jurisdictions=body.jurisdictions, limit=body.limit,
    )
    answer = result.as_json()
    query = hits_store.subject_hash(services.keyring.blind_index_key(), body.model_dump(mode="json"))[:32]
    with services.ledger.unit_of_work() as work:
        work.log(LedgerAction(actor.name, actor.role, "screen", "screening_query", query,
                              purpose=stated_purpose(request), detail={"band": answer.get("band")}))
    return answer


# --- hits ---------------------------------------------------------------------------------------


@router.get("/v1/hits", response_model=HitList)
def get_hits(
    request: Request,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(require("screening:read", "screening:adjudicate"))],
    state: Annotated[Literal["open", "confirmed", "false_positive", "escalated"] | None, Query()] = None,
    application_id: Annotated[str | None, Query(pattern=r"^[0-9a-f\-]{36}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Hits, newest first, explanations masked; each hit served is a read on the ledger with the purpose
    stated (B3, B4)."""
    with services.ledger.unit_of_work() as work:
        found = hits_store.list_hits(work.conn, state=state, application_id=application_id, limit=limit,
                                     offset=offset)
        for hit in found:
            work.log(LedgerAction(actor.name, actor.role, "read", "screening_hit", hit.id,
                                  purpose=stated_purpose(request), detail={"subject_type": hit.subject_type}))
    return {"hits": [h.as_json() for h in found]}


@router.get("/v1/hits/{hit_id}", response_model=HitView)
def get_hit(
    hit_id: RecordId,
    request: Request,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(require("screening:read", "screening:adjudicate"))],
    unmask: Annotated[bool, Query()] = False,
) -> dict[str, Any]:
    """One hit, its explanation masked; with ``unmask=true`` (``customer:unmask``: a compliance officer
    stating ``X-Access-Purpose``) the whole explanation, which quotes the screened person's name parts
    and date of birth. Either read goes on the ledger with its purpose (B2, B3, B4, D5)."""
    purpose = stated_purpose(request)
    if unmask:
        check(actor, "customer:unmask", purpose=purpose, legal_basis=stated_legal_basis(request))
    with services.ledger.unit_of_work() as work:
        hit = hits_store.get_hit(work.conn, hit_id).as_json()
        if unmask:
            hit["explanation"] = hits_store.open_explanation(work.conn, hit_id, services.keyring.blind_index_key())
        work.log(LedgerAction(actor.name, actor.role, "read_unmasked" if unmask else "read", "screening_hit",
                              hit_id, purpose=purpose, detail={"subject_type": hit["subject_type"]}))
    return hit


@router.post("/v1/hits/{hit_id}/decision", response_model=HitView)
def post_decision(
    hit_id: RecordId,
    body: DecisionIn,
    request: Request,
    services: ServicesDep,
    actor: Annotated[Actor, Depends(require("screening:adjudicate"))],
) -> dict[str, Any]:
    """D5: a person confirms, clears (reason required) or escalates a hit; clearing a hit that refused an
    application decides the application again (the provider is told through the webhook)."""
    applications = getattr(request.app.state, "applications", None)
    decided = hits_store.decide(services, actor, hit_id, body.state, body.reason,
                                after=applications.hit_decided if applications is not None else None)
    return decided.as_json()
