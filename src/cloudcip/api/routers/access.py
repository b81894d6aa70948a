"""The access ledger over HTTP: event intake, an account's IPs and events, the accounts seen from an
IP or network, signals (C1, C2, C3, C4). Every query is a ledger entry with its purpose."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from cloudcip.access.events import format_time_ms
from cloudcip.access.formats import parse_rows
from cloudcip.access.queries import account_activity, account_events, account_ips, accounts_from
from cloudcip.access.signals import account_signals
from cloudcip.access.store import IngestResult, ingest
from cloudcip.api.auth import ServicesDep, require, stated_legal_basis, stated_purpose
from cloudcip.api.models.access import AccountAccess, AccountSignals, AccountsSeen, IngestAnswer
from cloudcip.api.params import INSTANT_HELP, Instant
from cloudcip.errors import InvalidInput
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.legal_process import LegalRead, check_legal_read
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services

router = APIRouter(tags=["access"])
Ingest = Annotated[Actor, Depends(require("access:ingest"))]
Reader = Annotated[Actor, Depends(require("access:read"))]
AccountId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


def _log(services: Services, actor: Actor, action: str, record_type: str, record_id: str, request: Request,
         detail: dict[str, Any] | None = None) -> None:
    """The read on the ledger, with the purpose and legal basis the reader stated (B3, B4)."""
    with services.ledger.unit_of_work() as work:
        work.log(LedgerAction(actor.name, actor.role, action, record_type, record_id, purpose=stated_purpose(request),
                              legal_basis=stated_legal_basis(request), detail=detail))


def _check_legal(services: Services, actor: Actor, request: Request, read: LegalRead) -> None:
    """B4: legal staff, and anyone reading under ``X-Legal-Basis``, read only what a registered, open
    legal process covers (403 otherwise)."""
    legal_basis = stated_legal_basis(request)
    if legal_basis or actor.role == "legal":
        with services.database.engine.connect() as conn:
            check_legal_read(conn, legal_basis, read)


def _store_batch(services: Services, body: bytes, fmt: str, actor: Actor, purpose: str | None) -> IngestResult:
    """Parse (msgspec/orjson, a plain validation loop: no model per event) and store one batch (C1, C2);
    the batch goes on the ledger by its SHA-256, with what it added (B3)."""
    result = ingest(services.database, parse_rows(body, fmt))
    with services.ledger.unit_of_work() as work:
        work.log(LedgerAction(actor.name, actor.role, "ingest", "access_events", hashlib.sha256(body).hexdigest(),
                              purpose=purpose or "access-event intake",
                              detail={"format": fmt, "accepted": result.accepted, "duplicates": result.duplicates}))
    return result


@router.post("/v1/access-events", response_model=IngestAnswer)
async def post_access_events(request: Request, actor: Ingest,
                             fmt: Annotated[Literal["jsonl", "ocsf", "cloudtrail"], Query(alias="format")] = "jsonl"
                             ) -> IngestAnswer:
    """A JSON array or JSON lines of events (plain or gzip); accepted whole or rejected whole with every
    bad line named; idempotent on each event's ``id``. Parsing and the write run in a worker thread
    (the event loop keeps reading the next requests); signals are raised from the stored events by
    the signal follower (``access.follower``), not on the request's path."""
    body = await request.body()
    services: Services = request.app.state.services
    result = await run_in_threadpool(_store_batch, services, body, fmt, actor, stated_purpose(request))
    return IngestAnswer(accepted=result.accepted, duplicates=result.duplicates)


def _window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end < start:
        raise InvalidInput.field("to", "must not be before from")


@router.get("/v1/accounts/{account_id}/access", response_model=AccountAccess)
def get_account_access(
    account_id: AccountId, request: Request, services: ServicesDep, actor: Reader,
    start: Annotated[Instant | None, Query(alias="from", description=INSTANT_HELP)] = None,
    end: Annotated[Instant | None, Query(alias="to", description=INSTANT_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Distinct IPs with first and last seen and counts, first and last access, and the raw events (paged)."""
    _window(start, end)
    _check_legal(services, actor, request, LegalRead(account_id=account_id, window_from=start, window_to=end))
    ips = account_ips(services.database, account_id, start, end)
    page = account_events(services.database, account_id, start, end, limit=limit, cursor=cursor)
    activity = account_activity(services.database, account_id)
    _log(services, actor, "read_access", "account", account_id, request)
    return {
        "account_id": account_id,
        "first_access": activity.first_access.isoformat() if activity else None,
        "last_access": activity.last_access.isoformat() if activity else None,
        "ips": [{"ip": str(item.ip), "first_seen": item.first_seen.isoformat(), "last_seen": item.last_seen.isoformat(),
                 "count": item.count, "country": item.country} for item in ips],
        "events": [{"time": format_time_ms(int(stored.event.time.timestamp() * 1000)), "ip": str(stored.event.ip),
                    "action": stored.event.action, "kind": stored.event.kind, "principal": stored.event.principal,
                    "source": stored.event.source, "country": stored.country, "id": stored.event.id}
                   for stored in page.events],
        "next_cursor": page.next_cursor,
    }


class AccessSearch(BaseModel):
    """The accounts seen from ``ip`` (an address or CIDR network) between ``from`` and ``to``, the
    names the query parameters and the CLI's options use too."""

    model_config = ConfigDict(extra="forbid")
    ip: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    start: Annotated[Instant | None, Field(alias="from", description=INSTANT_HELP)] = None
    end: Annotated[Instant | None, Field(alias="to", description=INSTANT_HELP)] = None


def _accounts_seen(services: Services, actor: Actor, ip: str, start: datetime | None, end: datetime | None,
                   request: Request) -> dict[str, Any]:
    _window(start, end)
    _check_legal(services, actor, request, LegalRead(network=ip, window_from=start, window_to=end))
    seen = accounts_from(services.database, ip, start, end)
    _log(services, actor, "search_access", "network", "query", request, detail={"accounts": len(seen)})
    return {"accounts": [{"account_id": item.account_id, "ip": str(item.ip), "first_seen": item.first_seen.isoformat(),
                          "last_seen": item.last_seen.isoformat(), "count": item.count} for item in seen]}


@router.get("/v1/access", response_model=AccountsSeen)
def get_accounts_seen(
    request: Request, services: ServicesDep, actor: Reader,
    ip: Annotated[str, Query(min_length=2, max_length=64, description="an IP address or CIDR network")],
    start: Annotated[Instant | None, Query(alias="from", description=INSTANT_HELP)] = None,
    end: Annotated[Instant | None, Query(alias="to", description=INSTANT_HELP)] = None,
) -> dict[str, Any]:
    """Accounts seen from an IP or network in a window. ``POST /v1/access/search`` takes the same in a
    body, which keeps the address out of URLs and proxy logs."""
    return _accounts_seen(services, actor, ip, start, end, request)


@router.post("/v1/access/search", response_model=AccountsSeen)
def search_accounts_seen(body: AccessSearch, request: Request, services: ServicesDep, actor: Reader) -> dict[str, Any]:
    return _accounts_seen(services, actor, body.ip, body.start, body.end, request)


@router.get("/v1/accounts/{account_id}/signals", response_model=AccountSignals)
def get_account_signals(account_id: AccountId, request: Request, services: ServicesDep,
                        actor: Reader) -> dict[str, Any]:
    """Ongoing-verification signals raised from the account's access (C4)."""
    _check_legal(services, actor, request, LegalRead(account_id=account_id))
    signals = account_signals(services.database, account_id)
    _log(services, actor, "read_signals", "account", account_id, request)
    return {"signals": [{"id": s.id, "kind": s.kind, "at": s.at.isoformat(), "detail": s.detail, "state": s.state}
                        for s in signals]}
