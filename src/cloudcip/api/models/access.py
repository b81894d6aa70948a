"""Access-ledger answers: an intake's counts, an account's addresses and events, the accounts seen
from a network, an account's signals (C1, C2, C3, C4)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class IngestAnswer(BaseModel):
    accepted: int = Field(description="events stored by this batch")
    duplicates: int = Field(description="events already stored (same id), not stored again")


class AccountAddress(BaseModel):
    ip: str
    first_seen: str
    last_seen: str
    count: int
    country: str | None


class AccessEventView(BaseModel):
    time: str
    ip: str
    action: str
    kind: str
    principal: str
    source: str | None
    country: str | None
    id: str | None


class AccountAccess(BaseModel):
    """An account's distinct addresses, first and last access, and a page of its raw events (C2)."""

    account_id: str
    first_access: str | None
    last_access: str | None
    ips: list[AccountAddress]
    events: list[AccessEventView]
    next_cursor: str | None = Field(description="fetches the next page of events")


class AccountSeenView(BaseModel):
    account_id: str
    ip: str
    first_seen: str
    last_seen: str
    count: int


class AccountsSeen(BaseModel):
    """The accounts seen from an address or network in a window (C3)."""

    accounts: list[AccountSeenView]


class SignalView(BaseModel):
    id: str
    kind: str
    at: str
    detail: dict[str, Any]
    state: str


class AccountSignals(BaseModel):
    """The ongoing-verification signals raised from an account's access (C4)."""

    signals: list[SignalView]
