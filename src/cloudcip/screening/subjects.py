"""The persons of a customer record as screening sees them: who is screened (the customer and each
beneficial owner), with what, and each one's standing for special measures (D1, D2, D3, D4).

Signup and re-screening build the same :class:`Subject` from the same fields, so the keyed hash of
a subject (``hits.subject_hash``) is the same whichever found a hit: a false positive cleared at signup
stays cleared when re-screening meets the same record and entry (D5).

``standings_of(record, access_history)`` gives each person's :class:`~cloudcip.screening.reach.Standing`
from a stored record: the stored U.S./foreign determination (``person_status``; a record without one
is determined from its own facts, and undetermined counts as foreign, A2) and the location decision
of D2 from the record's evidence plus the account's access history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cloudcip.identity.us_person import LocationIndicator, PersonFacts, determine_person_status
from cloudcip.screening.location import LocationDecision, LocationEvidence, decide_location
from cloudcip.screening.matcher import QuerySchema
from cloudcip.screening.reach import Standing


@dataclass(frozen=True)
class Subject:
    """One screened person or entity of a customer record (fields held in memory only)."""

    subject_type: str
    subject_id: str
    name: str
    schema: QuerySchema
    birth_date: str | None
    nationality: str | None
    document_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    wallets: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "birth_date": self.birth_date,
                "nationality": self.nationality, "documents": sorted(self.document_numbers),
                "emails": sorted(self.emails), "wallets": sorted(self.wallets)}


def person_name(name: Any) -> str:
    """``given middle family`` of a name mapping (or the text itself)."""
    if isinstance(name, dict):
        parts = [name.get("given"), name.get("middle"), name.get("family")]
        return " ".join(str(p) for p in parts if p)
    return str(name or "")


def subjects_of(record: dict[str, Any]) -> list[Subject]:
    """The customer and each beneficial owner of an (unmasked) customer record."""
    documents = tuple(
        str(d["number"]) for d in record.get("documents", [])
        if d.get("number") and d.get("beneficial_owner_id") is None
    )
    wallets = tuple(str(m["number"]) for m in record.get("payment_means", [])
                    if m.get("type") == "crypto_wallet" and m.get("number"))
    emails = (str(record["email"]),) if record.get("email") else ()
    found: list[Subject] = []
    if record.get("kind") == "entity":
        found.append(Subject("customer", record["id"], str(record.get("legal_name") or ""), "Organization",
                             None, None, documents, emails, wallets))
        for owner in record.get("beneficial_owners", []):
            owner_docs = tuple(str(d["number"]) for d in record.get("documents", [])
                               if d.get("beneficial_owner_id") == owner["id"] and d.get("number"))
            found.append(Subject("beneficial_owner", owner["id"], person_name(owner.get("name")), "Person",
                                 owner.get("birth_date"), owner.get("nationality"), owner_docs))
    else:
        found.append(Subject("customer", record["id"], person_name(record.get("name")), "Person",
                             record.get("birth_date"), record.get("nationality"), documents, emails, wallets))
    return found


def customer_location_evidence(record: dict[str, Any], access_history: Mapping[str, int] | None = None
                               ) -> LocationEvidence:
    """D2 evidence of the customer of a stored record (address, documents, registration, nationality,
    phone, card and IBAN countries) plus the account's access history (country -> days)."""
    address = record.get("address") or {}
    documents = [str(d["country"]) for d in record.get("documents", [])
                 if d.get("country") and d.get("beneficial_owner_id") is None and d.get("kind") != "registration"]
    registration = (record.get("registration") or {}).get("country")
    cards = [str(m["country"]) for m in record.get("payment_means", [])
             if m.get("country") and m.get("type") == "card"]
    ibans = [str(m["number"]) for m in record.get("payment_means", [])
             if m.get("type") == "bank_account" and m.get("number")]
    banks = [str(m["country"]) for m in record.get("payment_means", [])
             if m.get("type") == "bank_account" and m.get("country") and not m.get("number")]
    return LocationEvidence(
        address_country=address.get("country"), address_subdivision=address.get("subdivision"),
        document_countries=documents, registration_country=registration if record.get("kind") == "entity" else None,
        nationalities=[record["nationality"]] if record.get("nationality") and record.get("kind") != "entity" else [],
        phone_number=record.get("phone"), card_issuer_countries=cards + banks, ibans=ibans,
        access_history=dict(access_history or {}),
    )


def owner_location_evidence(record: dict[str, Any], owner: dict[str, Any]) -> LocationEvidence:
    """D2 evidence of one beneficial owner: residence, the owner's documents, nationality."""
    documents = [str(d["country"]) for d in record.get("documents", [])
                 if d.get("beneficial_owner_id") == owner.get("id") and d.get("country")]
    return LocationEvidence(address_country=owner.get("residence_country"), document_countries=documents,
                            nationalities=[owner["nationality"]] if owner.get("nationality") else [])


def _determined(stored: Any, facts: PersonFacts) -> tuple[str, str]:
    """The stored determination (status, basis) when there is one, else one from the record's facts."""
    if isinstance(stored, dict) and stored.get("status") in ("us_person", "foreign_person"):
        return str(stored["status"]), str(stored.get("basis") or "undetermined")
    status = determine_person_status(facts)
    return status.status, status.basis


#: D2 evidence fields and the A2 location-evidence types they are (``identity.us_person``)
_US_EVIDENCE_TYPES: dict[str, str] = {
    "address_country": "address", "phone_number": "phone", "card_issuer_countries": "payment",
    "ibans": "bank_account", "document_countries": "id_document",
}


def us_location_evidence(decision: LocationDecision) -> list[LocationIndicator]:
    """The A2 location evidence pointing to the United States, read off a D2 decision."""
    finding = decision.finding("US")
    if finding is None:
        return []
    return [LocationIndicator(_US_EVIDENCE_TYPES[item.field], "US") for item in finding.evidence
            if item.field in _US_EVIDENCE_TYPES]


def standings_of(record: dict[str, Any], access_history: Mapping[str, int] | None = None) -> dict[str, Standing]:
    """Each person's standing for measures, by subject id (the customer id, each owner's id) (D1, D2)."""
    evidence = customer_location_evidence(record, access_history)
    decision = decide_location(evidence)
    facts = PersonFacts(kind="entity" if record.get("kind") == "entity" else "individual",
                        nationality=evidence.nationalities[0] if evidence.nationalities else None,
                        formation_country=evidence.registration_country,
                        address_country=evidence.address_country, location_evidence=us_location_evidence(decision))
    status, basis = _determined(record.get("person_status"), facts)
    standings = {str(record["id"]): Standing("customer", status, basis, decision)}
    for owner in record.get("beneficial_owners", []):
        owner_decision = decide_location(owner_location_evidence(record, owner))
        owner_facts = PersonFacts(kind="individual", nationality=owner.get("nationality"),
                                  address_country=owner.get("residence_country"),
                                  location_evidence=us_location_evidence(owner_decision))
        status, basis = _determined(owner.get("person_status"), owner_facts)
        standings[str(owner["id"])] = Standing(f"beneficial_owner:{owner['id']}", status, basis, owner_decision)
    return standings
