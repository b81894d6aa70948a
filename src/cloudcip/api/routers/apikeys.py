"""API keys for administrators: list, create, revoke (B4).

- ``GET /v1/apikeys``: every key with its role, label, state, expiry and last-used time (never a
  secret or hash).
- ``POST /v1/apikeys``: a new key for a role, optionally expiring; the key is in the answer once.
- ``DELETE /v1/apikeys/{key_id}``: revoke; refused at once by every worker and node. Kept, never
  deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, StringConstraints

from cloudcip import clock
from cloudcip.api.auth import ServicesDep, require
from cloudcip.records.api_keys import ApiKeyRegister
from cloudcip.records.roles import Actor, Role

router = APIRouter(prefix="/v1/apikeys", tags=["api keys"])
Admin = Annotated[Actor, Depends(require("apikeys:manage"))]
KeyId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{1,16}$")]

_ERRORS: dict[int | str, dict[str, str]] = {401: {"description": "no, an unknown, expired or revoked API key"},
                                            403: {"description": "the role may not manage API keys"}}


class ApiKeyOut(BaseModel):
    id: str
    role: str
    label: str | None
    state: str  # active | expired | revoked
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class ApiKeyList(BaseModel):
    api_keys: list[ApiKeyOut]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    label: Annotated[str, StringConstraints(max_length=200)] | None = None
    expires_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str  # shown once


@router.get("", response_model=ApiKeyList, responses=_ERRORS)
def list_keys(services: ServicesDep, _actor: Admin) -> ApiKeyList:
    now = clock.now()
    keys = ApiKeyRegister(services.database, services.ledger).list()
    return ApiKeyList(api_keys=[ApiKeyOut(**info.as_json(now)) for info in keys])


@router.post("", status_code=201, response_model=ApiKeyCreated,
             responses={**_ERRORS, 422: {"description": "an unknown role, a past expiry or a bad label"}})
def create_key(body: ApiKeyIn, services: ServicesDep, actor: Admin) -> ApiKeyCreated:
    expires = clock.utc(body.expires_at) if body.expires_at is not None else None
    key, info = ApiKeyRegister(services.database, services.ledger).create(actor, body.role, body.label, expires)
    return ApiKeyCreated(key=key, **info.as_json(clock.now()))


@router.delete("/{key_id}", response_model=ApiKeyOut, responses={**_ERRORS, 404: {"description": "no such key"}})
def revoke_key(key_id: KeyId, services: ServicesDep, actor: Admin) -> ApiKeyOut:
    info = ApiKeyRegister(services.database, services.ledger).revoke(actor, key_id)
    return ApiKeyOut(**info.as_json(clock.now()))
