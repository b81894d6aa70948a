"""Account 360 (A2, A6, B3, B4, C3, C4, D2, D5): one customer's whole story on one page.

The page asks first why the person opens the record; the record is read through the customer store
(masked, or unmasked after a stated purpose when the role may unmask), the cases through the
application service, the access history through the access queries, and every one of those reads
goes on the ledger with that purpose, as an API read would. The ledger entries of the record are
listed with a "verify" action that checks their inclusion proofs in the browser.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from pydantic import StringConstraints
from sqlalchemy import select

from cloudcip import clock
from cloudcip.access.events import format_time_ms
from cloudcip.access.queries import account_activity, account_events, account_ips
from cloudcip.access.signals import account_signals
from cloudcip.console import worldmap
from cloudcip.console.users import Session
from cloudcip.console.web import (
    ConsoleDep,
    ConsoleRoute,
    FormDep,
    allowed,
    purpose_error,
    render,
    text_of,
)
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import may, needs_legal_basis
from cloudcip.screening import hit_queue
from cloudcip.screening.snapshots import listed_party
from cloudcip.storage.schema import account
from cloudcip.verification.schema import application

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Session, Depends(allowed("customer:read"))]
LedgerReader = Annotated[Session, Depends(allowed("ledger:read"))]
CustomerId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
ACCESS_WINDOW = timedelta(days=365)
EVENTS_SHOWN = 100


def _record(customer_id: str) -> str:
    return f"customer/{customer_id}"


def _unmask_key(customer_id: str) -> str:
    return f"customer/{customer_id}#unmask"


@router.get("/accounts/{customer_id}", response_class=HTMLResponse)
def account_360(request: Request, customer_id: CustomerId, console: ConsoleDep, session: Reader) -> HTMLResponse:
    purpose = session.purpose_for(_record(customer_id))
    if purpose is None:
        return render(request, "accounts/purpose.html", {
            "customer_id": customer_id, "errors": {},
            "needs_basis": needs_legal_basis(session.user.role, "customer:read")})
    return render(request, "accounts/account.html", account_view(console, session, customer_id, purpose))


def account_view(console: ConsoleDep, session: Session, customer_id: str, purpose: str) -> dict[str, Any]:
    """Everything the account page shows, each read on the ledger with ``purpose``."""
    actor, role = session.user.actor, session.user.role
    unmask_purpose = session.purpose_for(_unmask_key(customer_id)) if may(role, "customer:unmask") else None
    read_basis = session.purpose_for(f"{_record(customer_id)}#basis")
    basis = session.purpose_for(f"{_unmask_key(customer_id)}#basis") if unmask_purpose else read_basis
    record = console.services.customers.read(customer_id, actor, purpose=unmask_purpose or purpose,
                                             unmask=unmask_purpose is not None, legal_basis=basis)
    services = console.services
    with services.database.engine.connect() as conn:
        accounts = list(conn.execute(select(account).where(account.c.customer_id == customer_id)
                                     .order_by(account.c.opened_at)))
        case_ids = list(conn.execute(select(application.c.id).where(application.c.customer_id == customer_id)
                                     .order_by(application.c.created_at.desc())).scalars())
    cases = [console.applications.show(case_id, actor, purpose=purpose) for case_id in case_ids] \
        if may(role, "application:read") else None
    subjects = [customer_id, *[o["id"] for o in record.get("beneficial_owners", [])]]
    hits: list[dict[str, Any]] = []
    if may(role, "screening:read") or may(role, "screening:adjudicate"):
        with services.database.engine.connect() as conn:
            for hit in hit_queue.hits_of_subjects(conn, subjects):
                hits.append({"hit": hit, "listed": listed_party(conn, hit.list_source, hit.list_source_id)})
    access: list[dict[str, Any]] = []
    countries: Counter[str] = Counter()
    if may(role, "access:read"):
        since = clock.now() - ACCESS_WINDOW
        with services.ledger.unit_of_work() as work:
            for acct in accounts:
                ips = account_ips(services.database, acct.id, since, None)
                page = account_events(services.database, acct.id, since, None, limit=EVENTS_SHOWN)
                activity = account_activity(services.database, acct.id)
                for item in ips:
                    if item.country and item.country.isalpha() and len(item.country) == 2:
                        countries[item.country.upper()] += item.count
                access.append({
                    "account": acct, "ips": ips, "activity": activity,
                    "events": [{"time": format_time_ms(int(s.event.time.timestamp() * 1000)), "ip": str(s.event.ip),
                                "action": s.event.action, "kind": s.event.kind, "country": s.country}
                               for s in page.events],
                    "more": page.next_cursor is not None,
                    "signals": account_signals(services.database, acct.id)})
                work.log(LedgerAction(actor.name, actor.role, "read_access", "account", acct.id, purpose=purpose,
                                      legal_basis=read_basis))
                work.log(LedgerAction(actor.name, actor.role, "read_signals", "account", acct.id, purpose=purpose,
                                      legal_basis=read_basis))
    entries: list[dict[str, Any]] = []
    if may(role, "ledger:read"):
        refs = [("customer", customer_id), *(("application", c) for c in case_ids),
                *(("account", a.id) for a in accounts)]
        for record_type, record_id in refs:
            entries += services.ledger.entries_for_record(record_type, record_id)
        entries.sort(key=lambda e: int(e["index"]), reverse=True)
    return {
        "customer_id": customer_id, "record": record, "purpose": purpose, "unmasked": unmask_purpose is not None,
        "accounts": accounts, "cases": cases, "hits": hits, "access": access,
        "countries": sorted(countries.items(), key=lambda kv: (-kv[1], kv[0])),
        "map_overlay": Markup(worldmap.overlay(dict(countries))) if countries else None,  # noqa: S704 (built from the package's map and two-letter codes)
        "entries": entries[:200], "entries_total": len(entries), "json": json.dumps,
    }


@router.post("/accounts/{customer_id}/purpose", response_class=HTMLResponse)
def state_purpose(request: Request, customer_id: CustomerId, console: ConsoleDep, session: Reader,
                  form: FormDep) -> Response:
    purpose, basis = text_of(form, "purpose", 300), text_of(form, "legal_basis", 300)
    needs_basis = needs_legal_basis(session.user.role, "customer:read")
    errors: dict[str, str] = {}
    error = purpose_error(purpose)
    if error:
        errors["purpose"] = error
    if needs_basis and purpose_error(basis):
        errors["legal_basis"] = "legal staff open a record only against a recorded legal basis"
    if errors:
        return render(request, "accounts/purpose.html", {"customer_id": customer_id, "errors": errors,
                                                         "purpose": purpose, "legal_basis": basis,
                                                         "needs_basis": needs_basis}, status=422)
    if needs_basis:
        console.users.remember_purpose(session, f"{_record(customer_id)}#basis", basis)
    console.users.remember_purpose(session, _record(customer_id), purpose)
    return RedirectResponse(f"/console/accounts/{customer_id}", status_code=303)


@router.post("/accounts/{customer_id}/unmask", response_class=HTMLResponse)
def unmask(request: Request, customer_id: CustomerId, console: ConsoleDep,
           session: Annotated[Session, Depends(allowed("customer:unmask"))], form: FormDep) -> Response:
    """Unmask for the rest of the session, after a stated purpose (and, for legal staff, a legal basis)."""
    purpose, basis = text_of(form, "purpose", 300), text_of(form, "legal_basis", 300)
    errors: dict[str, str] = {}
    error = purpose_error(purpose)
    if error:
        errors["purpose"] = error
    if session.user.role == "legal" and not basis:
        errors["legal_basis"] = "legal staff unmask only against a recorded legal basis"
    if errors:
        context = account_view(console, session, customer_id, session.purpose_for(_record(customer_id)) or purpose)
        context.update({"unmask_errors": errors, "unmask_purpose": purpose})
        return render(request, "accounts/account.html", context, status=422)
    console.users.remember_purpose(session, _unmask_key(customer_id), purpose)
    if basis:
        console.users.remember_purpose(session, f"{_unmask_key(customer_id)}#basis", basis)
    console.users.remember_purpose(session, _record(customer_id), session.purpose_for(_record(customer_id)) or purpose)
    return RedirectResponse(f"/console/accounts/{customer_id}", status_code=303)


@router.post("/accounts/{customer_id}/mask", response_class=HTMLResponse)
def mask(customer_id: CustomerId, console: ConsoleDep, session: Reader, form: FormDep) -> Response:
    console.users.forget_purpose(session, _unmask_key(customer_id))
    return RedirectResponse(f"/console/accounts/{customer_id}", status_code=303)


@router.get("/ledger/proof/{index}")
def ledger_proof(index: int, console: ConsoleDep, session: LedgerReader) -> JSONResponse:
    """The inclusion proof of one entry, for the page's in-browser check (SHA-256 via WebCrypto)."""
    try:
        document = console.services.ledger.inclusion_proof(index)
    except IndexError:
        return JSONResponse({"error": "no such ledger entry"}, status_code=404)
    return JSONResponse(document)


@router.get("/ledger/proofs")
def ledger_proofs(console: ConsoleDep, session: LedgerReader,
                  index: Annotated[list[int], Query(max_length=200)]) -> JSONResponse:
    """Several proofs in one answer (the page's "verify all"), the leaf hashes read once."""
    try:
        documents = console.services.ledger.inclusion_proofs(index)
    except IndexError:
        return JSONResponse({"error": "no such ledger entry"}, status_code=404)
    return JSONResponse({"proofs": documents})


@router.get("/ledger/public-key")
def ledger_public_key(console: ConsoleDep, session: LedgerReader) -> Response:
    return Response(console.services.ledger.public_key_pem(), media_type="text/plain")


@router.get("/map/world.svg")
def world_map() -> Response:
    """The base world map (no personal data): cached by the browser for a day."""
    return Response(worldmap.base_map(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})
