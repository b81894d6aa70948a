"""Sub-lessee answers: what became of each shared sub-lessee, a masked page, a removal (E2, D3, D4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SubLesseeHit(BaseModel):
    list_source: str
    list_source_id: str
    score: float
    band: str


class SubLesseeMeasure(BaseModel):
    id: str
    measure: str
    conditions: list[str]
    status: str
    covers_resellers: bool
    outcome: str
    jurisdiction: str | None
    evidence: str
    determination: str


class SubLesseeScreening(BaseModel):
    band: str
    hits: list[SubLesseeHit]
    new_hits: int
    measures: list[SubLesseeMeasure]


class ChainEffectView(BaseModel):
    """What one measure did to the sub-lessee and its Reseller Account."""

    measure_id: str
    measure: str
    sub_lessee_id: str
    reseller_account_id: str
    action: str = Field(description="refused | conditions_recorded")
    account_action: str = Field(description="review | restricted | already_restricted | already_closed")


class SharedSubLessee(BaseModel):
    """One shared sub-lessee: ids, states and screening, no personal data."""

    id: str
    reference: str
    kind: str
    status: str
    outcome: str = Field(description="created | updated | unchanged | refused_earlier")
    screening: SubLesseeScreening
    effects: list[ChainEffectView]


class SharedSubLessees(BaseModel):
    reseller_account_id: str
    sub_lessees: list[SharedSubLessee]


class SubLesseeView(BaseModel):
    """A sub-lessee as analysts see it: names and countries, not birth dates, emails or documents.

    A person has ``name``, ``nationality`` and a masked ``birth_date``; an entity ``legal_name``."""

    id: str
    reference: str
    kind: str
    status: str
    screening_band: str | None
    country: str | None
    subdivision: str | None
    masked: bool
    email: str | None
    documents: list[dict[str, Any]]
    wallet: dict[str, str] | None = None  # currency and the address's masked tail
    measures: Any
    created_at: str | None
    updated_at: str | None
    screened_at: str | None
    removed_at: str | None
    legal_name: str | None = None
    name: Any = None
    nationality: str | None = None
    birth_date: str | None = None


class SubLesseePage(BaseModel):
    reseller_account_id: str
    sub_lessees: list[SubLesseeView]
    next_cursor: str | None = Field(description="fetches the next page")


class SubLesseeRemoved(BaseModel):
    id: str
    reference: str
    status: str
