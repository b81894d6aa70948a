"""Re-validating a stored customer record for periodic re-verification (A4, A7).

Re-verification does not trust the answer given at signup: it opens the stored record (inside the
job's transaction, on the ledger) and runs the identity validators again on what can change with
time or with the validators' data: documents' expiry, the birth date's plausibility, national-ID
checksums, email and phone validity, card expiry and IBANs. What fails is returned as field problems
(they send the case to review; nothing here raises for the customer's data), together with the
:class:`~cloudcip.verification.assessment.Applicant` and the :class:`CheckedRecord` the assessment
needs, so the person is located, determined and screened again against the lists and measures in
force.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from cloudcip.crypto.envelope import FieldSealer
from cloudcip.identity import validate_birth_date, validate_email, validate_national_id, validate_phone
from cloudcip.identity.payment import validate_card_expiry, validate_iban
from cloudcip.identity.problems import IdentityFieldError
from cloudcip.screening.subjects import subjects_of
from cloudcip.storage.schema import identity_document
from cloudcip.verification.assessment import Applicant
from cloudcip.verification.validation import MINIMUM_AGE, CheckedRecord, PersonFields


def _expiries(conn: Connection, sealer: FieldSealer, customer_id: str) -> dict[str, date]:
    """Document number -> expiry date, for the customer's documents that have one."""
    found: dict[str, date] = {}
    for row in conn.execute(select(identity_document.c.id, identity_document.c.number_sealed,
                                   identity_document.c.expires_on_sealed)
                            .where(identity_document.c.customer_id == customer_id)):
        if row.expires_on_sealed is None:
            continue
        number = sealer.open(bytes(row.number_sealed), table="identity_document", column="number", row_id=row.id)
        found[number] = date.fromisoformat(sealer.open(bytes(row.expires_on_sealed), table="identity_document",
                                                       column="expires_on", row_id=row.id))
    return found


def _problems_of(check: Any, *args: Any) -> list[str]:
    try:
        check(*args)
    except IdentityFieldError as error:
        return [problem.field for problem in error.problems]
    return []


def revalidate(conn: Connection, sealer: FieldSealer, record: dict[str, Any], account_type: str, channel: str,
               risk_tier: str, today: date) -> tuple[Applicant, CheckedRecord, list[str]]:
    """The applicant and checked record of a stored (unmasked) record, and the fields that no longer
    validate (``documents.0.expires_on``, ``email``, ...)."""
    problems: list[str] = []
    kind = str(record.get("kind"))
    address = record.get("address") or {}
    expiries = _expiries(conn, sealer, str(record["id"]))
    persons: list[PersonFields] = []
    customer = PersonFields("customer", kind, record.get("nationality") if kind != "entity" else None,
                            address.get("country"), address.get("subdivision"))
    owners = record.get("beneficial_owners", [])
    owner_fields = {owner["id"]: PersonFields(f"beneficial_owner:{position}", "individual", owner.get("nationality"),
                                              owner.get("residence_country"), None)
                    for position, owner in enumerate(owners)}
    for position, document in enumerate(record.get("documents", [])):
        holder = owner_fields.get(document.get("beneficial_owner_id")) if document.get("beneficial_owner_id") \
            else customer
        if holder is None:
            continue
        if document.get("kind") == "registration":
            customer.formation_country = document.get("country")
            customer.ein_valid = document.get("country") == "US"
            continue
        country, number = str(document.get("country")), str(document.get("number") or "")
        doc_kind = document.get("kind")
        holder.document_countries.append(country)
        holder.document_kinds.append(str(doc_kind))
        if doc_kind == "passport" and country == "US":
            holder.us_passport = True
        if doc_kind == "residence_permit" and country == "US":
            holder.permanent_resident_card = True
        if doc_kind in ("national_id", "id_card", "tax_id"):
            problems += _problems_of(validate_national_id, country, number, f"documents.{position}.number")
        expiry = expiries.get(number)
        if expiry is not None and expiry < today:
            problems.append(f"documents.{position}.expires_on")
    persons.append(customer)
    persons.extend(owner_fields.values())
    if kind != "entity" and record.get("birth_date"):
        problems += _problems_of(validate_birth_date, str(record["birth_date"]), "birth_date", today, MINIMUM_AGE)
    email_flags: list[str] = []
    try:
        email_flags = list(validate_email(str(record.get("email") or ""), "email").flags)
    except IdentityFieldError:
        problems.append("email")
    phone_country = None
    try:
        phone_country = validate_phone(str(record.get("phone") or ""), "phone",
                                       default_region=address.get("country")).region_code
    except IdentityFieldError:
        problems.append("phone")
    card_countries: list[str] = []
    iban_countries: list[str] = []
    ibans: list[str] = []
    for position, means in enumerate(record.get("payment_means", [])):
        if means.get("type") == "card":
            if means.get("country"):
                card_countries.append(str(means["country"]))
            if means.get("expiry"):
                problems += _problems_of(validate_card_expiry, str(means["expiry"]), f"payment_means.{position}.expiry",
                                         today)
        elif means.get("type") == "bank_account" and means.get("number"):
            try:
                iban_countries.append(validate_iban(str(means["number"]), "iban").country)
                ibans.append(str(means["number"]))
            except IdentityFieldError:
                pass  # a bank account number that is not an IBAN
    subjects = []
    positions = {owner["id"]: position for position, owner in enumerate(owners)}
    for subject in subjects_of(record):
        key = "customer" if subject.subject_type == "customer" else f"beneficial_owner:{positions[subject.subject_id]}"
        subjects.append((key, subject))
    applicant = Applicant(
        kind=kind, account_type=account_type, channel=channel, requested_tier=risk_tier,
        address_country=address.get("country"), address_subdivision=address.get("subdivision"),
        phone=record.get("phone"), registration_country=customer.formation_country if kind == "entity" else None,
        ibans=tuple(ibans), subjects=tuple(subjects),
        owner_addresses=tuple((owner.get("residence_country"), None) for owner in owners),
    )
    checked = CheckedRecord(persons=persons, phone_country=phone_country, email_flags=email_flags,
                            card_countries=card_countries, iban_countries=iban_countries,
                            payment_types=[str(m.get("type")) for m in record.get("payment_means", [])], flags=[])
    return applicant, checked, problems
