"""Legal processes and preservation holds in the console (B1, B4, B5): the register of processes,
registering one (its scope named in the form body, identifiers kept only as blind indexes), one
process with what its scope resolves to now (counts, never values), placing a hold under it and
releasing a hold with a reason, closing the process. ``records.legal_process`` and
``records.preservation`` do the work and the ledger entries; the roles are those of
``records.roles`` (legal registers, closes and releases; officers read and place holds)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints, ValidationError
from sqlalchemy import select

from cloudcip import clock
from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, allowed, field_errors, render, text_of
from cloudcip.legal.schema import production
from cloudcip.records.legal_process import PROCESS_KINDS, LegalProcessInput, LegalProcessService
from cloudcip.records.preservation import HoldService
from cloudcip.services import Services

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Reader = Annotated[Session, Depends(allowed("legal_process:read"))]
Writer = Annotated[Session, Depends(allowed("legal_process:write"))]
Placer = Annotated[Session, Depends(allowed("legal_hold:place"))]
Releaser = Annotated[Session, Depends(allowed("legal_hold:release"))]
IDENTIFIER_KINDS = ("email", "phone", "national_id", "card_number", "iban", "wallet")
NOTICES = {"registered": "Registered.", "empty": "Registered, but its scope matches no customer, account or "
                                                  "access history (yet).",
           "held": "Hold placed: what the process covers now is frozen.", "released": "Hold released.",
           "closed": "Closed: no legal read, hold or production under it any more."}
FIELDS = ("kind", "authority", "reference", "handler", "received", "due", "from", "to")


def legal_processes(services: Services) -> LegalProcessService:
    return LegalProcessService(services.database, services.ledger, services.keyring)


def legal_holds(services: Services) -> HoldService:
    return HoldService(services.database, services.ledger)


def _lines(form: Any, name: str) -> list[str]:
    return [line.strip() for line in text_of(form, name, 200_000).splitlines() if line.strip()]


def _identifiers(lines: list[str]) -> list[dict[str, Any]]:
    """``KIND VALUE`` per line; a national ID as ``national_id CC NUMBER``."""
    found: list[dict[str, Any]] = []
    for line in lines:
        kind, _, rest = line.partition(" ")
        item: dict[str, Any] = {"kind": kind, "value": rest.strip()}
        if kind == "national_id":
            country, _, number = rest.strip().partition(" ")
            item = {"kind": kind, "country": country.upper(), "value": number.strip()}
        found.append(item)
    return found


def _register_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for problem in exc.errors():
        where = [str(p) for p in problem.get("loc", ())]
        name = where[0] if where else "form"
        if name in ("customers", "accounts", "networks", "identifiers"):
            message = f"line {int(where[1]) + 1}: " if len(where) > 1 and where[1].isdigit() else ""
            if name == "identifiers" and len(where) > 2 and where[2] == "kind":
                message += f"the kind is one of {', '.join(IDENTIFIER_KINDS)}"
            else:
                message += "not accepted"
        else:
            message = "not accepted" if problem.get("type") != "missing" else "required"
        errors.setdefault(name, message)
    return errors


def _list_page(request: Request, console: ConsoleDep, session: Session, *, errors: dict[str, str] | None = None,
               values: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    actor = session.user.actor
    processes = legal_processes(console.services).list(actor)
    holds = legal_holds(console.services).list(actor, standing=True)
    return render(request, "legal/processes.html", {
        "processes": sorted(processes, key=lambda p: p.registered_at, reverse=True), "holds": holds,
        "kinds": PROCESS_KINDS, "identifier_kinds": IDENTIFIER_KINDS, "errors": errors or {},
        "values": values or {}, "due_in": due_in, "today": clock.now().date()}, status=status)


@router.get("/legal", response_class=HTMLResponse)
def show_register(request: Request, console: ConsoleDep, session: Reader) -> HTMLResponse:
    return _list_page(request, console, session)


@router.post("/legal/processes", response_class=HTMLResponse)
def register_process(request: Request, console: ConsoleDep, session: Writer, form: FormDep) -> Response:
    """Register a process from the form; a refused field re-shows the form marked, nothing saved."""
    values: dict[str, Any] = {k: text_of(form, k, 300) for k in FIELDS}
    scope = {k: text_of(form, k, 200_000) for k in ("customers", "accounts", "identifiers", "networks")}
    values.update(scope)
    values["unmask"] = form.get("unmask") == "1"
    body: dict[str, Any] = {k: v for k, v in values.items() if k in FIELDS and v}
    body.update(customers=_lines(form, "customers"), accounts=_lines(form, "accounts"),
                networks=_lines(form, "networks"), identifiers=_identifiers(_lines(form, "identifiers")),
                unmask=values["unmask"])
    try:
        request_body = LegalProcessInput.model_validate(body)
        record = legal_processes(console.services).register(request_body, session.user.actor)
    except ValidationError as exc:
        return _list_page(request, console, session, errors=_register_errors(exc), values=values, status=422)
    except Exception as exc:
        errors = field_errors(exc)
        if errors is None:
            raise
        return _list_page(request, console, session, errors=errors, values=values, status=422)
    notice = "empty" if record.warnings else "registered"
    return RedirectResponse(f"/console/legal/processes/{record.id}?notice={notice}", status_code=303)


def _process_page(request: Request, console: ConsoleDep, session: Session, process_id: str, *,
                  notice: str | None = None, errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    actor = session.user.actor
    record = legal_processes(console.services).show(process_id, actor)
    holds = legal_holds(console.services).list(actor, process_id=process_id)
    with console.services.database.engine.connect() as conn:
        made = conn.execute(select(production).where(production.c.process_id == process_id)
                            .order_by(production.c.created_at.desc())).all()
    return render(request, "legal/process.html", {
        "process": record, "holds": holds, "productions": made, "notice": NOTICES.get(notice or ""),
        "errors": errors or {}, "due_in": due_in, "window": window, "today": clock.now().date()}, status=status)


@router.get("/legal/processes/{process_id}", response_class=HTMLResponse)
def show_process(request: Request, process_id: Uuid, console: ConsoleDep, session: Reader,
                 notice: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    return _process_page(request, console, session, process_id, notice=notice)


@router.post("/legal/processes/{process_id}/close", response_class=HTMLResponse)
def close_process(process_id: Uuid, console: ConsoleDep, session: Writer, form: FormDep) -> Response:
    legal_processes(console.services).close(process_id, session.user.actor)
    return RedirectResponse(f"/console/legal/processes/{process_id}?notice=closed", status_code=303)


@router.post("/legal/processes/{process_id}/holds", response_class=HTMLResponse)
def place_hold(process_id: Uuid, console: ConsoleDep, session: Placer, form: FormDep) -> Response:
    legal_holds(console.services).place(process_id, session.user.actor)
    return RedirectResponse(f"/console/legal/processes/{process_id}?notice=held", status_code=303)


@router.post("/legal/holds/{hold_id}/release", response_class=HTMLResponse)
def release_hold(request: Request, hold_id: Uuid, console: ConsoleDep, session: Releaser,
                 form: FormDep) -> Response:
    """Release a hold: only with a reason (else the process page is re-shown, the field marked)."""
    holds = legal_holds(console.services)
    hold = holds.show(hold_id, session.user.actor)
    reason = text_of(form, "reason")
    if len(reason) < 3:
        return _process_page(request, console, session, hold.process_id, status=422,
                             errors={f"reason-{hold_id}": "a hold is released only with a reason"})
    holds.release(hold_id, reason, session.user.actor)
    return RedirectResponse(f"/console/legal/processes/{hold.process_id}?notice=released", status_code=303)


def due_in(due: date | None, today: date) -> str:
    """How long until a process's answer is due, as the register shows it."""
    if due is None:
        return "no due date"
    days = (due - today).days
    return f"overdue by {-days} day(s)" if days < 0 else f"due in {days} day(s)"


def window(start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return "any time"
    return f"{start.isoformat() if start else '…'} to {end.isoformat() if end else '…'}"
