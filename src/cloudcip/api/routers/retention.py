"""Retention over HTTP: what the retention period keeps until when, and the purge (B1).

- ``GET /v1/retention/plan?as_of=DATE&limit=&after=``: customers whose retention has an end, with
  its status on that date (``due``, ``held``, ``kept``), a page at a time (``compliance-officer``,
  ``admin``).
- ``POST /v1/retention/run`` (``admin``): purge now (or as on ``as_of``) what is due and not held.
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from cloudcip import clock
from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import errors
from cloudcip.api.params import Instant
from cloudcip.records.retention import CustomerRetention
from cloudcip.records.roles import Actor
from cloudcip.runtime import retention_service

router = APIRouter(prefix="/v1/retention", tags=["retention"])


class AccountPlan(BaseModel):
    account_id: str
    retention_ends: str | None
    status: str


class CustomerPlan(BaseModel):
    customer_id: str
    retention_ends: str | None
    status: str
    accounts: list[AccountPlan]

    @classmethod
    def of(cls, item: CustomerRetention, as_of: datetime) -> CustomerPlan:
        def account_status(ends: datetime | None, held: bool) -> str:
            if ends is None:
                return "open"
            return "held" if held else ("due" if ends <= as_of else "kept")

        return cls(customer_id=item.customer_id, retention_ends=clock.iso(item.retention_ends),
                   status=item.status_on(as_of),
                   accounts=[AccountPlan(account_id=a.account_id, retention_ends=clock.iso(a.retention_ends),
                                         status=account_status(a.retention_ends, a.held)) for a in item.accounts])


class Plan(BaseModel):
    as_of: str
    customers: list[CustomerPlan]
    next_after: str | None = Field(description="pass as `after` for the next page")


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: Instant | None = None


class RunAnswer(BaseModel):
    as_of: str
    customers_purged: int
    accounts_purged: int
    events_deleted: int
    sub_lessees_deleted: int
    held_skipped: int


@router.get("/plan", response_model=Plan, responses=errors(403, 422))
def retention_plan(services: ServicesDep, _actor: Annotated[Actor, Depends(require("retention:read"))],
                   as_of: Instant | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 1_000,
                   after: Annotated[str | None, Query(max_length=36)] = None) -> Plan:
    moment = clock.utc(as_of) if as_of is not None else clock.now()
    items = list(islice(retention_service(services).plan(after=after or ""), limit + 1))
    page = items[:limit]
    return Plan(as_of=clock.iso(moment) or "", customers=[CustomerPlan.of(i, moment) for i in page],
                next_after=page[-1].customer_id if len(items) > limit else None)


@router.post("/run", response_model=RunAnswer, responses=errors(403, 422))
def retention_run(services: ServicesDep, actor: Annotated[Actor, Depends(require("retention:run"))],
                  body: Annotated[RunRequest | None, Body()] = None) -> RunAnswer:
    report = retention_service(services).run(body.as_of if body else None, actor=actor)
    return RunAnswer(as_of=clock.iso(report.as_of) or "", customers_purged=report.customers_purged,
                     accounts_purged=report.accounts_purged, events_deleted=report.events_deleted,
                     sub_lessees_deleted=report.sub_lessees_deleted, held_skipped=report.held_skipped)
