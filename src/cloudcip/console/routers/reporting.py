"""Reporting to Commerce in the console (H1, H3, B4): the CIP certification rendered from the live
records with each figure beside the query that produced it, filing it (stored hashed, on the
ledger), and the examiner's roster: filters, the matching rows or a reproducible random sample
shown after a stated purpose, and its CSV export. ``reports.certification`` and ``reports.roster``
do the work and the ledger entries."""

from __future__ import annotations

import itertools
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select

from cloudcip import clock
from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, allowed, field_errors, purpose_error, render
from cloudcip.ledger.store import LedgerAction
from cloudcip.reports.certification import CertificationService
from cloudcip.reports.roster import RosterFilter, RosterService
from cloudcip.reports.schema import certification_filing
from cloudcip.services import Services
from cloudcip.verification.policy_store import policy_in_force
from cloudcip.verification.profile import load_profile

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
CertReader = Annotated[Session, Depends(allowed("certification:read"))]
CertFiler = Annotated[Session, Depends(allowed("certification:file"))]
RosterReader = Annotated[Session, Depends(allowed("roster:export"))]
ROSTER_SHOWN = 100
SHOWN_COLUMNS = ("account_id", "customer_kind", "account_type", "account_state", "us_or_foreign", "location",
                 "verification_state", "open_cases", "hits", "open_hits", "measures_applied", "last_access",
                 "retention_ends")
SAMPLE_COLUMNS = ("evidence_ids", "ledger_entries")
TITLES = {
    "verification_procedures": "1. Verification procedures", "detection_resources": "2. Resources used to detect "
    "malicious activity", "reseller_oversight": "3. Reseller oversight procedures", "cip_contact": "4. CIP contact",
    "customers": "5. Number and locations of customers",
    "foreign_beneficial_owners": "6. Number and locations of foreign beneficial owners",
    "foreign_resellers": "7. Foreign resellers",
    "unverified_foreign_accounts": "8. Foreign accounts not yet verified",
}


def certification_service(services: Services) -> CertificationService:
    policy = policy_in_force(services.database, services.settings.policy_path).policy
    return CertificationService(services.database, services.ledger, services.customers, policy)


def roster_service(services: Services) -> RosterService:
    return RosterService(services.database, services.ledger,
                         load_profile(services.settings.profile).retention.years)


def _filings(console: ConsoleDep) -> list[Any]:
    with console.services.database.engine.connect() as conn:
        return list(conn.execute(select(certification_filing.c.id, certification_filing.c.kind,
                                        certification_filing.c.as_of, certification_filing.c.filed_at,
                                        certification_filing.c.filed_by, certification_filing.c.sha256)
                                 .order_by(certification_filing.c.filed_at.desc()).limit(20)))


def _certification_page(request: Request, console: ConsoleDep, session: Session, as_of: date | None, *,
                        notice: str | None = None, errors: dict[str, str] | None = None,
                        status: int = 200) -> HTMLResponse:
    form = certification_service(console.services).render(session.user.actor, as_of)
    return render(request, "reporting/certification.html", {
        "form": form, "titles": TITLES, "filings": _filings(console), "notice": notice, "errors": errors or {}},
        status=status)


@router.get("/certification", response_class=HTMLResponse)
def show_certification(request: Request, console: ConsoleDep, session: CertReader,
                       as_of: Annotated[date | None, Query()] = None,
                       filed: Annotated[str | None, Query(pattern=r"^[0-9a-f]{64}$")] = None) -> HTMLResponse:
    """H1: the form as of ``as_of`` (default today), from live data; rendering it is on the ledger."""
    notice = f"Filed: its SHA-256 is {filed}, and the filing is on the ledger." if filed else None
    return _certification_page(request, console, session, as_of, notice=notice)


@router.post("/certification/file", response_class=HTMLResponse)
def file_certification(request: Request, console: ConsoleDep, session: CertFiler, form: FormDep) -> Response:
    raw = form.get("as_of")
    try:
        as_of = date.fromisoformat(raw) if isinstance(raw, str) and raw else None
    except ValueError:
        return _certification_page(request, console, session, None, errors={"as_of": "a date, YYYY-MM-DD"},
                                   status=422)
    try:
        filing = certification_service(console.services).file(session.user.actor, as_of)
    except Exception as exc:
        errors = field_errors(exc)
        if errors is None:
            raise
        return _certification_page(request, console, session, as_of, errors=errors, status=422)
    where = f"?as_of={filing['as_of']}&filed={filing['sha256']}"
    return RedirectResponse(f"/console/certification{where}", status_code=303)


class RosterForm(BaseModel):
    """The roster's filters, sample and purpose as the page posts them (empty fields: no filter)."""

    model_config = ConfigDict(extra="ignore")
    us_or_foreign: Literal["us_person", "foreign_person"] | None = None
    verification_state: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,24}$")] | None = None
    account_type: Literal["standard", "reseller", "trial"] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    reseller_account_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")] | None = None
    sample: Annotated[int, Field(ge=1, le=100_000)] | None = None
    seed: Annotated[int, Field(ge=0, le=2**31)] = 0
    purpose: Annotated[str, StringConstraints(min_length=3, max_length=200)]
    action: Literal["show", "export"] = "show"

    @property
    def where(self) -> RosterFilter:
        return RosterFilter(us_or_foreign=self.us_or_foreign, verification_state=self.verification_state,
                            account_type=self.account_type, country=self.country,
                            reseller_account_id=self.reseller_account_id)


def _roster_page(request: Request, *, values: dict[str, Any], errors: dict[str, str] | None = None,
                 rows: list[dict[str, Any]] | None = None, more: bool = False, status: int = 200) -> HTMLResponse:
    return render(request, "reporting/roster.html", {
        "values": values, "errors": errors or {}, "rows": rows, "more": more, "shown": ROSTER_SHOWN,
        "columns": SHOWN_COLUMNS + (SAMPLE_COLUMNS if values.get("sample") else ())}, status=status)


@router.get("/roster", response_class=HTMLResponse)
def show_roster_form(request: Request, session: RosterReader) -> HTMLResponse:
    return _roster_page(request, values={})


@router.post("/roster", response_class=HTMLResponse)
def roster(request: Request, console: ConsoleDep, session: RosterReader, form: FormDep,
           background: BackgroundTasks) -> Response:
    """H3: show the matching rows (the first ``ROSTER_SHOWN``, or the sample) or export them as CSV,
    once a purpose is stated; either is a ledger entry with that purpose."""
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    try:
        asked = RosterForm.model_validate({k: v for k, v in values.items() if v})
    except ValidationError as exc:
        errors = {str(e["loc"][0]) if e.get("loc") else "form": "required" if e.get("type") == "missing"
                  else "not accepted" for e in exc.errors()}
        if "purpose" in errors:
            errors["purpose"] = purpose_error(values.get("purpose", "")) or errors["purpose"]
        return _roster_page(request, values=values, errors=errors, status=422)
    service = roster_service(console.services)
    actor = session.user.actor
    if asked.action == "export":
        folder = Path(tempfile.mkdtemp(prefix="cloudcip-roster-"))
        out = folder / "roster.csv"
        try:
            written = service.export(out, "csv", actor, where=asked.where, sample=asked.sample, seed=asked.seed,
                                     purpose=asked.purpose)
        except BaseException:
            out.unlink(missing_ok=True)
            folder.rmdir()
            raise

        def cleanup() -> None:
            out.unlink(missing_ok=True)
            folder.rmdir()

        background.add_task(cleanup)
        return FileResponse(out, media_type="text/csv", filename="roster.csv", headers={"X-Rows": str(written)})
    if asked.sample is not None:
        rows, more = service.sample(asked.sample, asked.seed, asked.where), False
    else:
        rows = list(itertools.islice(service.rows(asked.where, page_size=ROSTER_SHOWN + 1), ROSTER_SHOWN + 1))
        more = len(rows) > ROSTER_SHOWN
        rows = rows[:ROSTER_SHOWN]
    with console.services.ledger.unit_of_work() as work:
        work.log(LedgerAction(actor.name, actor.role, "read", "roster", clock.iso(clock.now()) or "",
                              purpose=asked.purpose, detail={"rows": len(rows), "sample": asked.sample,
                                                             "seed": asked.seed if asked.sample else None}))
    return _roster_page(request, values=values, rows=rows, more=more)
