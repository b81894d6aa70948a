"""Incident reports in the console (G4, B3): the reports kept, one report with its access history,
identifiers (masked), indicators, actions and disclosures, checked against its hash and its ledger
entry; a report made from an account's page. The incident service does the work and the ledger
entries; the console asks why a report is opened, as for a record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints

from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, PageError, allowed, purpose_error, render, text_of
from cloudcip.errors import CloudcipError
from cloudcip.incidents.service import IncidentService
from cloudcip.records.roles import needs_legal_basis

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
IncidentId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Reader = Annotated[Session, Depends(allowed("incident:read"))]
Creator = Annotated[Session, Depends(allowed("incident:create"))]


def _service(console: ConsoleDep) -> IncidentService:
    services = console.services
    return IncidentService(services.database, services.ledger, services.customers)


@router.get("/incidents", response_class=HTMLResponse)
def list_reports(request: Request, console: ConsoleDep, session: Reader) -> HTMLResponse:
    return render(request, "incidents/list.html", {"reports": _service(console).reports(session.user.actor)})


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def show_report(request: Request, incident_id: IncidentId, console: ConsoleDep, session: Reader) -> HTMLResponse:
    record = f"incident_report/{incident_id}"
    purpose = session.purpose_for(record)
    if purpose is None:
        return render(request, "incidents/purpose.html", {
            "incident_id": incident_id, "errors": {},
            "needs_basis": needs_legal_basis(session.user.role, "incident:read")})
    service = _service(console)
    report = service.read(incident_id, session.user.actor, purpose=purpose)
    try:
        verified: dict[str, object] | None = service.verify(incident_id)
        problem = None
    except CloudcipError as exc:
        verified, problem = None, exc.public_detail
    return render(request, "incidents/report.html", {
        "report": report, "content": report.content, "disclosures": service.disclosures(incident_id,
                                                                                        session.user.actor),
        "verified": verified, "problem": problem, "purpose": purpose})


@router.post("/incidents/{incident_id}/purpose", response_class=HTMLResponse)
def state_purpose(request: Request, incident_id: IncidentId, console: ConsoleDep, session: Reader,
                  form: FormDep) -> Response:
    purpose, basis = text_of(form, "purpose", 200), text_of(form, "legal_basis", 200)
    needs_basis = needs_legal_basis(session.user.role, "incident:read")
    errors: dict[str, str] = {}
    error = purpose_error(purpose)
    if error:
        errors["purpose"] = error
    if needs_basis and purpose_error(basis):
        errors["legal_basis"] = "legal staff read reports only against a recorded legal basis"
    if errors:
        return render(request, "incidents/purpose.html", {"incident_id": incident_id, "purpose": purpose,
                                                          "errors": errors, "needs_basis": needs_basis}, status=422)
    # the incident service records a purpose only: a legal basis travels with it
    console.users.remember_purpose(session, f"incident_report/{incident_id}",
                                   f"{purpose} (legal basis: {basis})" if needs_basis else purpose)
    return RedirectResponse(f"/console/incidents/{incident_id}", status_code=303)


@router.post("/incidents", response_class=HTMLResponse)
def create_report(console: ConsoleDep, session: Creator, form: FormDep) -> Response:
    """A confirmed case of malicious activity on an account becomes a report (from the account page)."""
    account_id, summary = text_of(form, "account_id", 36), text_of(form, "summary", 2000)
    customer_id = text_of(form, "customer_id", 36)
    actions = [line.strip() for line in text_of(form, "actions", 5000).splitlines() if line.strip()]
    if not summary:
        raise PageError(422, "Refused", "summary: say what was found (nothing was reported)")
    report = _service(console).create(account_id, summary, session.user.actor, actions_taken=actions,
                                      purpose="incident report from the console")
    if customer_id:
        console.users.remember_purpose(session, f"incident_report/{report.id}", "incident report from the console")
    return RedirectResponse(f"/console/incidents/{report.id}", status_code=303)
