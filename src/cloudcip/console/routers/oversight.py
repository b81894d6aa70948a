"""The reseller register and the exemption register in the console (E1, E3, F1, F2, B3, B4).

- ``/console/resellers``: every reseller relationship (no personal data: ids, status, foreign or not,
  certification due, next scheduled review, a running clock's days left), for ``reseller:read``.
- ``/console/resellers/{id}``: one reseller, opened only after the person states why (its contact,
  masked, is personal data; the read goes on the ledger with that purpose as an API read does): its
  CIP documents (each version downloadable, checked against its SHA-256, the read on the ledger),
  oversight reviews with their samples' tallies, findings with their incident reports, the 30-day
  clock; an officer (``reseller:write``) opens an ad-hoc review from here.
- ``/console/exemptions`` and ``/console/exemptions/{id}``: the exemption register and one exemption
  with its notices, for ``exemption:read``, with a link to the abuse-deterrence evidence pack of its
  period (``/console/exemptions/evidence``, the same HTML as ``cloudcip exemptions evidence``, its
  styles linked from ``/console/exemptions/evidence.css`` rather than inline, which the console's CSP
  refuses).

Every form carries the session's CSRF token (``FormDep``); the services do the work and the ledger.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints
from sqlalchemy import select

from cloudcip import clock
from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, allowed, purpose_error, render, text_of
from cloudcip.exemptions.register import ExemptionRegister
from cloudcip.incidents.service import IncidentService
from cloudcip.resellers.register_schema import reseller
from cloudcip.resellers.services import ResellerService
from cloudcip.services import Services
from cloudcip.verification.profile import load_profile

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
ResellerReader = Annotated[Session, Depends(allowed("reseller:read"))]
ResellerWriter = Annotated[Session, Depends(allowed("reseller:write"))]
ExemptionReader = Annotated[Session, Depends(allowed("exemption:read"))]
EVIDENCE_CSS = "/console/exemptions/evidence.css"


def resellers_of(services: Services) -> ResellerService:
    """The register, reviews and clocks on the profile's days, a finding's incident report made by the
    incident service (G4), as ``runtime.reseller_service`` wires them for the API and the CLI."""
    settings = load_profile(services.settings.profile).resellers
    incidents = IncidentService(services.database, services.ledger, services.customers)
    return ResellerService(services.database, services.ledger, services.customers,
                           termination_days=settings.termination_days, reporter=incidents.reseller_report,
                           review_interval_days=settings.review_interval_days,
                           review_sample_size=settings.review_sample_size)


def _exemptions(services: Services) -> ExemptionRegister:
    return ExemptionRegister(services.database, services.ledger, now=lambda: services.ledger.clock())


# -- resellers (E1, E3) ------------------------------------------------------------------------------
@router.get("/resellers", response_class=HTMLResponse)
def list_resellers(request: Request, console: ConsoleDep, session: ResellerReader) -> HTMLResponse:
    service = resellers_of(console.services)
    actor = session.user.actor
    schedule = {item["reseller_id"]: item for item in service.review_schedule(actor)}
    clocks = {item["reseller_id"]: item for item in service.running_clocks(actor=actor)}
    with console.services.database.engine.connect() as conn:
        rows = conn.execute(select(reseller.c.id, reseller.c.customer_id, reseller.c.foreign_reseller,
                                   reseller.c.status, reseller.c.certification_due, reseller.c.created_at)
                            .order_by(reseller.c.created_at, reseller.c.id)).all()
    return render(request, "oversight/resellers.html", {"rows": rows, "schedule": schedule, "clocks": clocks})


@router.get("/resellers/{reseller_id}", response_class=HTMLResponse)
def show_reseller(request: Request, reseller_id: Uuid, console: ConsoleDep, session: ResellerReader,
                  notice: Annotated[str | None, Query(max_length=40)] = None) -> HTMLResponse:
    purpose = session.purpose_for(f"reseller/{reseller_id}")
    if purpose is None:
        return render(request, "oversight/purpose.html", {"reseller_id": reseller_id, "errors": {}})
    return reseller_page(request, console, session, reseller_id, purpose, notice=notice)


def reseller_page(request: Request, console: ConsoleDep, session: Session, reseller_id: str, purpose: str, *,
                  notice: str | None = None, errors: dict[str, str] | None = None,
                  values: dict[str, str] | None = None, stale: bool = False, status: int = 200) -> HTMLResponse:
    """One reseller (the read on the ledger with ``purpose``), with an officer's forms; ``errors`` and
    ``values`` re-show a refused form (keys ``form.field``), ``stale`` says it changed meanwhile."""
    service = resellers_of(console.services)
    actor = session.user.actor
    view = service.show(reseller_id, actor, purpose=purpose)
    schedule = next((item for item in service.review_schedule(actor) if item["reseller_id"] == reseller_id), None)
    reviews = service.reviews(reseller_id, actor)
    current = next((r for r in reviews if r["state"] == "open"), None)
    if current is not None and current["sample"] is not None:
        current = service.review(reseller_id, current["id"], actor)  # with the sampled items
    return render(request, "oversight/reseller.html", {
        "reseller": view, "purpose": purpose, "notice": notice, "schedule": schedule,
        "documents": service.cip_versions(reseller_id, actor), "reviews": reviews, "open_review": current,
        "findings": service.findings(reseller_id, actor), "sample_size": service.review_sample_size,
        "suggested_seed": secrets.randbelow(2**31), "termination": service.termination_state(reseller_id, actor),
        "errors": errors or {}, "values": values or {}, "stale": stale}, status=status)


@router.post("/resellers/{reseller_id}/purpose", response_class=HTMLResponse)
def state_reseller_purpose(request: Request, reseller_id: Uuid, console: ConsoleDep, session: ResellerReader,
                           form: FormDep) -> Response:
    purpose = text_of(form, "purpose", 200)
    error = purpose_error(purpose)
    if error:
        return render(request, "oversight/purpose.html", {"reseller_id": reseller_id, "purpose": purpose,
                                                          "errors": {"purpose": error}}, status=422)
    console.users.remember_purpose(session, f"reseller/{reseller_id}", purpose)
    return RedirectResponse(f"/console/resellers/{reseller_id}", status_code=303)


@router.get("/resellers/{reseller_id}/cip/{version}")
def download_cip(reseller_id: Uuid, version: Annotated[int, Path(ge=1, le=100_000)], console: ConsoleDep,
                 session: ResellerReader) -> Response:
    """A version of the reseller's CIP (checked against its SHA-256), under the purpose stated for it."""
    purpose = session.purpose_for(f"reseller/{reseller_id}")
    if purpose is None:
        return RedirectResponse(f"/console/resellers/{reseller_id}", status_code=303)
    meta, content = resellers_of(console.services).cip_document(reseller_id, version, session.user.actor,
                                                              purpose=purpose)
    return Response(content, media_type=meta["media_type"], headers={
        "Content-Disposition": f'attachment; filename="{meta["filename"]}"', "X-Content-SHA256": meta["sha256"]})


@router.post("/resellers/{reseller_id}/reviews", response_class=HTMLResponse)
def open_review(reseller_id: Uuid, console: ConsoleDep, session: ResellerWriter, form: FormDep) -> Response:
    """An officer opens an ad-hoc review (the sample and results follow in the API or CLI)."""
    resellers_of(console.services).start_review(reseller_id, session.user.actor, kind="ad_hoc")
    return RedirectResponse(f"/console/resellers/{reseller_id}?notice=review-opened", status_code=303)


# -- exemptions (F1, F2) -----------------------------------------------------------------------------
@router.get("/exemptions", response_class=HTMLResponse)
def list_exemptions(request: Request, console: ConsoleDep, session: ExemptionReader) -> HTMLResponse:
    return render(request, "oversight/exemptions.html",
                  {"exemptions": _exemptions(console.services).list_exemptions(session.user.actor)})


@router.get("/exemptions/evidence", response_class=HTMLResponse)
def evidence_pack(console: ConsoleDep, session: ExemptionReader,
                  period_from: Annotated[str, Query(alias="from", max_length=40)],
                  period_to: Annotated[str, Query(alias="to", max_length=40)]) -> HTMLResponse:
    """F2: the evidence pack of a period, as ``cloudcip exemptions evidence --format html`` renders it."""
    from cloudcip.exemptions.evidence import EvidencePackService
    from cloudcip.exemptions.render import render_html

    services = console.services
    pack = EvidencePackService(services.database, services.ledger, now=lambda: services.ledger.clock()).build(
        session.user.actor, clock.parse_instant(period_from, "from"), clock.parse_instant(period_to, "to"))
    return HTMLResponse(render_html(pack, stylesheet=EVIDENCE_CSS))


@router.get("/exemptions/evidence.css")
def evidence_pack_css(session: ExemptionReader) -> Response:
    """The evidence pack's rules (``exemptions.render.PACK_CSS``) as a stylesheet of the console's own
    origin: the pack's page is styled under the console's ``style-src 'self'``, no inline style allowed."""
    from cloudcip.exemptions.render import PACK_CSS

    return Response(PACK_CSS, media_type="text/css")


@router.get("/exemptions/{exemption_id}", response_class=HTMLResponse)
def show_exemption(request: Request, exemption_id: Uuid, console: ConsoleDep,
                   session: ExemptionReader) -> HTMLResponse:
    view: dict[str, Any] = _exemptions(console.services).show(exemption_id, session.user.actor)
    granted = clock.parse_instant(view["granted_at"], "granted_at")
    ends = min(clock.parse_instant(view["expires_at"], "expires_at"), clock.now())
    if ends <= granted:
        ends = granted + timedelta(days=1)
    evidence = f"/console/exemptions/evidence?from={clock.iso(granted)}&to={clock.iso(ends)}"
    return render(request, "oversight/exemption.html", {"exemption": view, "evidence_url": evidence})
