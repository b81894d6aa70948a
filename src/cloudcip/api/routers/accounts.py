"""Accounts over HTTP: the provider closes them, readers see their lifecycle and retention clock (B1).

- ``POST /v1/accounts/{account_id}/close`` (``signup-service``, ``admin``): the account closed at
  ``at`` (default now, never in the future); 409 when it is already closed.
- ``GET /v1/accounts/{account_id}``: the account with its closure, last access, retention end and the
  holds that stand on it (read on the ledger with ``X-Access-Purpose``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from cloudcip import clock
from cloudcip.api.auth import ServicesDep, require, stated_purpose
from cloudcip.api.error_models import errors
from cloudcip.records.lifecycle import AccountRecord
from cloudcip.records.roles import Actor
from cloudcip.runtime import account_lifecycle

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])
AccountId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


class Closure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime | None = None


class AccountView(BaseModel):
    id: str
    customer_id: str
    type: str
    channel: str
    state: str
    parent_account_id: str | None
    opened_at: str
    closed_at: str | None
    last_access: str | None
    retention_ends: str | None
    holds: list[str]

    @classmethod
    def of(cls, record: AccountRecord) -> AccountView:
        return cls(id=record.id, customer_id=record.customer_id, type=record.type, channel=record.channel,
                   state=record.state, parent_account_id=record.parent_account_id,
                   opened_at=clock.iso(record.opened_at) or "", closed_at=clock.iso(record.closed_at),
                   last_access=clock.iso(record.last_access), retention_ends=clock.iso(record.retention_ends),
                   holds=record.holds)


@router.post("/{account_id}/close", response_model=AccountView, responses=errors(403, 404, 409, 422))
def close_account(account_id: AccountId, services: ServicesDep,
                  actor: Annotated[Actor, Depends(require("account:close"))],
                  body: Annotated[Closure | None, Body()] = None) -> AccountView:
    """B1: the provider closed the account; its retention clock starts from the later of this and its
    last access."""
    return AccountView.of(account_lifecycle(services).close(account_id, actor, body.at if body else None))


@router.get("/{account_id}", response_model=AccountView, responses=errors(403, 404))
def show_account(account_id: AccountId, request: Request, services: ServicesDep,
                 actor: Annotated[Actor, Depends(require("account:read"))]) -> AccountView:
    return AccountView.of(account_lifecycle(services).show(account_id, actor, stated_purpose(request)))
