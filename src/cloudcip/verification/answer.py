"""The answer about an account-opening application, as one type (A2, A4, A5, A6, A7).

``POST /v1/applications`` answers it; reading the application, adding evidence, a vendor result, a
one-time code, a beneficial owner, a review or a redress answer the same type, with the case as it
now stands. ``ApplicationService`` keeps the answer it gave (a retried ``Idempotency-Key`` gets it
back, ``replayed: true``), so the fields below are those of every answer; a read adds the case's
``history`` and ``evidence``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PersonStatus(BaseModel):
    """The U.S.-person / foreign-person determination of one subject, with its basis (A1)."""

    model_config = ConfigDict(extra="allow")
    subject: str = Field(examples=["customer", "beneficial_owner:0"])
    status: str = Field(examples=["us_person", "foreign_person", "undetermined"])
    basis: Any = None
    evidence: Any = None


class CaseMove(BaseModel):
    """One move of the verification case."""

    model_config = ConfigDict(extra="allow")
    to: str
    reason: str | None = None
    at: str | None = None


class EvidenceItem(BaseModel):
    """One piece of evidence on the case (its outcome, never the document's contents)."""

    model_config = ConfigDict(extra="allow")
    subject: str
    method: str
    outcome: str
    at: str | None = None


class ApplicationAnswer(BaseModel):
    """The decision on an account opening and what is still owed."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "id": "3f0b6c1e-8a51-4c39-9c1e-2a7d4b8e9f10", "decision": "pending_evidence", "state": "pending_evidence",
        "restrictions": ["no_gpu"], "deadline": "2026-01-31T00:00:00+00:00",
        "evidence_required": ["customer: e-mail one-time code"], "reasons": ["self-serve signup: evidence owed"],
        "replayed": False}]})

    id: str = Field(description="the application's id")
    decision: str = Field(
        description="approved, pending_evidence (restricted, with a deadline), in_review or refused")
    state: str = Field(description="the verification case's state")
    restrictions: list[str] = Field(default_factory=list, description="limits while evidence is owed")
    deadline: str | None = Field(default=None, description="when the owed evidence is due (ISO 8601)")
    evidence_required: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list, description="why, in the rule's words")
    replayed: bool = Field(default=False, description="true: the stored answer to a retried Idempotency-Key")
    person_status: list[PersonStatus] | None = None
    policy_rule: str | None = None
    notice_version: str | None = None
    risk_tier: str | None = None
    risk: dict[str, Any] | None = None
    location: Any = None
    located_in: Any = None
    location_decisions: dict[str, Any] | None = None
    screening: dict[str, Any] | None = Field(default=None, description="band, hits and measures applying")
    exemption_applied: str | None = Field(default=None, description="F1: the id of the exemption applied, if any")
    exempted_steps: dict[str, str] | None = Field(default=None, description="F1: each exempted step and its exemption")
    customer_id: str | None = None
    account_id: str | None = None
    account_state: str | None = None
    resolution: str | None = None
    history: list[CaseMove] | None = Field(default=None, description="on a read: every move of the case")
    evidence: list[EvidenceItem] | None = Field(default=None, description="on a read: the evidence on the case")
