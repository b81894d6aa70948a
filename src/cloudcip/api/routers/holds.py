"""Preservation holds over HTTP (B1, B5).

- ``POST /v1/legal/holds`` ``{"process_id"}`` (``legal``, ``compliance-officer``): freeze what the
  process covers now; 201 with the hold's id and what it froze (counts only).
- ``POST /v1/legal/holds/{id}/release`` ``{"reason"}`` (``legal``): released only with a reason; 409
  when already released.
- ``GET /v1/legal/holds[?process_id=]``, ``GET /v1/legal/holds/{id}``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, StringConstraints

from cloudcip import clock
from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import errors
from cloudcip.records.preservation import HoldRecord
from cloudcip.records.roles import Actor
from cloudcip.runtime import legal_holds

router = APIRouter(prefix="/v1/legal/holds", tags=["legal"])
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]


class HoldRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process_id: Uuid


class ReleaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, StringConstraints(max_length=500)]


class HoldView(BaseModel):
    id: str
    process_id: str
    placed_at: str
    placed_by: str
    released_at: str | None
    release_reason: str | None
    customers: int
    accounts: int
    standing: bool

    @classmethod
    def of(cls, hold: HoldRecord) -> HoldView:
        return cls(id=hold.id, process_id=hold.process_id, placed_at=clock.iso(hold.placed_at) or "",
                   placed_by=hold.placed_by, released_at=clock.iso(hold.released_at),
                   release_reason=hold.release_reason, customers=hold.customers, accounts=hold.accounts,
                   standing=hold.standing)


class HoldList(BaseModel):
    holds: list[HoldView]


@router.post("", status_code=201, response_model=HoldView, responses=errors(403, 404, 409, 422))
def place_hold(body: HoldRequest, services: ServicesDep,
               actor: Annotated[Actor, Depends(require("legal_hold:place"))]) -> HoldView:
    return HoldView.of(legal_holds(services).place(body.process_id, actor))


@router.post("/{hold_id}/release", response_model=HoldView, responses=errors(403, 404, 409, 422))
def release_hold(hold_id: Uuid, body: ReleaseRequest, services: ServicesDep,
                 actor: Annotated[Actor, Depends(require("legal_hold:release"))]) -> HoldView:
    return HoldView.of(legal_holds(services).release(hold_id, body.reason, actor))


@router.get("", response_model=HoldList, responses=errors(403))
def list_holds(services: ServicesDep, actor: Annotated[Actor, Depends(require("legal_process:read"))],
               process_id: Annotated[Uuid | None, Query()] = None) -> HoldList:
    return HoldList(holds=[HoldView.of(h) for h in legal_holds(services).list(actor, process_id=process_id)])


@router.get("/{hold_id}", response_model=HoldView, responses=errors(403, 404))
def show_hold(hold_id: Uuid, services: ServicesDep,
              actor: Annotated[Actor, Depends(require("legal_process:read"))]) -> HoldView:
    return HoldView.of(legal_holds(services).show(hold_id, actor))
