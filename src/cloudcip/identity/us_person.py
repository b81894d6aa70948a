"""U.S. person or foreign person, with the basis recorded (A2).

A U.S. person is a U.S. citizen, a lawful permanent resident, an entity organised under U.S. law
(its foreign branches too, which are not separately organised), or any person located in the
United States. Everyone else is a foreign person, and so is anyone whose status cannot be
determined. A foreign subsidiary of a U.S. company is foreign. IP location alone never settles
location: a :class:`LocationPolicy` says which evidence types anchor a U.S. location and how many
corroborating signals it needs (default: a U.S. address plus one non-IP signal).

The decision is a pure function of :class:`PersonFacts`; the explanation names evidence types
and country codes only, never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Literal

from cloudcip.identity.mrz import MachineReadableZone

PersonKind = Literal["individual", "entity"]
Status = Literal["us_person", "foreign_person"]
Basis = Literal["us_citizen", "permanent_resident", "us_entity", "located_in_us", "foreign", "undetermined"]
CitizenshipEvidenceKind = Literal[
    "us_passport",
    "us_passport_card",
    "us_passport_mrz",
    "us_birth_certificate",
    "naturalization_certificate",
    "citizenship_certificate",
    "permanent_resident_card",
    "foreign_passport",
    "foreign_national_id",
]
#: Kinds that establish U.S. citizenship when verified.
US_CITIZENSHIP_KINDS: frozenset[str] = frozenset(
    {
        "us_passport",
        "us_passport_card",
        "us_passport_mrz",
        "us_birth_certificate",
        "naturalization_certificate",
        "citizenship_certificate",
    }
)
#: Location evidence types cloudcip knows; a policy may name others its callers send.
LOCATION_EVIDENCE_TYPES: frozenset[str] = frozenset(
    {"address", "phone", "ip", "payment", "bank_account", "id_document", "vendor", "site_visit"}
)


@dataclass(frozen=True)
class CitizenshipEvidence:
    """A document bearing on citizenship or residence. Only ``verified`` evidence decides status."""

    kind: CitizenshipEvidenceKind
    verified: bool
    country: str = "US"  # the issuing country (alpha-2); for foreign documents the foreign state

    @classmethod
    def from_mrz(cls, zone: MachineReadableZone) -> CitizenshipEvidence:
        """Evidence from a parsed passport MRZ (check digits verified by :func:`parse_mrz`).

        A U.S. passport (document code P, issuing state and nationality USA) is ``us_passport_mrz``;
        any other passport or card is foreign-document evidence for its issuing state.
        """
        issuing = zone.issuing_state_alpha2 or zone.issuing_state
        if zone.document_type.startswith("P") and zone.issuing_state == "USA" and zone.nationality == "USA":
            return cls("us_passport_mrz", True, "US")
        kind: CitizenshipEvidenceKind = (
            "foreign_passport" if zone.document_type.startswith("P") else "foreign_national_id"
        )
        return cls(kind, True, issuing)


@dataclass(frozen=True)
class LocationIndicator:
    """One indicator of where the person is, for the U.S.-person rule: its type (``address``,
    ``phone``, ``ip``, ``payment`` ...) and the country (alpha-2) it points to. (Named apart from
    ``screening.location.LocationEvidence``, everything the location decision weighs.)"""

    type: str
    country: str
    verified: bool = False


@dataclass(frozen=True)
class PersonFacts:
    """What is known about a customer or beneficial owner when deciding U.S./foreign status."""

    kind: PersonKind
    nationality: str | None = None  # declared, alpha-2
    citizenship_evidence: list[CitizenshipEvidence] = dataclass_field(default_factory=list)
    ein_valid: bool = False
    formation_country: str | None = None  # entities: where organised, alpha-2
    formation_state: str | None = None  # entities: ISO 3166-2 code such as US-DE
    parent_country: str | None = None  # entities: where the parent company is organised (does not decide)
    address_country: str | None = None
    location_evidence: list[LocationIndicator] = dataclass_field(default_factory=list)


@dataclass(frozen=True)
class LocationPolicy:
    """Which location evidence suffices to call a person located in the United States.

    At least one evidence of an ``anchor_types`` type must point to the U.S., plus
    ``min_corroborating`` further evidence of ``corroborating_types`` types (a second evidence of
    the anchor type does not corroborate). IP evidence never anchors; it corroborates only with
    ``ip_may_corroborate``. With ``require_verified`` only verified evidence counts.
    """

    anchor_types: frozenset[str] = frozenset({"address"})
    corroborating_types: frozenset[str] = frozenset(
        {"phone", "payment", "bank_account", "id_document", "vendor", "site_visit"}
    )
    min_corroborating: int = 1
    ip_may_corroborate: bool = False
    require_verified: bool = False

    def __post_init__(self) -> None:
        if "ip" in self.anchor_types:
            raise ValueError("IP location alone never settles U.S. location; ip cannot be an anchor type")
        if not self.anchor_types:
            raise ValueError("a location policy needs at least one anchor type")
        if self.min_corroborating < 0:
            raise ValueError("min_corroborating cannot be negative")


DEFAULT_LOCATION_POLICY = LocationPolicy()


@dataclass(frozen=True)
class PersonStatus:
    """The decision, its basis, the evidence it rests on and a plain explanation."""

    status: Status
    basis: Basis
    evidence: list[str]
    explanation: str

    @property
    def is_us_person(self) -> bool:
        """True for a U.S. person."""
        return self.status == "us_person"


def _norm(country: str | None) -> str | None:
    return country.strip().upper() if isinstance(country, str) and country.strip() else None


def located_in_us(facts: PersonFacts, policy: LocationPolicy = DEFAULT_LOCATION_POLICY) -> tuple[bool, list[str]]:
    """Whether the location evidence meets ``policy`` for the U.S., and the evidence used."""
    usable = [item for item in facts.location_evidence if item.verified or not policy.require_verified]
    in_us = [item for item in usable if _norm(item.country) == "US"]
    declared_us_address = _norm(facts.address_country) == "US" and not policy.require_verified
    if declared_us_address and not any(item.type == "address" for item in in_us):
        in_us.append(LocationIndicator("address", "US", verified=False))
    anchors = [item for item in in_us if item.type in policy.anchor_types and item.type != "ip"]
    if not anchors:
        return False, []
    anchor = anchors[0]
    corroborating_types = set(policy.corroborating_types)
    if policy.ip_may_corroborate:
        corroborating_types.add("ip")
    else:
        corroborating_types.discard("ip")
    corroborating = [
        item for item in in_us if item is not anchor and item.type in corroborating_types and item.type != anchor.type
    ]
    distinct = {item.type: item for item in corroborating}
    if len(distinct) < policy.min_corroborating:
        return False, []
    used = [anchor, *distinct.values()]
    return True, [f"location:{item.type}:US{':verified' if item.verified else ''}" for item in used]


def _foreign_signals(facts: PersonFacts) -> list[str]:
    signals: list[str] = []
    nationality = _norm(facts.nationality)
    if nationality and nationality != "US":
        signals.append(f"nationality:{nationality}")
    for item in facts.citizenship_evidence:
        if item.verified and item.kind in ("foreign_passport", "foreign_national_id"):
            signals.append(f"citizenship:{item.kind}:{_norm(item.country) or '??'}")
    formation = _norm(facts.formation_country)
    if facts.kind == "entity" and formation and formation != "US":
        signals.append(f"entity:formed_in:{formation}")
    address = _norm(facts.address_country)
    if address and address != "US":
        signals.append(f"location:address:{address}")
    return signals


def determine_person_status(facts: PersonFacts, policy: LocationPolicy = DEFAULT_LOCATION_POLICY) -> PersonStatus:
    """Decide U.S. person or foreign person for one customer or beneficial owner (A2).

    Individuals: verified U.S. citizenship document -> ``us_citizen``; verified permanent-resident
    card -> ``permanent_resident``; U.S. location per ``policy`` -> ``located_in_us``. Entities:
    organised in the U.S. -> ``us_entity`` (an EIN alone does not decide: foreign entities get
    EINs too); a U.S. parent does not make a foreign subsidiary a U.S. person; U.S. location per
    ``policy`` -> ``located_in_us``. Otherwise ``foreign`` when something points abroad, else
    ``undetermined``; both are foreign persons.
    """
    if facts.kind == "individual":
        for item in facts.citizenship_evidence:
            if item.verified and item.kind in US_CITIZENSHIP_KINDS:
                return PersonStatus(
                    "us_person",
                    "us_citizen",
                    [f"citizenship:{item.kind}:verified"],
                    f"U.S. citizen: verified {item.kind.replace('_', ' ')}.",
                )
        for item in facts.citizenship_evidence:
            if item.verified and item.kind == "permanent_resident_card":
                return PersonStatus(
                    "us_person",
                    "permanent_resident",
                    [f"citizenship:{item.kind}:verified"],
                    "Lawful permanent resident: verified permanent-resident card.",
                )
    else:
        formation = _norm(facts.formation_country)
        if formation == "US":
            evidence = [f"entity:formed_in:{_norm(facts.formation_state) or 'US'}"]
            if facts.ein_valid:
                evidence.append("entity:ein_valid")
            return PersonStatus("us_person", "us_entity", evidence, "Entity organised under U.S. law.")
    located, location_evidence = located_in_us(facts, policy)
    if located:
        return PersonStatus(
            "us_person",
            "located_in_us",
            location_evidence,
            "Located in the United States: " + ", ".join(location_evidence) + ".",
        )
    signals = _foreign_signals(facts)
    notes: list[str] = []
    unverified = [
        item.kind
        for item in facts.citizenship_evidence
        if not item.verified and (item.kind in US_CITIZENSHIP_KINDS or item.kind == "permanent_resident_card")
    ]
    if unverified:
        notes.append("unverified U.S. documents do not decide: " + ", ".join(sorted(set(unverified))))
    if any(_norm(item.country) == "US" for item in facts.location_evidence) or _norm(facts.address_country) == "US":
        notes.append("U.S. location evidence does not meet the location policy (IP alone never does)")
    if (
        facts.kind == "entity"
        and _norm(facts.parent_country) == "US"
        and _norm(facts.formation_country) not in (None, "US")
    ):
        notes.append("a foreign subsidiary of a U.S. company is a foreign person")
    if facts.kind == "entity" and facts.ein_valid and _norm(facts.formation_country) != "US":
        notes.append("an EIN alone does not make an entity a U.S. person")
    suffix = (" " + "; ".join(notes) + ".") if notes else ""
    if signals:
        return PersonStatus(
            "foreign_person", "foreign", signals, "Foreign person: " + ", ".join(signals) + "." + suffix
        )
    return PersonStatus(
        "foreign_person", "undetermined", [], "Status undetermined, treated as a foreign person." + suffix
    )
