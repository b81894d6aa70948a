"""Reporting to Commerce over HTTP: the certification (H1), the CIP contact, the examiner's roster (H3).

- ``GET /v1/certification[?format=html|pdf][&as_of=DATE]`` (``compliance-officer``): the form from
  live data; each figure carries (links to) its query.
- ``POST /v1/certification/filings`` (``compliance-officer``): file it (stored hashed, on the ledger).
- ``PUT /v1/reporting/contact`` (``compliance-officer``): the CIP contact.
- ``POST /v1/roster/export`` (``compliance-officer``): the roster as CSV or Parquet, filtered, or a
  reproducible sample; filters travel in the body.
- ``GET /v1/attestation[?as_of=DATE]`` and ``POST /v1/attestation/filings`` (``compliance-officer``):
  the annual attestation's five points with their evidence, and its filing (or an out-of-cycle
  update's) (H2).
- ``GET /v1/reporting/due[?as_of=DATE]`` (``compliance-officer``): what reporting is owed and when.
- ``POST /v1/reporting/cip-copy-requests``, ``GET /v1/reporting/cip-copy-requests`` and
  ``POST /v1/reporting/cip-copy-requests/{id}/answer`` (``compliance-officer``): requests for copies
  of the written CIP on their clock, and the answer with the hashed documents (H3).

Each is the CLI's command of the same name (``cloudcip attestation``, ``cloudcip reporting``) over
HTTP; the services (``reports.attestation``, ``reports.cip_requests``) do the work.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Body, Depends
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import errors
from cloudcip.api.models.files import file_content
from cloudcip.api.params import Day
from cloudcip.records.roles import Actor
from cloudcip.reports.certification import render_html
from cloudcip.reports.certification_pdf import render_pdf
from cloudcip.reports.roster import RosterFilter
from cloudcip.runtime import (
    attestation_service,
    certification_service,
    cip_copy_requests,
    reporting_contacts,
    roster_service,
)

router = APIRouter(tags=["reporting"])
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]


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
    held_cases_approved: int = Field(0, description="cases the certification gate held, approved by this filing")


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
    200: {"content": file_content("text/html", "application/pdf")}, **errors(403, 422)})
def render_certification(services: ServicesDep, actor: Annotated[Actor, Depends(require("certification:read"))],
                         format: Literal["json", "html", "pdf"] = "json", as_of: Day | None = None) -> Any:
    form = certification_service(services).render(actor, as_of)
    if format == "html":
        return HTMLResponse(render_html(form))
    if format == "pdf":
        return Response(render_pdf(form), media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="cip-certification-{form["as_of"]}.pdf"'})
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
    200: {"content": file_content("text/csv", "application/vnd.apache.parquet")}, **errors(403, 422, 503)})
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


# -- the attestation (H2), what is due, CIP copy requests (H3) -----------------------------------------
class AttestationPoint(BaseModel):
    value: bool
    evidence: dict[str, Any] = Field(description="what cloudcip's own records show for this point")


class AttestationForm(BaseModel):
    form: str
    as_of: str
    generated_at: str
    period: dict[str, str | None] = Field(description="from the last attestation (null: the start) to as_of")
    policy: dict[str, str]
    policy_text: str
    points: dict[str, AttestationPoint] = Field(description="reviewed, updated_for_services, updated_for_threats, "
                                                            "compliant, unverifiable_cases_resolved")


class AttestationFilingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: Day | None = None
    out_of_cycle: bool = Field(False, description="file it as an out-of-cycle update (a material change)")


class DueItem(BaseModel):
    item: str = Field(description="certification, attestation, out_of_cycle_update or cip_copy_request:<id>")
    due: str
    why: str
    overdue: bool


class CipCopyRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requester: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    received: Day | None = Field(None, description="the day it was received (default today; never in the future)")


class CipCopyRequestOut(BaseModel):
    id: str
    received: str
    due: str


class CipCopyDocument(BaseModel):
    name: str
    sha256: str
    bytes: int
    content_base64: str | None = Field(None, description="the document's bytes in base64 (their SHA-256 is sha256)")


class CipCopyAnswer(BaseModel):
    id: str
    answered_at: str | None
    on_time: bool
    documents: list[CipCopyDocument]


@router.get("/v1/attestation", response_model=AttestationForm, responses=errors(403, 422))
def render_attestation(services: ServicesDep, actor: Annotated[Actor, Depends(require("certification:read"))],
                       as_of: Day | None = None) -> AttestationForm:
    return AttestationForm.model_validate(attestation_service(services).render(actor, as_of))


@router.post("/v1/attestation/filings", status_code=201, response_model=Filing, responses=errors(403, 422))
def file_attestation(services: ServicesDep, actor: Annotated[Actor, Depends(require("certification:file"))],
                     body: Annotated[AttestationFilingRequest | None, Body()] = None) -> Filing:
    request = body or AttestationFilingRequest()
    return Filing(**attestation_service(services).file(actor, request.as_of, out_of_cycle=request.out_of_cycle))


@router.get("/v1/reporting/due", response_model=list[DueItem], responses=errors(403, 422))
def reporting_due(services: ServicesDep, _actor: Annotated[Actor, Depends(require("certification:read"))],
                  as_of: Day | None = None) -> list[DueItem]:
    return [DueItem(**item) for item in attestation_service(services).due(as_of)]


@router.post("/v1/reporting/cip-copy-requests", status_code=201, response_model=CipCopyRequestOut,
             responses=errors(403, 422))
def log_cip_copy_request(body: CipCopyRequestIn, services: ServicesDep,
                         actor: Annotated[Actor, Depends(require("reporting:write"))]) -> CipCopyRequestOut:
    return CipCopyRequestOut(**cip_copy_requests(services).log(body.requester, actor, body.received))


@router.get("/v1/reporting/cip-copy-requests", response_model=list[CipCopyRequestOut], responses=errors(403))
def open_cip_copy_requests(services: ServicesDep,
                           _actor: Annotated[Actor, Depends(require("certification:read"))]
                           ) -> list[CipCopyRequestOut]:
    return [CipCopyRequestOut(**item) for item in cip_copy_requests(services).open_requests()]


@router.post("/v1/reporting/cip-copy-requests/{request_id}/answer", response_model=CipCopyAnswer,
             responses=errors(403, 404, 409))
def answer_cip_copy_request(request_id: Uuid, services: ServicesDep,
                            actor: Annotated[Actor, Depends(require("reporting:write"))]) -> CipCopyAnswer:
    return CipCopyAnswer.model_validate(cip_copy_requests(services).answer(request_id, None, actor))
