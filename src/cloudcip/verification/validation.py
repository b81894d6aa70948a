"""Checking every identity field of an application with the identity validators, all at once (A3, A4).

``check_record`` raises one ``IdentityFieldError`` naming every bad field (paths as in the request
body: ``national_id.number``, ``payment_means.0.number``, ``beneficial_owners.1.birth_date``), or
returns the facts the rest of the decision needs: countries behind the phone, cards and IBANs,
document checks, flags. Values never appear in messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cloudcip.domain.application import EntityApplication, IndividualApplication
from cloudcip.domain.customer import (
    Address,
    BankAccount,
    BeneficialOwnerInput,
    Card,
    CryptoWallet,
    CustomerRecord,
    IndividualCustomer,
    NationalId,
)
from cloudcip.identity import (
    IdentityFieldError,
    validate_address,
    validate_birth_date,
    validate_email,
    validate_national_id,
    validate_phone,
)
from cloudcip.identity.address import normalize_country
from cloudcip.identity.national_id import validate_document_number, validate_ein, validate_registration
from cloudcip.identity.payment import (
    BinTable,
    validate_bic,
    validate_card_expiry,
    validate_card_number,
    validate_iban,
    validate_wallet,
)
from cloudcip.identity.problems import ProblemCollector

MINIMUM_AGE = 18


@dataclass
class PersonFields:
    """What the checks learnt about one person (the customer or a beneficial owner)."""

    subject: str  # "customer" or "beneficial_owner:<position>"
    kind: str  # individual | entity
    nationality: str | None
    address_country: str | None
    address_subdivision: str | None
    document_countries: list[str] = field(default_factory=list)
    document_kinds: list[str] = field(default_factory=list)
    us_passport: bool = False
    permanent_resident_card: bool = False
    ein_valid: bool = False
    formation_country: str | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class CheckedRecord:
    persons: list[PersonFields]
    phone_country: str | None
    email_flags: list[str]
    card_countries: list[str]
    iban_countries: list[str]
    payment_types: list[str]
    flags: list[str]


def _check_country(collector: ProblemCollector, country: str | None, path: str) -> None:
    """An ISO 3166 country code that exists (``XX`` has the right form and names no country)."""
    if country is None:
        return
    try:
        normalize_country(country, path)
    except IdentityFieldError as error:
        collector.absorb(error)


def _check_document(collector: ProblemCollector, document: NationalId, path: str, today: date,
                    person: PersonFields) -> None:
    person.document_countries.append(document.country)
    person.document_kinds.append(document.kind)
    if document.kind in ("passport", "id_card", "residence_permit"):
        # the number printed on the document; its check digit lives in the machine-readable zone
        try:
            validate_document_number(document.country, document.number, f"{path}.number")
        except IdentityFieldError as error:
            collector.absorb(error)
        if document.kind == "passport" and document.country == "US":
            person.us_passport = True
        if document.kind == "residence_permit" and document.country == "US":
            person.permanent_resident_card = True
    elif document.kind in ("national_id", "tax_id"):
        try:
            checked = validate_national_id(document.country, document.number, f"{path}.number")
            person.flags += [f"national_id:{flag}" for flag in checked.flags]
        except IdentityFieldError as error:
            collector.absorb(error)
    else:
        _check_country(collector, document.country, f"{path}.country")
    if document.expires_on is not None and document.expires_on < today:
        collector.add(f"{path}.expires_on", "the document has expired")


def _check_address(collector: ProblemCollector, address: Address, path: str) -> None:
    lines = [address.line1] + ([address.line2] if address.line2 else [])
    try:
        validate_address(lines, address.city, address.country, path, subdivision=address.subdivision,
                         postal_code=address.postal_code, postal_code_required=False)
    except IdentityFieldError as error:
        for problem in error.problems:
            # the request names address lines line1/line2, the validator lines.N
            collector.add(problem.field.replace(f"{path}.lines.0", f"{path}.line1")
                          .replace(f"{path}.lines.1", f"{path}.line2"), problem.reason)


def _check_owner(collector: ProblemCollector, owner: BeneficialOwnerInput, position: int,
                 today: date) -> PersonFields:
    path = f"beneficial_owners.{position}"
    _check_country(collector, owner.nationality, f"{path}.nationality")
    person = PersonFields(subject=f"beneficial_owner:{position}", kind="individual", nationality=owner.nationality,
                          address_country=owner.address.country if owner.address else None,
                          address_subdivision=owner.address.subdivision if owner.address else None)
    if owner.birth_date is not None:
        try:
            validate_birth_date(owner.birth_date, f"{path}.birth_date", today, minimum_age=MINIMUM_AGE)
        except IdentityFieldError as error:
            collector.absorb(error)
    if owner.national_id is not None:
        _check_document(collector, owner.national_id, f"{path}.national_id", today, person)
    if owner.address is not None:
        _check_address(collector, owner.address, f"{path}.address")
    if owner.ownership_percent is None and not owner.control:
        collector.add(f"{path}.ownership_percent", "a beneficial owner owns at least 25 % or has control")
    elif owner.ownership_percent is not None and owner.ownership_percent < 25 and not owner.control:
        collector.add(f"{path}.ownership_percent", "below 25 % without control: not a beneficial owner")
    return person


def check_record(record: CustomerRecord, today: date, bin_table: BinTable | None = None) -> CheckedRecord:
    """Every field of ``record`` through the identity validators; all problems raised together."""
    collector = ProblemCollector()
    flags: list[str] = []
    customer = PersonFields(subject="customer", kind=record.kind,
                            nationality=record.nationality if isinstance(record, IndividualCustomer)
                            else None,
                            address_country=record.address.country,
                            address_subdivision=record.address.subdivision)
    persons = [customer]
    _check_address(collector, record.address, "address")
    if isinstance(record, IndividualCustomer):
        _check_country(collector, record.nationality, "nationality")
        try:
            validate_birth_date(record.birth_date, "birth_date", today, minimum_age=MINIMUM_AGE)
        except IdentityFieldError as error:
            collector.absorb(error)
        if record.national_id is not None:
            _check_document(collector, record.national_id, "national_id", today, customer)
        for position, document in enumerate(record.documents):
            _check_document(collector, document, f"documents.{position}", today, customer)
    else:
        registration = record.registration
        customer.formation_country = registration.country
        try:
            if registration.kind == "ein" or (registration.country == "US" and registration.kind != "other"):
                validate_ein(registration.number, "registration.number")
                customer.ein_valid = True
            else:
                checked = validate_registration(registration.country, registration.number, "registration.number")
                customer.flags += [f"registration:{flag}" for flag in checked.flags]
        except IdentityFieldError as error:
            collector.absorb(error)
        if not record.beneficial_owners:
            collector.add("beneficial_owners", "an entity names at least one beneficial owner")
        for position, owner in enumerate(record.beneficial_owners):
            persons.append(_check_owner(collector, owner, position, today))
    phone_country = None
    try:
        phone = validate_phone(record.phone, "phone", default_region=record.address.country)
        phone_country = phone.region_code
        flags += [f"phone:{flag}" for flag in phone.flags]
    except IdentityFieldError as error:
        collector.absorb(error)
    email_flags: list[str] = []
    try:
        email_flags = list(validate_email(record.email, "email").flags)
    except IdentityFieldError as error:
        collector.absorb(error)
    card_countries: list[str] = []
    iban_countries: list[str] = []
    for position, means in enumerate(record.payment_means):
        path = f"payment_means.{position}"
        _check_country(collector, getattr(means, "country", None), f"{path}.country")
        try:
            if isinstance(means, Card):
                card = validate_card_number(means.number, f"{path}.number", bin_table)
                validate_card_expiry(means.expiry, f"{path}.expiry", today)
                if card.issuer_country:  # from the BIN table; else the issuer country the provider states
                    card_countries.append(card.issuer_country)
                elif means.country:
                    card_countries.append(means.country)
            elif isinstance(means, BankAccount):
                if means.iban:
                    iban = validate_iban(means.iban, f"{path}.iban")
                    iban_countries.append(iban.country)
                if means.bic:
                    validate_bic(means.bic, f"{path}.bic")
            elif isinstance(means, CryptoWallet):
                wallet = validate_wallet(means.address, f"{path}.address", network=means.currency)
                flags += [f"wallet:{flag}" for flag in wallet.flags]
        except IdentityFieldError as error:
            collector.absorb(error)
    collector.raise_if_any()
    return CheckedRecord(
        persons=persons,
        phone_country=phone_country,
        email_flags=email_flags,
        card_countries=card_countries,
        iban_countries=iban_countries,
        payment_types=[means.type for means in record.payment_means],
        flags=flags,
    )


def check_record_owner(owner: BeneficialOwnerInput, today: date, position: int = 0) -> PersonFields:
    """A7: one beneficial owner notified after opening, checked like those of an application."""
    collector = ProblemCollector()
    person = _check_owner(collector, owner, position, today)
    collector.raise_if_any()
    return person


def present_fields(request: IndividualApplication | EntityApplication,
                   dumped: dict[str, Any] | None = None) -> set[str]:
    """The fields an application gives (A3: what the policy requires is checked against them);
    ``dumped``: the request's ``model_dump`` (JSON or Python mode give the same)."""
    dumped = dumped if dumped is not None else request.model_dump()
    present = {name for name, value in dumped.items() if value not in (None, [], {}, "")}
    if isinstance(request, IndividualCustomer) and (request.national_id or request.documents):
        present.add("national_id")
    if any(isinstance(m, Card) for m in request.payment_means):
        present.add("payment_means")
    present.add("name")
    return present
