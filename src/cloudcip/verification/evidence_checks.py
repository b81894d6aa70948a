"""Checking documentary evidence against the application (A2, A4, A5).

A document a provider inspected or a vendor read (document + selfie) is compared **field by field**
with what the application says of the same person: issuing country, number, names, date of birth.
A mismatch does not count as verified: the evidence is kept with outcome ``mismatch`` and the case
goes to review, naming the fields (never their values). An expired document fails. A machine-readable
zone, when the document carries one, is parsed (``identity.mrz``: every ICAO 9303 check digit) and its
fields compared the same way; a zone whose check digits fail fails the evidence.

Verified citizenship evidence (a U.S. passport, passport card or permanent-resident card, or a U.S.
passport's MRZ) is returned so the person's U.S./foreign status is decided again (A2).

Evidence may arrive with the application itself (``signup_evidence``) or later (``check_claim``); both
take the same checks.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert

from cloudcip.crypto.envelope import FieldSealer
from cloudcip.domain.application import DocumentClaimIn, EntityApplication, IndividualApplication
from cloudcip.domain.verification_case import EvidenceRecord
from cloudcip.identity.mrz import parse_mrz
from cloudcip.identity.problems import IdentityFieldError
from cloudcip.identity.us_person import CitizenshipEvidence
from cloudcip.storage.schema import evidence
from cloudcip.verification.validation import CheckedRecord
from cloudcip.verification.vendors import VendorResult

if TYPE_CHECKING:
    from cloudcip.verification.applications import ApplicationService

DOCUMENTARY = frozenset({"passport", "national_id_card", "registration_document", "vendor_idv"})
_ICAO = str.maketrans({"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "Å": "AA", "Æ": "AE", "Ø": "OE", "Þ": "TH"})


@dataclass(frozen=True)
class DocumentClaim:
    """What a checked document says (held in memory, sealed when kept)."""

    kind: str | None = None
    country: str | None = None
    number: str | None = None
    expires_on: date | None = None
    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    mrz: str | None = None

    @classmethod
    def of(cls, document: DocumentClaimIn) -> DocumentClaim:
        return cls(document.kind, document.country, document.number, document.expires_on, document.given_name,
                   document.family_name, document.birth_date, document.mrz)

    def as_json(self) -> dict[str, Any]:
        return {key: (value.isoformat() if isinstance(value, date) else value)
                for key, value in self.__dict__.items() if value is not None}


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def claim_of_vendor(result: VendorResult) -> DocumentClaim | None:
    """The document a vendor read, as a claim (``None`` when the vendor said nothing of it)."""
    kind = (result.document_type or "").lower().replace(" ", "_") or None
    if kind == "id_card" or kind == "national_id":
        kind = "id_card"
    claim = DocumentClaim(kind, (result.document_country or "").upper() or None, result.document_number,
                          _date(result.document_expiry), result.given_name, result.family_name,
                          _date(result.birth_date))
    return claim if any(v is not None for v in claim.__dict__.values()) else None


@dataclass(frozen=True)
class Identity:
    """What the application says of one person, to compare documents with."""

    given_name: str | None = None
    family_name: str | None = None
    birth_date: date | None = None
    nationality: str | None = None
    documents: tuple[tuple[str, str], ...] = ()  # (country, number)


@dataclass
class ClaimCheck:
    """The outcome after the checks, the fields that disagree, the problems, and citizenship evidence."""

    outcome: str
    mismatches: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    citizenship: CitizenshipEvidence | None = None

    @property
    def why(self) -> str | None:
        """A reason naming the fields (for the case's transition), when the checks changed the outcome."""
        parts = list(self.problems)
        if self.mismatches:
            parts.append("disagrees with the application: " + ", ".join(self.mismatches))
        if not parts:
            return None
        return ("evidence_failed_check: " if self.problems else "evidence_mismatch: ") + "; ".join(parts)


def _letters(text: str | None, icao: bool = False) -> str:
    if not text:
        return ""
    upper = text.upper()
    if icao:
        upper = upper.translate(_ICAO)
    plain = "".join(c for c in unicodedata.normalize("NFKD", upper) if not unicodedata.combining(c))
    return re.sub(r"[^A-Z]", "", plain)


def _same_name(stated: str | None, seen: str | None) -> bool:
    """Names agree when their letters do (accents dropped, or spelt out as ICAO 9303 does)."""
    if not stated or not seen:
        return True
    target = _letters(seen)
    return target in (_letters(stated), _letters(stated, icao=True))


def _given_agrees(stated: str | None, seen: str | None) -> bool:
    """A document may carry more given names than the application (or the other way round)."""
    if not stated or not seen:
        return True
    first_stated = _letters(stated.split()[0]) if stated.split() else ""
    seen_parts = {_letters(part) for part in re.split(r"[\s<]+", seen) if part}
    return _same_name(stated, seen) or first_stated in seen_parts or any(
        _letters(stated.split()[0], icao=True) == part for part in seen_parts)


def _number(text: str | None) -> str:
    return re.sub(r"[\s\-<./]", "", (text or "").upper())


def compare(claim: DocumentClaim, identity: Identity, today: date) -> ClaimCheck:
    """The document against the application: mismatched fields, expiry, the MRZ (A4)."""
    check = ClaimCheck("verified")
    countries = {country for country, _number_ in identity.documents} | (
        {identity.nationality} if identity.nationality else set())
    if claim.country and countries and claim.country not in countries:
        check.mismatches.append("document.country")
    numbers = {_number(n) for _country, n in identity.documents if n}
    if claim.number and numbers and _number(claim.number) not in numbers:
        check.mismatches.append("document.number")
    if not _same_name(identity.family_name, claim.family_name):
        check.mismatches.append("document.family_name")
    if not _given_agrees(identity.given_name, claim.given_name):
        check.mismatches.append("document.given_name")
    if claim.birth_date and identity.birth_date and claim.birth_date != identity.birth_date:
        check.mismatches.append("document.birth_date")
    if claim.expires_on is not None and claim.expires_on < today:
        check.problems.append("document.expires_on: the document has expired")
    if claim.mrz:
        _check_mrz(claim, identity, today, check, numbers)
    if check.problems:
        check.outcome = "failed"
    elif check.mismatches:
        check.outcome = "mismatch"
    return check


def _check_mrz(claim: DocumentClaim, identity: Identity, today: date, check: ClaimCheck, numbers: set[str]) -> None:
    try:
        zone = parse_mrz(claim.mrz or "", "document.mrz", today, require_unexpired=False)
    except IdentityFieldError as error:
        check.problems.extend(str(problem) for problem in error.problems)
        return
    if zone.is_expired(today):
        check.problems.append("document.mrz: the document has expired")
    wanted_number = {_number(claim.number)} if claim.number else numbers
    if wanted_number and _number(zone.document_number) not in wanted_number:
        check.mismatches.append("document.mrz.document_number")
    if claim.country and zone.issuing_state_alpha2 and zone.issuing_state_alpha2 != claim.country:
        check.mismatches.append("document.mrz.issuing_state")
    if identity.nationality and zone.nationality_alpha2 and zone.nationality_alpha2 != identity.nationality:
        check.mismatches.append("document.mrz.nationality")
    if identity.birth_date and zone.birth_date and zone.birth_date != identity.birth_date:
        check.mismatches.append("document.mrz.birth_date")
    if claim.expires_on and zone.expiry_date != claim.expires_on:
        check.mismatches.append("document.mrz.expiry_date")
    if not _same_name(identity.family_name, zone.surname):
        check.mismatches.append("document.mrz.surname")
    if not _given_agrees(identity.given_name, zone.given_names):
        check.mismatches.append("document.mrz.given_names")
    if check.outcome == "verified" and not check.problems:
        check.citizenship = CitizenshipEvidence.from_mrz(zone)


def citizenship_of(claim: DocumentClaim) -> CitizenshipEvidence | None:
    """A2: what a verified document says of U.S. citizenship or permanent residence."""
    if claim.country != "US":
        return None
    if claim.kind == "passport":
        return CitizenshipEvidence("us_passport", verified=True, country="US")
    if claim.kind == "passport_card":
        return CitizenshipEvidence("us_passport_card", verified=True, country="US")
    if claim.kind in ("permanent_resident_card", "residence_permit"):
        return CitizenshipEvidence("permanent_resident_card", verified=True, country="US")
    return None


def check_document(method: str, outcome: str, claim: DocumentClaim | None, identity: Identity,
                   today: date) -> ClaimCheck:
    """The checks of one piece of evidence: only a verified documentary result is compared; the
    outcome becomes ``mismatch`` or ``failed`` when the document disagrees or fails."""
    if claim is None or outcome != "verified" or method not in DOCUMENTARY:
        return ClaimCheck(outcome)
    check = compare(claim, identity, today)
    if check.outcome == "verified":
        mrz_citizenship = check.citizenship
        check.citizenship = mrz_citizenship if mrz_citizenship is not None and \
            mrz_citizenship.kind == "us_passport_mrz" else citizenship_of(claim)
    else:
        check.citizenship = None
    return check


# -- identities ------------------------------------------------------------------------------------------
def identity_of_record(record: dict[str, Any], subject: str) -> Identity:
    """The identity a stored (unmasked) record gives ``subject`` (customer or beneficial_owner:<n>)."""
    if subject == "customer":
        name = record.get("name") or {}
        documents = tuple((str(d["country"]), str(d["number"])) for d in record.get("documents", [])
                          if d.get("beneficial_owner_id") is None and d.get("kind") != "registration"
                          and d.get("country"))
        return Identity(name.get("given"), name.get("family"), _date(record.get("birth_date")),
                        record.get("nationality") if record.get("kind") != "entity" else None, documents)
    position = int(subject.split(":")[1])
    owners = record.get("beneficial_owners", [])
    if position >= len(owners):
        return Identity()
    owner = owners[position]
    name = owner.get("name") or {}
    documents = tuple((str(d["country"]), str(d["number"])) for d in record.get("documents", [])
                      if d.get("beneficial_owner_id") == owner.get("id") and d.get("country"))
    return Identity(name.get("given"), name.get("family"), _date(owner.get("birth_date")), owner.get("nationality"),
                    documents)


def identity_of_request(request: IndividualApplication | EntityApplication, subject: str) -> Identity:
    """The identity an application gives ``subject``."""
    if subject == "customer":
        if isinstance(request, EntityApplication):
            return Identity()
        documents = tuple((d.country, d.number) for d in
                          ([request.national_id] if request.national_id else []) + request.documents)
        return Identity(" ".join(p for p in (request.name.given, request.name.middle) if p), request.name.family,
                        request.birth_date, request.nationality, documents)
    position = int(subject.split(":")[1])
    owners = request.beneficial_owners if isinstance(request, EntityApplication) else []
    if position >= len(owners):
        return Identity()
    owner = owners[position]
    documents = ((owner.national_id.country, owner.national_id.number),) if owner.national_id else ()
    return Identity(owner.name.given, owner.name.family, owner.birth_date, owner.nationality, documents)


def check_claim(service: ApplicationService, conn: Connection, row: Any, subject: str, method: str, outcome: str,
                claim: DocumentClaim | None, today: date) -> ClaimCheck:
    """The checks of evidence arriving for a stored application."""
    if claim is None or outcome != "verified" or method not in DOCUMENTARY:
        return ClaimCheck(outcome)
    record = service.services.customers.open_record(conn, row.customer_id)
    return check_document(method, outcome, claim, identity_of_record(record, subject), today)


# -- evidence that comes with the application -----------------------------------------------------------
@dataclass
class SignupEvidence:
    """The evidence an application brought, each item checked."""

    items: list[tuple[str, str, str, str | None, DocumentClaim | None, ClaimCheck]] = field(default_factory=list)
    # (subject, method, outcome after checks, reference, claim, check)

    def satisfied(self) -> dict[str, frozenset[str]]:
        found: dict[str, set[str]] = {}
        for subject, method, outcome, _ref, _claim, _check in self.items:
            if outcome == "verified":
                found.setdefault(subject, set()).add(method)
        return {subject: frozenset(methods) for subject, methods in found.items()}

    @property
    def citizenship(self) -> dict[str, list[CitizenshipEvidence]]:
        found: dict[str, list[CitizenshipEvidence]] = {}
        for subject, _method, outcome, _ref, _claim, check in self.items:
            if outcome == "verified" and check.citizenship is not None:
                found.setdefault(subject, []).append(check.citizenship)
        return found

    @property
    def problems(self) -> list[str]:
        """The evidence that did not check out, as field problems for the decision (to review)."""
        return [f"evidence.{subject}.{method}.{name}" for subject, method, _o, _r, _c, check in self.items
                for name in check.mismatches + [p.split(":")[0] for p in check.problems]]

    def records(self, now: datetime) -> list[EvidenceRecord]:
        return [EvidenceRecord(subject, method, outcome, now, reference)
                for subject, method, outcome, reference, _claim, _check in self.items]


def signup_evidence(request: IndividualApplication | EntityApplication, checked: CheckedRecord,
                    today: date) -> SignupEvidence:
    """Check the evidence an application brings (A4, A5), against the application itself."""
    brought = SignupEvidence()
    subjects = {person.subject for person in checked.persons}
    for position, item in enumerate(request.evidence):
        if item.subject not in subjects:
            raise IdentityFieldError.single(f"evidence.{position}.subject", "no such person in the application")
        claim = DocumentClaim.of(item.document) if item.document is not None else None
        check = check_document(item.method, item.outcome, claim, identity_of_request(request, item.subject), today)
        brought.items.append((item.subject, item.method, check.outcome, item.reference, claim, check))
    return brought


def store_signup_evidence(conn: Connection, sealer: FieldSealer, customer_id: str, application_id: str,
                          brought: SignupEvidence, now: datetime) -> None:
    """The evidence an application brought, in the evidence table (document details sealed)."""
    for subject, method, outcome, reference, claim, check in brought.items:
        evidence_id = str(uuid.uuid4())
        kept: dict[str, Any] = {}
        if claim is not None:
            kept["document"] = claim.as_json()
        if check.mismatches:
            kept["mismatches"] = check.mismatches
        if check.problems:
            kept["problems"] = check.problems
        conn.execute(insert(evidence), dict(
            id=evidence_id, customer_id=customer_id, application_id=application_id, subject=subject, method=method,
            result=outcome, vendor_reference=reference, received_at=now,
            detail_sealed=sealer.seal(json.dumps(kept), table="evidence", column="detail", row_id=evidence_id)
            if kept else None))
