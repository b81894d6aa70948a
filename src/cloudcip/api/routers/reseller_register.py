"""The reseller register, its oversight and the termination clock over HTTP (E1, E3, G4, B3, B4).

- ``POST /v1/resellers``, ``GET /v1/resellers``, ``GET /v1/resellers/{id}``: the register (a reseller
  is an existing customer; foreign unless determined a U.S. person); ``POST .../certifications``.
- ``POST /v1/resellers/{id}/cip-documents``: a new version of the reseller's written CIP, as the raw
  request body (``?filename=``) or a multipart form field ``file``; PDF, DOCX, plain text or HTML, at
  most 10 MB (this path's own body limit); empty, too large or another type is a 422 naming ``file``.
  ``GET .../cip-documents`` lists the versions, ``GET .../cip-documents/{version}`` gives one back.
- ``POST /v1/resellers/{id}/reviews`` (scheduled or ad hoc), ``.../reviews/{review}/sample`` (size,
  seed), ``.../reviews/{review}/items/{sub_lessee_id}`` (adequate, deficient, missing);
  ``POST /v1/resellers/{id}/findings`` (non-compliance starts the termination clock and makes an
  incident report); ``POST .../remediation`` (reason and evidence stop the clock);
  ``POST .../termination`` (409 when already terminated), ``GET .../termination``.
- ``GET /v1/reseller-clocks?as_of=``: the running clocks and their days left; ``POST
  /v1/reseller-clocks/run``: the daily job (reminders, restriction and termination on the last day).

Reads for analysts and compliance officers; every change for compliance officers.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudcip import clock
from cloudcip.api.auth import ServicesDep, require, stated_purpose
from cloudcip.api.error_models import ErrorBody
from cloudcip.api.models.files import file_response
from cloudcip.api.params import Day
from cloudcip.errors import InvalidInput
from cloudcip.records.roles import Actor
from cloudcip.resellers.register import FILE_TYPES, MAX_CIP_BYTES
from cloudcip.runtime import reseller_service

router = APIRouter(tags=["resellers"])

Id = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Reader = Annotated[Actor, Depends(require("reseller:read"))]
Writer = Annotated[Actor, Depends(require("reseller:write"))]
CIP_UPLOAD_PATH = r"^/v1/resellers/[^/]+/cip-documents$"
CIP_UPLOAD_LIMIT = MAX_CIP_BYTES + 1_000_000  # the document plus a multipart envelope


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no or unknown API key"},
    403: {"model": ErrorBody, "description": "the role may not do this"},
    404: {"model": ErrorBody, "description": "no such reseller, customer, review, document or sampled item"},
    409: {"model": ErrorBody, "description": "the relationship is terminated, or the step does not fit its state"},
    410: {"model": ErrorBody, "description": "the reseller's customer record was purged"},
    422: {"model": ErrorBody, "description": "a field at fault, named"},
}


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResellerInput(_Input):
    customer_id: Id
    contact: Annotated[str, StringConstraints(min_length=3, max_length=320)]
    contract_reference: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    attestation: bool = False
    certified_on: Day | None = None


class CertificationInput(_Input):
    certified_on: Day
    attestation: bool | None = None


class ReviewInput(_Input):
    kind: Literal["scheduled", "ad_hoc"] = "ad_hoc"
    scheduled_for: Day | None = None


class SampleInput(_Input):
    size: Annotated[int, Field(ge=1, le=10_000)]
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)]


class ItemInput(_Input):
    result: Literal["adequate", "deficient", "missing"]
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class FindingInput(_Input):
    kind: Literal["compliant", "non_compliant", "malicious_activity", "observation"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    review_id: Id | None = None


class RemediationInput(_Input):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    evidence: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class TerminationInput(_Input):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class ClockRunInput(_Input):
    as_of: Day | None = None


class AccountRef(BaseModel):
    id: str
    type: str
    state: str


class ResellerView(BaseModel):
    id: str
    customer_id: str
    foreign: bool
    person_status: str
    contact: str | None
    contract_reference: str | None
    attestation: bool
    certified_on: str | None
    certification_due: str | None
    status: str
    status_reason: str | None
    accounts: list[AccountRef]
    cip_versions: int
    latest_cip_version: int | None
    created_at: str | None


class CipDocument(BaseModel):
    id: str
    reseller_id: str
    version: int
    filename: str
    file_type: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: str | None


class SampleItem(BaseModel):
    position: int
    sub_lessee_id: str
    result: str | None
    note: str | None


class Sample(BaseModel):
    requested: int
    size: int
    seed: int
    population: int
    whole_population: bool
    note: str | None
    results: dict[str, int]
    items: list[SampleItem] | None = None


class Review(BaseModel):
    id: str
    reseller_id: str
    kind: str
    state: str
    scheduled_for: str | None
    started_at: str | None
    closed_at: str | None
    sample: Sample | None


class RestrictedAccount(BaseModel):
    account_id: str
    restrictions: list[str]
    to: str
    from_: str = Field(alias="from")


class Clock(BaseModel):
    clock_id: str
    reseller_id: str
    finding_id: str | None
    state: str
    started_on: str
    ends_on: str
    days: int
    reminders_sent: list[int]
    days_left: int | None = None
    stop_reason: str | None = None
    stop_evidence: dict[str, Any] | None = None
    restricted_accounts: list[RestrictedAccount] | None = None
    stopped_at: str | None = None


class Finding(BaseModel):
    id: str
    reseller_id: str
    review_id: str | None
    kind: str
    reason: str
    incident_id: str | None
    created_at: str | None
    termination: Clock | None = None


class Termination(BaseModel):
    reseller_id: str
    clock_id: str | None
    restricted_accounts: list[RestrictedAccount]


class ClockReminder(BaseModel):
    reseller_id: str
    clock_id: str
    days_left: int


class ClockRun(BaseModel):
    as_of: str
    reminded: list[ClockReminder]
    terminated: list[Termination]


@router.post("/v1/resellers", status_code=201, responses=ERRORS)
def add_reseller(body: ResellerInput, request: Request, services: ServicesDep, actor: Writer) -> ResellerView:
    """E1: register an existing customer as a reseller (foreign unless determined a U.S. person)."""
    view = reseller_service(services).add(body.customer_id, body.contact, actor,
                                          contract_reference=body.contract_reference, attestation=body.attestation,
                                          certified_on=body.certified_on, purpose=stated_purpose(request))
    return ResellerView(**view)


@router.get("/v1/resellers", responses=ERRORS)
def list_resellers(request: Request, services: ServicesDep, actor: Reader,
                   status: Annotated[Literal["active", "under_review", "terminating", "terminated"] | None,
                                     Query()] = None,
                   foreign: Annotated[bool | None, Query()] = None) -> list[ResellerView]:
    views = reseller_service(services).entries(actor, status=status, foreign=foreign, purpose=stated_purpose(request))
    return [ResellerView(**view) for view in views]


@router.get("/v1/resellers/{reseller_id}", responses=ERRORS)
def show_reseller(reseller_id: Id, request: Request, services: ServicesDep, actor: Reader) -> ResellerView:
    return ResellerView(**reseller_service(services).show(reseller_id, actor, purpose=stated_purpose(request)))


@router.post("/v1/resellers/{reseller_id}/certifications", responses=ERRORS)
def certify_reseller(reseller_id: Id, body: CertificationInput, services: ServicesDep, actor: Writer) -> ResellerView:
    """E1: the reseller's annual certification; the next one falls due a year later."""
    return ResellerView(**reseller_service(services).record_certification(
        reseller_id, body.certified_on, actor, attestation=body.attestation))


_UPLOAD_DOC: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
}}}


@router.post("/v1/resellers/{reseller_id}/cip-documents", status_code=201, responses=ERRORS,
             openapi_extra=_UPLOAD_DOC)
async def upload_cip(reseller_id: Id, request: Request, services: ServicesDep, actor: Writer,
                     filename: Annotated[str | None, Query(max_length=200)] = None) -> CipDocument:
    """E1: a new version of the reseller's written CIP (raw body or multipart ``file``)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput.field("file", "a multipart form field named file holding the document")
        content = await upload.read()
        filename = filename or upload.filename
    else:
        content = await request.body()
    return CipDocument(**reseller_service(services).upload_cip(reseller_id, content, actor, filename=filename))


@router.get("/v1/resellers/{reseller_id}/cip-documents", responses=ERRORS)
def cip_versions(reseller_id: Id, services: ServicesDep, actor: Reader) -> list[CipDocument]:
    return [CipDocument(**row) for row in reseller_service(services).cip_versions(reseller_id, actor)]


@router.get("/v1/resellers/{reseller_id}/cip-documents/{version}", response_class=Response, responses={
    **ERRORS, 200: file_response("the document as uploaded", *FILE_TYPES.values())})
def cip_document(reseller_id: Id, version: Annotated[int, Path(ge=1)], request: Request, services: ServicesDep,
                 actor: Reader) -> Response:
    """One version of the CIP as uploaded; ``X-Content-SHA256`` carries its hash."""
    meta, content = reseller_service(services).cip_document(reseller_id, version, actor,
                                                            purpose=stated_purpose(request))
    return Response(content, media_type=meta["media_type"], headers={
        "X-Content-SHA256": meta["sha256"], "Content-Disposition": f'attachment; filename="{meta["filename"]}"'})


@router.post("/v1/resellers/{reseller_id}/reviews", status_code=201, responses=ERRORS)
def start_review(reseller_id: Id, services: ServicesDep, actor: Writer,
                 body: Annotated[ReviewInput | None, Body()] = None) -> Review:
    """E3: open a scheduled or ad-hoc review; the reseller is under review until a finding."""
    body = body or ReviewInput()
    return Review(**reseller_service(services).start_review(reseller_id, actor, kind=body.kind,
                                                            scheduled_for=body.scheduled_for))


@router.get("/v1/resellers/{reseller_id}/reviews", responses=ERRORS)
def list_reviews(reseller_id: Id, services: ServicesDep, actor: Reader) -> list[Review]:
    return [Review(**row) for row in reseller_service(services).reviews(reseller_id, actor)]


@router.get("/v1/resellers/{reseller_id}/reviews/{review_id}", responses=ERRORS)
def show_review(reseller_id: Id, review_id: Id, services: ServicesDep, actor: Reader) -> Review:
    return Review(**reseller_service(services).review(reseller_id, review_id, actor))


@router.post("/v1/resellers/{reseller_id}/reviews/{review_id}/sample", responses=ERRORS)
def draw_sample(reseller_id: Id, review_id: Id, body: SampleInput, services: ServicesDep, actor: Writer) -> Review:
    """E3: a reproducible random sample of the reseller's sub-lessees (the whole population when
    the size asked is not smaller, and the answer says so)."""
    return Review(**reseller_service(services).draw_sample(reseller_id, review_id, body.size, body.seed, actor))


@router.post("/v1/resellers/{reseller_id}/reviews/{review_id}/items/{sub_lessee_id}", responses=ERRORS)
def record_item(reseller_id: Id, review_id: Id, sub_lessee_id: Id, body: ItemInput, services: ServicesDep,
                actor: Writer) -> Review:
    return Review(**reseller_service(services).record_result(reseller_id, review_id, sub_lessee_id, body.result,
                                                             actor, note=body.note))


@router.post("/v1/resellers/{reseller_id}/findings", status_code=201, responses=ERRORS)
def record_finding(reseller_id: Id, body: FindingInput, services: ServicesDep, actor: Writer) -> Finding:
    """E3, G4: a finding; non-compliance or malicious activity starts the clock and makes an incident report."""
    return Finding(**reseller_service(services).record_finding(reseller_id, body.kind, body.reason, actor,
                                                               review_id=body.review_id))


@router.get("/v1/resellers/{reseller_id}/findings", responses=ERRORS)
def list_findings(reseller_id: Id, services: ServicesDep, actor: Reader) -> list[Finding]:
    return [Finding(**row) for row in reseller_service(services).findings(reseller_id, actor)]


@router.post("/v1/resellers/{reseller_id}/remediation", responses=ERRORS)
def remediate(reseller_id: Id, body: RemediationInput, services: ServicesDep, actor: Writer) -> Clock:
    """E3: the reseller remedied: the clock stops, with the reason and the evidence recorded."""
    return Clock(**reseller_service(services).remediate(reseller_id, body.reason, body.evidence, actor))


@router.post("/v1/resellers/{reseller_id}/termination", responses=ERRORS)
def terminate(reseller_id: Id, body: TerminationInput, services: ServicesDep, actor: Writer) -> Termination:
    """E3: end the relationship now; its accounts are restricted (409 if already terminated)."""
    return Termination(**reseller_service(services).terminate(reseller_id, body.reason, actor))


@router.get("/v1/resellers/{reseller_id}/termination", responses=ERRORS)
def termination_state(reseller_id: Id, services: ServicesDep, actor: Reader) -> Clock | None:
    state = reseller_service(services).termination_state(reseller_id, actor)
    return None if state is None else Clock(**state)


@router.get("/v1/reseller-clocks", responses=ERRORS)
def running_clocks(services: ServicesDep, actor: Reader,
                   as_of: Annotated[Day | None, Query()] = None) -> list[Clock]:
    """E3: every running termination clock and its days left (on ``as_of``, default today)."""
    return [Clock(**row) for row in reseller_service(services).running_clocks(as_of, actor)]


@router.post("/v1/reseller-clocks/run", responses=ERRORS)
def run_clocks(services: ServicesDep, actor: Writer,
               body: Annotated[ClockRunInput | None, Body()] = None) -> ClockRun:
    """E3: the daily job now: reminders at 14, 7, 3 and 1 days left; restriction on the last day."""
    answer = reseller_service(services).run_clocks(actor, (body or ClockRunInput()).as_of or clock.today())
    return ClockRun(**answer)
