"""Reporting to Commerce over HTTP: the certification (H1), the CIP contact, the examiner's roster (H3).

- ``GET /v1/certification[?format=html][&as_of=DATE]`` (``compliance-officer``, ``auditor``,
  ``admin``): the form from live data; each figure carries its query.
- ``POST /v1/certification/filings`` (``compliance-officer``): file it (stored hashed, on the ledger).
- ``PUT /v1/reporting/contact`` (``compliance-officer``): the CIP contact.
- ``POST /v1/roster/export`` (``compliance-officer``, ``auditor``): the roster as CSV or Parquet,
  filtered, or a reproducible sample; filters travel in the body.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Body, Depends
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import errors
from cloudcip.api.params import Day
from cloudcip.records.roles import Actor
from cloudcip.reports.certification import render_html
from cloudcip.reports.roster import RosterFilter
from cloudcip.runtime import certification_service, reporting_contacts, roster_service

router = APIRouter(tags=["reporting"])


class CertificationForm(BaseModel):
    form: str
    as_of: str
    generated_at: str
    policy: dict[str, str]
    items: dict[str, Any] = Field(description="the eight items of H1, each figure with its query")


class Filing(BaseModel):
    id: str
    kind: str
    as_of: str
    sha256: str


class FilingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: Day | None = None


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None


class RosterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "parquet"] = "csv"
    us_or_foreign: Literal["us_person", "foreign_person"] | None = None
    verification_state: Annotated[str, StringConstraints(max_length=24)] | None = None
    account_type: Literal["standard", "reseller", "trial"] | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    reseller_account_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    sample: Annotated[int, Field(ge=1, le=100_000)] | None = None
    seed: int = 0


@router.get("/v1/certification", response_model=CertificationForm, responses={
    200: {"content": {"text/html": {}}}, **errors(403, 422)})
def render_certification(services: ServicesDep, actor: Annotated[Actor, Depends(require("certification:read"))],
                         format: Literal["json", "html"] = "json", as_of: Day | None = None) -> Any:
    form = certification_service(services).render(actor, as_of)
    if format == "html":
        return HTMLResponse(render_html(form))
    return JSONResponse(form)


@router.post("/v1/certification/filings", status_code=201, response_model=Filing, responses=errors(403, 422))
def file_certification(services: ServicesDep, actor: Annotated[Actor, Depends(require("certification:file"))],
                       body: Annotated[FilingRequest | None, Body()] = None) -> Filing:
    return Filing(**certification_service(services).file(actor, body.as_of if body else None))


@router.put("/v1/reporting/contact", status_code=204, responses=errors(403, 422))
def set_contact(body: Contact, services: ServicesDep,
                actor: Annotated[Actor, Depends(require("reporting:write"))]) -> None:
    reporting_contacts(services).set(name=body.name, email=body.email, title=body.title, phone=body.phone,
                                     actor=actor)


@router.post("/v1/roster/export", response_class=FileResponse, responses={
    200: {"content": {"text/csv": {}, "application/vnd.apache.parquet": {}}}, **errors(403, 422, 503)})
def export_roster(body: RosterRequest, services: ServicesDep, background: BackgroundTasks,
                  actor: Annotated[Actor, Depends(require("roster:export"))]) -> FileResponse:
    folder = Path(tempfile.mkdtemp(prefix="cloudcip-roster-"))
    out = folder / f"roster.{body.format}"
    where = RosterFilter(us_or_foreign=body.us_or_foreign, verification_state=body.verification_state,
                         account_type=body.account_type, country=body.country,
                         reseller_account_id=body.reseller_account_id)
    try:
        rows = roster_service(services).export(out, body.format, actor, where=where, sample=body.sample,
                                               seed=body.seed)
    except BaseException:
        out.unlink(missing_ok=True)
        folder.rmdir()
        raise

    def cleanup() -> None:
        out.unlink(missing_ok=True)
        folder.rmdir()

    background.add_task(cleanup)
    media = "text/csv" if body.format == "csv" else "application/vnd.apache.parquet"
    return FileResponse(out, media_type=media, filename=f"roster.{body.format}", headers={"X-Rows": str(rows)})
