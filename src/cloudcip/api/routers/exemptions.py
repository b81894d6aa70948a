"""Exemptions and the abuse-deterrence evidence over HTTP (F1, F2, B4).

- ``POST /v1/exemptions`` (``compliance-officer``): record an exemption granted (422 names the field at
  fault, e.g. ``steps`` asking for screening; 409 names the exemption it would overlap).
- ``GET /v1/exemptions[?state=]``, ``GET /v1/exemptions/{id}`` (``compliance-officer``, ``auditor``).
- ``POST /v1/exemptions/{id}/revocation``: end it now, with a reason; its accounts are flagged for
  re-verification at once.
- ``POST /v1/exemptions/{id}/notices``: a notice of significant change, as sent.
- ``GET /v1/exemptions/evidence?from=&to=&format=json|html|pdf``: the evidence pack of a period, each
  figure with the SQL that produced it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloudcip import clock
from cloudcip.api.auth import ServicesDep, require
from cloudcip.api.error_models import errors
from cloudcip.api.models.files import file_content
from cloudcip.exemptions.register import ExemptionRegister
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services, exemption_register

router = APIRouter(prefix="/v1/exemptions", tags=["exemptions"])

ExemptionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Reader = Annotated[Actor, Depends(require("exemption:read"))]
Writer = Annotated[Actor, Depends(require("exemption:write"))]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class Scope(BaseModel):
    kind: Literal["provider", "account_type", "lessee_type"]
    value: str = Field(description="``*`` for the provider; an account type or a lessee type")


class ExemptionInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["provider", "account_type", "lessee_type"]
    scope_value: Annotated[str, StringConstraints(max_length=32)] | None = None
    basis: Annotated[str, StringConstraints(min_length=1, max_length=20000)] = Field(
        description="the abuse-deterrence program the exemption rests on")
    steps: list[Annotated[str, StringConstraints(max_length=64)]] = Field(
        min_length=1, max_length=10,
        description="identity_verification, beneficial_owner_verification, periodic_reverification")
    granted_at: Annotated[str, StringConstraints(max_length=40)]
    expires_at: Annotated[str, StringConstraints(max_length=40)]
    conditions: list[Text] = Field(default_factory=list, max_length=50)
    reference: Annotated[str, StringConstraints(max_length=200)] | None = None


class Notice(BaseModel):
    id: str
    change: str
    changed_at: str | None
    recipient: str
    sent_at: str | None
    recorded_by: str


class Exemption(BaseModel):
    id: str
    scope: Scope
    basis: str
    reference: str | None
    steps: list[str]
    conditions: list[str]
    granted_at: str | None
    expires_at: str | None
    state: Literal["granted", "active", "expired", "revoked"]
    revoked_at: str | None
    revocation_reason: str | None
    uses: int
    accounts_flagged: int
    notices: list[Notice] | None = None


class RevocationInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text


class NoticeInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    change: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    changed_at: Annotated[str, StringConstraints(max_length=40)] | None = None
    sent_at: Annotated[str, StringConstraints(max_length=40)] | None = None
    recipient: Annotated[str, StringConstraints(min_length=1, max_length=200)] = "U.S. Department of Commerce"


class NoticeView(Notice):
    exemption_id: str


class EvidencePack(BaseModel):
    model_config = ConfigDict(extra="allow")
    pack: str
    period: dict[str, str]
    generated_at: str
    sections: dict[str, Any] = Field(description="each section's figures, each figure with the SQL that produced it")


def register_of(services: Services) -> ExemptionRegister:
    return exemption_register(services)


@router.post("", status_code=201, responses=errors(403, 409, 422))
def grant_exemption(body: ExemptionInput, services: ServicesDep, actor: Writer) -> Exemption:
    """F1: record an exemption granted: scope, basis, steps, dates, conditions."""
    view = register_of(services).grant(
        actor, scope_kind=body.scope, scope_value=body.scope_value, basis=body.basis, steps=body.steps,
        granted_at=clock.parse_instant(body.granted_at, "granted_at"),
        expires_at=clock.parse_instant(body.expires_at, "expires_at"), conditions=body.conditions,
        reference=body.reference)
    return Exemption(**view)


@router.get("", responses=errors(403, 422))
def list_exemptions(services: ServicesDep, actor: Reader,
                    state: Literal["granted", "active", "expired", "revoked"] | None = None) -> list[Exemption]:
    return [Exemption(**view) for view in register_of(services).list_exemptions(actor, state=state)]


@router.get("/evidence", response_model=EvidencePack, responses={**errors(403, 422), 200: {
    "content": file_content("text/html", "application/pdf"),
    "description": "the evidence pack as JSON (the model), HTML or PDF"}})
def evidence_pack(services: ServicesDep, actor: Reader,
                  period_from: Annotated[str, Query(alias="from", max_length=40)],
                  period_to: Annotated[str, Query(alias="to", max_length=40)],
                  format: Literal["json", "html", "pdf"] = "json") -> Any:
    """F2: the figures an exemption request needs, from cloudcip's own records for the period."""
    from cloudcip.exemptions.evidence import EvidencePackService
    from cloudcip.exemptions.render import render_html, render_pdf

    pack = EvidencePackService(services.database, services.ledger, now=lambda: services.ledger.clock()).build(
        actor, clock.parse_instant(period_from, "from"), clock.parse_instant(period_to, "to"))
    if format == "html":
        return HTMLResponse(render_html(pack))
    if format == "pdf":
        return Response(render_pdf(pack), media_type="application/pdf",
                        headers={"Content-Disposition": "attachment; filename=exemption-evidence.pdf"})
    return EvidencePack(**pack)


@router.get("/{exemption_id}", responses=errors(403, 404))
def show_exemption(exemption_id: ExemptionId, services: ServicesDep, actor: Reader) -> Exemption:
    return Exemption(**register_of(services).show(exemption_id, actor))


@router.post("/{exemption_id}/revocation", responses=errors(403, 404, 409, 422))
def revoke_exemption(exemption_id: ExemptionId, body: RevocationInput, services: ServicesDep,
                     actor: Writer) -> Exemption:
    """End the exemption now; the accounts that used it are flagged for re-verification."""
    return Exemption(**register_of(services).revoke(exemption_id, body.reason, actor))


@router.post("/{exemption_id}/notices", status_code=201, responses=errors(403, 404, 422))
def record_notice(exemption_id: ExemptionId, body: NoticeInput, services: ServicesDep, actor: Writer) -> NoticeView:
    """A notice of significant change to the exempted program, as the provider sent it."""
    view = register_of(services).notice(
        exemption_id, body.change, actor, recipient=body.recipient,
        changed_at=clock.parse_instant(body.changed_at, "changed_at") if body.changed_at else None,
        sent_at=clock.parse_instant(body.sent_at, "sent_at") if body.sent_at else None)
    return NoticeView(**view)
