"""Screening answers: list snapshots, special measures, a screening result, hits (D1, D3, D4, D5).

The routes build these from the capability's ``as_json`` forms; keys a form sends only sometimes
(a jurisdiction measure's ``covers``) are optional here and left out of the answer when absent
(``response_model_exclude_unset``), so the answer is exactly what the form holds.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ListSnapshot(BaseModel):
    """The in-force snapshot of one list source."""

    id: str
    source: str
    version: int
    format: str
    sha256: str
    published: str | None
    imported_at: str
    parties: int
    files: list[str]


class ListSnapshots(BaseModel):
    sources: list[ListSnapshot]


class MeasureView(BaseModel):
    """A special measure of the register (D1), with its status on the day asked."""

    id: str
    kind: str = Field(description="jurisdiction | person")
    target: str = Field(description="the jurisdiction, SOURCE:SOURCE_ID, or a described person as JSON text")
    measure: str = Field(description="prohibit | conditions")
    conditions: list[str]
    description: str | None
    determination_date: str
    effective_date: str
    duration_days: int
    expires_on: str
    extensions: list[dict[str, Any]]
    covers_resellers: bool
    created_at: str
    revoked_at: str | None
    revocation_reason: str | None
    covers: list[str] | None = Field(default=None, description="a jurisdiction measure's ISO codes")
    status: str | None = Field(default=None, description="determined | in_force | expired | revoked")


class MeasureList(BaseModel):
    measures: list[MeasureView]


class ScreeningHit(BaseModel):
    """One listed party the screened person may be, with the evidence."""

    list_source: str
    list_source_id: str
    matched_name: str
    score: float
    band: str
    features: dict[str, Any]
    explanation: list[str]


class MeasureConsidered(BaseModel):
    """A measure the screened person is connected to, whether it applies and why (D1)."""

    id: str
    kind: str
    measure: str
    conditions: list[str]
    status: str
    effective_date: str
    expires_on: str
    basis: str
    outcome: str = Field(description="applies | review | not_located | not_reached")
    subject: str
    jurisdiction: str | None
    evidence: str
    determination: str
    located_in: str | None


class ScreeningAnswer(BaseModel):
    """The screening of one person or entity against the in-force lists and measures (D3)."""

    band: str
    hits: list[ScreeningHit]
    measures_applying: list[MeasureConsidered]
    measures_considered: list[MeasureConsidered]


class HitView(BaseModel):
    """A stored hit; its explanation masked unless unmasked with a purpose (B2, D5)."""

    id: str
    subject_type: str
    subject_id: str
    list_source: str
    list_source_id: str
    score: float
    band: str
    explanation: dict[str, Any]
    state: str
    reason: str | None
    decided_by: str | None
    decided_at: str | None
    created_at: str | None
    list_entry_status: str | None
    application_id: str | None
    decision: str | None


class HitList(BaseModel):
    hits: list[HitView]
