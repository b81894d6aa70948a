"""The normalised model of a designated (listed) party, whatever list it came from (D3).

Every list loader in ``cloudcip.screening`` turns a published file into ``DesignatedParty``
values; the matcher and the re-screening job only ever see this model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PartySchema = Literal["Person", "Organization", "Vessel", "Aircraft", "Unknown"]
NameQuality = Literal["primary", "strong", "weak"]


@dataclass(frozen=True, slots=True)
class ListedName:
    """One name of a listed party: its primary name or an alias (a.k.a., f.k.a., n.k.a.)."""

    full: str
    quality: NameQuality = "primary"
    # the parts where the list gives them (individuals): given names and family name
    given: str | None = None
    family: str | None = None
    script: str | None = None  # e.g. "Latin", "Arabic", "Cyrillic" when the list says so


@dataclass(frozen=True, slots=True)
class ListedDocument:
    """An identity document of a listed party (passport, national ID, tax ID, ...)."""

    kind: str  # "passport", "national_id", "tax_id", "registration", "other"
    number: str
    country: str | None = None  # ISO 3166-1 alpha-2 where known
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ListedAddress:
    text: str
    city: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2 where known


@dataclass(slots=True)
class DesignatedParty:
    """One entry of a designated-persons list, normalised."""

    source: str  # list identifier, e.g. "ofac-sdn", "ofac-cons", "un-sc", "bis-dpl", "ftm", "own"
    source_id: str  # the entry's id in its list (ent_num, DATAID, FtM id, ...)
    schema: PartySchema
    names: list[ListedName]
    birth_dates: list[str] = field(default_factory=list)  # ISO "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    birth_places: list[str] = field(default_factory=list)
    nationalities: list[str] = field(default_factory=list)  # ISO alpha-2
    citizenships: list[str] = field(default_factory=list)  # ISO alpha-2
    gender: str | None = None  # "male" | "female" | None
    addresses: list[ListedAddress] = field(default_factory=list)
    documents: list[ListedDocument] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    wallets: list[tuple[str, str]] = field(default_factory=list)  # (currency code e.g. "XBT", address)
    websites: list[str] = field(default_factory=list)  # as the list writes them, e.g. "www.example.com"
    programs: list[str] = field(default_factory=list)
    remarks: str | None = None

    @property
    def primary_name(self) -> str:
        return self.names[0].full if self.names else ""
