"""What cloudcip finds about an application before its CIP policy decides (A2, D1, D2, D3, G2).

For the customer and every beneficial owner, in this order:

1. the **location decision** of D2 from all the evidence the application carries (address, documents,
   registration, nationality, phone, card issuers, IBANs, the signup address and whether it is a
   hosting, VPN or Tor address) (``screening.location.decide_location``);
2. the **U.S./foreign determination** of A2 (``identity.us_person``), its U.S.-location evidence read
   off that same decision (IP alone never settles it);
3. **screening** of names and identifiers against the in-force lists, and of the measures against the
   person's standing: a jurisdiction measure applies only to a foreign person located there (D1);
   weak or conflicting evidence asks for review with enhanced verification.

Then the **risk tier** from the named factors of ``verification.risk`` (the provider may only raise
it). Nothing here stores anything; ``applications`` turns the :class:`Assessment` into facts for
``decision.decide`` and stores the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cloudcip.domain.application import EntityApplication, IndividualApplication
from cloudcip.domain.customer import BankAccount, CryptoWallet
from cloudcip.identity.problems import IdentityFieldError
from cloudcip.identity.us_person import CitizenshipEvidence, PersonFacts, PersonStatus, determine_person_status
from cloudcip.screening.location import LocationDecision, LocationEvidence, decide_location
from cloudcip.screening.reach import Standing, explain
from cloudcip.screening.service import MeasureApplying, ScreeningResult, ScreeningService
from cloudcip.screening.subjects import Subject, us_location_evidence
from cloudcip.verification.risk import RiskAssessment, RiskSignals, assess_risk
from cloudcip.verification.validation import CheckedRecord, PersonFields

ApplicationInput = IndividualApplication | EntityApplication
BAND_ORDER: dict[str, int] = {"clear": 0, "review": 1, "block": 2}
MAX_SCREENED_NAME = 300


@dataclass(frozen=True)
class SignupAddress:
    """What the offline IP intelligence says of the signup address (country, hosting/VPN, Tor exit, and
    its ASN: a hosting provider's ASN is a weak link kind, G1)."""

    country: str | None = None
    hosting: bool = False
    tor_exit: bool = False
    asn: int | None = None

    @property
    def anonymous(self) -> bool:
        return self.hosting or self.tor_exit


#: the hook the wiring passes in (``access.ipintel``): the facts of a signup address
SignupIpLookup = Callable[[str], SignupAddress]


@dataclass
class PersonFinding:
    """One person of the application: its determination, location decision and screening."""

    subject: str  # "customer" or "beneficial_owner:<position>"
    status: PersonStatus
    location: LocationDecision
    screened: Subject | None = None
    result: ScreeningResult | None = None

    @property
    def standing(self) -> Standing:
        return Standing(self.subject, self.status.status, self.status.basis, self.location)


@dataclass
class Assessment:
    """Everything found, ready for the decision."""

    persons: list[PersonFinding]
    risk: RiskAssessment
    signup: SignupAddress = field(default_factory=SignupAddress)
    band: str = "clear"

    @property
    def statuses(self) -> list[tuple[str, PersonStatus]]:
        return [(person.subject, person.status) for person in self.persons]

    @property
    def measures(self) -> list[MeasureApplying]:
        """Every measure considered for any person (applies, review, not located, not reached)."""
        return [m for person in self.persons if person.result is not None for m in person.result.measures_considered]

    def hits_json(self) -> list[dict[str, Any]]:
        return [{"subject": person.subject, "list_source": hit.party_source, "list_source_id": hit.party_id,
                 "score": round(hit.score, 3), "band": hit.band}
                for person in self.persons if person.result is not None
                for hit in person.result.hits if hit.band != "clear"]

    def measure_notes(self) -> list[str]:
        """One reason line per measure considered (D1: measure, jurisdiction, evidence, determination)."""
        notes = []
        for item in self.measures:
            if item.measure.kind != "jurisdiction":
                notes.append(f"measure_applies:{item.measure.id}: {item.basis}; {item.determination}")
                continue
            notes.append(explain(item.outcome, item.measure.id, item.jurisdiction, item.evidence,
                                 item.determination, item.located_in))
        return notes


@dataclass(frozen=True)
class Applicant:
    """What the assessment reads of an application, from a request at signup or from the stored
    record at re-verification (held in memory only)."""

    kind: str  # individual | entity
    account_type: str
    channel: str
    requested_tier: str | None
    address_country: str | None
    address_subdivision: str | None
    phone: str | None
    signup_ip: str | None = None
    registration_country: str | None = None
    ibans: tuple[str, ...] = ()
    subjects: tuple[tuple[str, Subject], ...] = ()  # ("customer" | "beneficial_owner:<n>", Subject)
    owner_addresses: tuple[tuple[str | None, str | None], ...] = ()  # per owner: (country, subdivision)


def applicant_of(request: ApplicationInput) -> Applicant:
    """The applicant of a signup request."""
    owners = request.beneficial_owners if isinstance(request, EntityApplication) else []
    return Applicant(
        kind=request.kind, account_type=request.account.type, channel=request.account.channel,
        requested_tier=request.account.risk_tier, address_country=request.address.country,
        address_subdivision=request.address.subdivision, phone=request.phone, signup_ip=request.signup_ip,
        registration_country=request.registration.country if isinstance(request, EntityApplication) else None,
        ibans=tuple(m.iban for m in request.payment_means if isinstance(m, BankAccount) and m.iban),
        subjects=tuple(_subjects(request)),
        owner_addresses=tuple((o.address.country, o.address.subdivision) if o.address else (None, None)
                              for o in owners),
    )


def _location_evidence(applicant: Applicant, person: PersonFields, checked: CheckedRecord,
                       signup: SignupAddress, position: int | None) -> LocationEvidence:
    if position is not None:  # a beneficial owner
        country, subdivision = applicant.owner_addresses[position] if position < len(applicant.owner_addresses) \
            else (None, None)
        return LocationEvidence(address_country=country, address_subdivision=subdivision,
                                document_countries=list(person.document_countries),
                                nationalities=[person.nationality] if person.nationality else [])
    return LocationEvidence(
        address_country=applicant.address_country, address_subdivision=applicant.address_subdivision,
        document_countries=list(person.document_countries), registration_country=applicant.registration_country,
        nationalities=[person.nationality] if person.nationality and person.kind != "entity" else [],
        phone_number=applicant.phone, signup_ip=applicant.signup_ip, signup_ip_anonymous=signup.anonymous,
        card_issuer_countries=list(checked.card_countries), ibans=list(applicant.ibans),
    )


def determine(person: PersonFields, decision: LocationDecision,
              verified: Sequence[CitizenshipEvidence] = ()) -> PersonStatus:
    """The A2 determination of one person: documents stated at signup are claims; ``verified``
    citizenship evidence (a checked passport, a permanent-resident card) decides (A2, A4)."""
    citizenship: list[CitizenshipEvidence] = list(verified)
    if person.us_passport:
        citizenship.append(CitizenshipEvidence("us_passport", verified=False, country="US"))
    if person.permanent_resident_card:
        citizenship.append(CitizenshipEvidence("permanent_resident_card", verified=False, country="US"))
    return determine_person_status(PersonFacts(
        kind="entity" if person.kind == "entity" else "individual",
        nationality=person.nationality,
        citizenship_evidence=citizenship,
        ein_valid=person.ein_valid,
        formation_country=person.formation_country,
        address_country=person.address_country,
        location_evidence=us_location_evidence(decision),
    ))


def _subjects(request: ApplicationInput) -> list[tuple[str, Subject]]:
    """The screened persons, built exactly as re-screening builds them from the stored record (so a
    hit's subject hash matches); subject ids are filled in once the record is stored."""
    wallets = tuple(m.address for m in request.payment_means if isinstance(m, CryptoWallet))
    if isinstance(request, IndividualApplication):
        name = " ".join(p for p in (request.name.given, request.name.middle, request.name.family) if p)
        numbers = tuple(d.number for d in ([request.national_id] if request.national_id else []) + request.documents)
        return [("customer", Subject("customer", "", name, "Person", request.birth_date.isoformat(),
                                     request.nationality, numbers, (request.email,), wallets))]
    found = [("customer", Subject("customer", "", request.legal_name, "Organization", None, None,
                                  (request.registration.number,), (request.email,), wallets))]
    for position, owner in enumerate(request.beneficial_owners):
        owner_name = " ".join(p for p in (owner.name.given, owner.name.middle, owner.name.family) if p)
        found.append((f"beneficial_owner:{position}", Subject(
            "beneficial_owner", "", owner_name, "Person", owner.birth_date.isoformat() if owner.birth_date else None,
            owner.nationality, (owner.national_id.number,) if owner.national_id else ())))
    return found


def _name_field(kind: str, subject: str) -> str:
    if subject == "customer":
        return "legal_name" if kind == "entity" else "name"
    return f"beneficial_owners.{subject.split(':')[1]}.name"


def screen(screening: ScreeningService | None, screened: Subject, standing: Standing,
           name_field: str, today: date) -> ScreeningResult | None:
    """One person against the in-force lists and measures (D1, D3)."""
    if screening is None:
        return None
    if len(screened.name) > MAX_SCREENED_NAME:
        raise IdentityFieldError.single(name_field, "longer than the 300 characters a name can be screened at")
    return screening.screen_person(
        screened.name, screened.birth_date, screened.nationality, schema=screened.schema,
        document_numbers=screened.document_numbers, emails=screened.emails, wallets=screened.wallets,
        standing=standing, on=today)


def assess(applicant: Applicant, checked: CheckedRecord, screening: ScreeningService | None,
           ip_lookup: SignupIpLookup | None, today: date,
           verified_citizenship: dict[str, list[CitizenshipEvidence]] | None = None) -> Assessment:
    """Locate, determine and screen every person of the application; compute the risk tier (see the
    module docstring)."""
    signup = ip_lookup(applicant.signup_ip) if ip_lookup is not None and applicant.signup_ip else SignupAddress()
    subjects = dict(applicant.subjects)
    persons: list[PersonFinding] = []
    band = "clear"
    for person in checked.persons:
        position = None if person.subject == "customer" else int(person.subject.split(":")[1])
        decision = decide_location(_location_evidence(applicant, person, checked, signup, position))
        status = determine(person, decision, (verified_citizenship or {}).get(person.subject, ()))
        finding = PersonFinding(person.subject, status, decision, subjects.get(person.subject))
        if finding.screened is not None:
            finding.result = screen(screening, finding.screened, finding.standing,
                                    _name_field(applicant.kind, person.subject), today)
            if finding.result is not None and BAND_ORDER[finding.result.band] > BAND_ORDER[band]:
                band = finding.result.band
        persons.append(finding)
    adjacent = [m.jurisdiction for p in persons if p.result for m in p.result.measures_considered
                if m.outcome in ("review", "not_located") and m.jurisdiction]
    customer = checked.persons[0]
    countries = {
        "address": [applicant.address_country] if applicant.address_country else [],
        "documents": [applicant.registration_country] if applicant.registration_country
        else list(customer.document_countries),
        "phone": [checked.phone_country] if checked.phone_country else [],
        "card_issuer": list(checked.card_countries),
        "iban": list(checked.iban_countries),
    }
    risk = assess_risk(RiskSignals(
        account_type=applicant.account_type, channel=applicant.channel, customer_kind=applicant.kind,
        email_flags=list(checked.email_flags), screening_band=band,
        measure_adjacent=[code for code in adjacent if code], countries=countries,
        payment_types=list(checked.payment_types), signup_ip_tor=signup.tor_exit, signup_ip_hosting=signup.hosting,
    ), applicant.requested_tier)
    return Assessment(persons, risk, signup, band)
