"""A sub-lessee as a reseller shares it: the request's models, the identity checks of every field and
the screening on arrival (E2, D2, D3).

``check_sub_lessees`` runs the identity validators over every field at once (one
``IdentityFieldError`` naming each bad field, values never echoed) and normalises them into a
``CheckedSubLessee`` (held in memory only), which knows its location decision and determination (D1,
D2); ``screen_sub_lessee`` screens it against the in-force lists and measures (D3). Storing,
sealing, listing and removing are in ``resellers.sub_lessees``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from cloudcip.domain.customer import CountryCode, Email, Identifier, PersonName, ShortText, Strict
from cloudcip.identity import (
    IdentityFieldError,
    normalize_country,
    normalize_subdivision,
    validate_birth_date,
    validate_email,
    validate_wallet,
)
from cloudcip.identity.problems import ProblemCollector
from cloudcip.identity.us_person import PersonFacts, determine_person_status
from cloudcip.screening import location
from cloudcip.screening.reach import Standing
from cloudcip.screening.service import ScreeningResult, ScreeningService
from cloudcip.screening.subjects import us_location_evidence

MAX_SCREENED_NAME = 300
Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,128}$")]


class SubLesseeDocument(Strict):
    country: CountryCode
    number: Identifier
    kind: Literal["national_id", "passport", "id_card", "residence_permit", "tax_id", "registration",
                  "other"] = "national_id"


class SubLesseeWallet(Strict):
    """A crypto wallet of the sub-lessee, as a customer's (checked by network and checksum)."""

    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{2,10}$")]
    address: Annotated[str, StringConstraints(min_length=20, max_length=128, pattern=r"^[A-Za-z0-9:]+$")]


class _SubLesseeFields(Strict):
    reference: Reference = Field(description="the reseller's own reference; unique per Reseller Account")
    country: CountryCode
    subdivision: Annotated[str, StringConstraints(max_length=8)] | None = None
    email: Email | None = None
    documents: Annotated[list[SubLesseeDocument], Field(default_factory=list, max_length=10)]
    wallet: SubLesseeWallet | None = None


class PersonSubLessee(_SubLesseeFields):
    kind: Literal["person"]
    name: PersonName
    birth_date: date | None = None
    nationality: CountryCode | None = None


class EntitySubLessee(_SubLesseeFields):
    kind: Literal["entity"]
    legal_name: ShortText


SubLesseeInput = Annotated[PersonSubLessee | EntitySubLessee, Field(discriminator="kind")]


@dataclass(frozen=True)
class CheckedSubLessee:
    """A sub-lessee's fields after the identity validators, normalised (held in memory only)."""

    reference: str
    kind: str  # person | entity
    name: dict[str, str]  # PersonName fields, or {"legal_name": ...}
    birth_date: str | None
    nationality: str | None
    country: str
    subdivision: str | None
    email: str | None
    documents: tuple[dict[str, str], ...] = ()
    wallet: dict[str, str] | None = None  # {currency, address}

    @property
    def screened_name(self) -> str:
        if self.kind == "entity":
            return self.name.get("legal_name", "")
        return " ".join(self.name[p] for p in ("given", "middle", "family") if self.name.get(p))

    def fields(self) -> dict[str, Any]:
        """What is screened and sealed; its keyed hash tells a changed record from an unchanged one."""
        return {"kind": self.kind, "name": self.name, "birth_date": self.birth_date,
                "nationality": self.nationality, "country": self.country, "subdivision": self.subdivision,
                "email": self.email, "documents": sorted(json.dumps(d, sort_keys=True) for d in self.documents),
                **({"wallet": self.wallet} if self.wallet else {})}  # absent: the hash of a record without one

    def location(self) -> location.LocationDecision:
        """D2: the location decision from the country, subdivision, document countries and nationality."""
        return location.decide_location(location.LocationEvidence(
            address_country=self.country, address_subdivision=self.subdivision,
            document_countries=[d["country"] for d in self.documents],
            nationalities=[self.nationality] if self.nationality else [],
        ))

    def jurisdictions(self) -> list[str]:
        """Every jurisdiction the evidence connects the sub-lessee to, located there or not (D2)."""
        return self.location().codes

    def standing(self) -> Standing:
        """D1: the sub-lessee's determination (from what the reseller shared; undetermined is foreign)
        and location decision; a jurisdiction measure reaches a foreign sub-lessee located there."""
        decision = self.location()
        status = determine_person_status(PersonFacts(
            kind="entity" if self.kind == "entity" else "individual",
            nationality=self.nationality if self.kind != "entity" else None,
            address_country=self.country, location_evidence=us_location_evidence(decision)))
        return Standing("sub_lessee", status.status, status.basis, decision)


def check_sub_lessees(items: Sequence[PersonSubLessee | EntitySubLessee], today: date,
                      many: bool = True) -> list[CheckedSubLessee]:
    """Every field checked at once with the identity validators; one error naming each bad field."""
    collector = ProblemCollector()
    checked: list[CheckedSubLessee] = []
    seen: dict[str, int] = {}
    for position, item in enumerate(items):
        prefix = f"{position}." if many else ""
        problems_before = len(collector.problems)
        if item.reference in seen:
            collector.add(prefix + "reference", f"shared twice in this request (also at {seen[item.reference]})")
        seen.setdefault(item.reference, position)
        country = item.country
        try:
            country = normalize_country(item.country, prefix + "country")
        except IdentityFieldError as exc:
            collector.absorb(exc)
        subdivision = None
        if item.subdivision:
            try:
                subdivision = normalize_subdivision(country, item.subdivision, prefix + "subdivision",
                                                    prefix + "country")
            except IdentityFieldError as exc:
                collector.absorb(exc)
        email = None
        if item.email is not None:
            try:
                email = validate_email(item.email, prefix + "email").normalized
            except IdentityFieldError as exc:
                collector.absorb(exc)
        documents = []
        for number, document in enumerate(item.documents):
            try:
                normalize_country(document.country, f"{prefix}documents.{number}.country")
            except IdentityFieldError as exc:
                collector.absorb(exc)
            documents.append({"country": document.country, "number": document.number, "kind": document.kind})
        wallet = None
        if item.wallet is not None:
            try:
                validate_wallet(item.wallet.address, prefix + "wallet.address", network=item.wallet.currency)
                wallet = {"currency": item.wallet.currency, "address": item.wallet.address}
            except IdentityFieldError as exc:
                collector.absorb(exc)
        birth_date = nationality = None
        if isinstance(item, PersonSubLessee):
            name = item.name.model_dump(exclude_none=True)
            name_field = "name"
            if item.birth_date is not None:
                try:
                    birth_date = validate_birth_date(item.birth_date, prefix + "birth_date", today).isoformat()
                except IdentityFieldError as exc:
                    collector.absorb(exc)
            if item.nationality is not None:
                try:
                    nationality = normalize_country(item.nationality, prefix + "nationality")
                except IdentityFieldError as exc:
                    collector.absorb(exc)
        else:
            name = {"legal_name": item.legal_name}
            name_field = "legal_name"
        result = CheckedSubLessee(item.reference, item.kind, name, birth_date, nationality, country, subdivision,
                                  email, tuple(documents), wallet)
        if len(result.screened_name) > MAX_SCREENED_NAME:
            collector.add(prefix + name_field, f"longer than the {MAX_SCREENED_NAME} characters a name can be "
                                               "screened at")
        if len(collector.problems) == problems_before:
            checked.append(result)
    collector.raise_if_any()
    return checked


def screen_sub_lessee(screening: ScreeningService, checked: CheckedSubLessee, today: date,
                      field_prefix: str = "") -> ScreeningResult:
    """D3: the sub-lessee against the in-force lists and measures, with its jurisdictions."""
    try:
        return screening.screen_person(
            checked.screened_name, checked.birth_date, checked.nationality,
            schema="Organization" if checked.kind == "entity" else "Person",
            document_numbers=[d["number"] for d in checked.documents],
            emails=[checked.email] if checked.email else [],
            wallets=[checked.wallet["address"]] if checked.wallet else [],
            standing=checked.standing(), on=today,
        )
    except ValueError as exc:  # a name the matcher cannot take (blank once normalised, binary ...)
        name_field = "legal_name" if checked.kind == "entity" else "name"
        raise IdentityFieldError.single(field_prefix + name_field, "cannot be screened") from exc
