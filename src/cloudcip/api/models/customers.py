"""Customer-record answers: the record as the reader may see it, and an exact lookup's ids (A3, B2, B4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CustomerView(BaseModel):
    """A live customer's record, masked unless unmasked with a purpose (or by breaking the glass).

    An individual has ``name``, ``nationality`` and ``birth_date``; an entity ``legal_name``,
    ``registration`` and ``beneficial_owners``; each contact appears under its kind (``email``,
    ``phone``) with its ``..._verification`` state. Card numbers appear only as ``display`` (first six,
    last four), masked or not."""

    model_config = ConfigDict(extra="allow")
    id: str
    kind: str = Field(description="individual | entity")
    status: str
    created_at: str
    masked: bool
    address: dict[str, Any]
    documents: list[dict[str, Any]]
    payment_means: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    name: dict[str, Any] | None = None
    nationality: str | None = None
    birth_date: str | None = None
    legal_name: str | None = None
    registration: dict[str, Any] | None = None
    beneficial_owners: list[dict[str, Any]] | None = None
    national_id: dict[str, Any] | None = None
    email: str | None = None
    email_verification: str | None = None
    phone: str | None = None
    phone_verification: str | None = None
    source_of_funds: dict[str, Any] | None = None
    payment_source: dict[str, Any] | None = None


class CustomerIds(BaseModel):
    """The customers holding exactly the value looked up (through the blind index)."""

    ids: list[str]
