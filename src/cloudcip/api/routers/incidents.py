"""Incident reports over HTTP (G4, B3, B4).

- ``POST /v1/incidents``: make a report from a confirmed case (analysts, compliance officers).
- ``GET /v1/incidents/{id}``: the report (identifiers masked, indicators as found); on the ledger.
- ``GET /v1/incidents/{id}/document``: the readable document (Markdown).
- ``GET /v1/incidents/{id}/disclosures``: to whom and when it went.
- ``GET /v1/incidents/{id}/verify``: the kept report against its hash and its ledger entry.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudcip.api.auth import ServicesDep, require, stated_purpose
from cloudcip.api.error_models import ErrorBody
from cloudcip.incidents.document import render_markdown
from cloudcip.incidents.service import IncidentService
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])

IncidentId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Creator = Annotated[Actor, Depends(require("incident:create"))]
Reader = Annotated[Actor, Depends(require("incident:read"))]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no or unknown API key"},
    403: {"model": ErrorBody, "description": "the role may not do this"},
    404: {"model": ErrorBody, "description": "no such incident report or account"},
    409: {"model": ErrorBody, "description": "the kept report no longer matches its hash"},
    410: {"model": ErrorBody, "description": "the customer record (and its reports) was purged"},
    422: {"model": ErrorBody, "description": "a field at fault, named"},
}


class IncidentInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
    summary: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    kind: Literal["malicious_activity", "reseller_noncompliance"] = "malicious_activity"
    actions_taken: list[Annotated[str, StringConstraints(max_length=500)]] = Field(default_factory=list,
                                                                                   max_length=50)


class IncidentSummary(BaseModel):
    id: str
    kind: str
    account_id: str
    created_at: str | None
    sha256: str
    indicators: int
    actions_taken: list[str]


class IncidentView(BaseModel):
    id: str
    kind: str
    account_id: str
    sha256: str
    content: dict[str, Any]


class Disclosure(BaseModel):
    recipient: str
    channel: str
    format: str
    tlp: str | None
    sha256: str
    disclosed_at: str | None
    disclosed_by: str


class Verification(BaseModel):
    id: str
    sha256: str
    ledger_index: int


def incident_service(services: Services) -> IncidentService:
    return IncidentService(services.database, services.ledger, services.customers)


@router.post("", status_code=201, responses=ERRORS)
def create_incident(body: IncidentInput, request: Request, services: ServicesDep, actor: Creator) -> IncidentSummary:
    """G4: a confirmed case of malicious activity becomes a report, kept immutably."""
    report = incident_service(services).create(body.account_id, body.summary, actor, kind=body.kind,
                                               actions_taken=body.actions_taken, purpose=stated_purpose(request))
    return IncidentSummary(**report.summary_view())


@router.get("/{incident_id}", responses=ERRORS)
def read_incident(incident_id: IncidentId, request: Request, services: ServicesDep, actor: Reader) -> IncidentView:
    report = incident_service(services).read(incident_id, actor, purpose=stated_purpose(request))
    return IncidentView(id=report.id, kind=report.kind, account_id=report.account_id, sha256=report.sha256,
                        content=report.content)


@router.get("/{incident_id}/document", response_class=PlainTextResponse, responses=ERRORS)
def incident_document(incident_id: IncidentId, request: Request, services: ServicesDep, actor: Reader) -> str:
    """The report as a readable document (Markdown)."""
    return render_markdown(incident_service(services).read(incident_id, actor, purpose=stated_purpose(request)))


@router.get("/{incident_id}/disclosures", responses=ERRORS)
def incident_disclosures(incident_id: IncidentId, services: ServicesDep, actor: Reader) -> list[Disclosure]:
    return [Disclosure(**row) for row in incident_service(services).disclosures(incident_id, actor)]


@router.get("/{incident_id}/verify", responses=ERRORS)
def verify_incident(incident_id: IncidentId, services: ServicesDep, actor: Reader) -> Verification:
    return Verification(**incident_service(services).verify(incident_id))
