"""The location decision (D2): where a person is located, from all the evidence, per jurisdiction.

Served requirements: D2 (location from address, ID-issuing country, nationality, phone country, IP
history, payment country and IBAN country, not one field), D1/D4 (a jurisdiction measure reaches a
foreign person *located* in the jurisdiction: countries, ISO 3166-2 subdivisions and named sanctioned
regions), A2 (IP location alone never settles where a person is). The rule is written for examiners
in ``docs/location.md``; every row of its table is a case of ``tests/screening/location_cases.yaml``.

``locate(evidence)`` gathers every jurisdiction the evidence connects the person to (countries; the
ISO 3166-2 subdivision of the address and of Ukrainian and Crimean phone prefixes (a Crimean prefix in
Russian numbering places the number in Ukraine's UA-43, not in Russia); the named regions
those lie in) with the **names** of the evidence fields behind each and their strength, never values:

====================================  ========  ======
evidence                              strength  points
====================================  ========  ======
address (country, subdivision)        strong    4
ID document's issuing country         strong    3
entity's registration country         strong    3
phone number's country                medium    2
payment card issuer's country         medium    2
IBAN's country                        medium    2
nationality                           weak      1
signup IP address (one address)       weak      1 (0 from a hosting, VPN or Tor address)
access IP addresses (single events)   weak      1
access history's persistent country   weak/medium/strong by days seen: 1-6 / 7-29 / 30+
====================================  ========  ======

``decide_location(evidence)`` turns that into one verdict per jurisdiction:

- each field counts once per jurisdiction (two cards from one country are one item); a country's
  points are those of the distinct fields pointing into it (its subdivisions included);
- the **primary** country has the most points; a tie goes to the country of the address, then to
  the one with more strong items; a country seen only from IP addresses is never primary;
- ``located``: the primary country when it has at least one strong item; a subdivision or region
  when its country is located and the address lies in it;
- ``not_located``: a jurisdiction whose evidence is a single weak item (or none that counts) while
  the person is located elsewhere;
- ``unresolved``: everything else: a strong item that loses to another country, medium evidence, two
  weak items, or any evidence when nothing locates the person. A measure on an unresolved
  jurisdiction sends the case to review with enhanced verification, naming the evidence.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import phonenumbers
import pycountry
from iptocc import country_code as ip_country_code
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from cloudcip.identity.contact import parse_international

Strength = Literal["strong", "medium", "weak"]
JurisdictionKind = Literal["country", "subdivision", "region"]
Verdict = Literal["located", "unresolved", "not_located"]

STRENGTH_RANK: dict[str, int] = {"strong": 3, "medium": 2, "weak": 1}
#: what an item of each strength counts towards a jurisdiction
POINTS: dict[str, int] = {"strong": 3, "medium": 2, "weak": 1}
#: the address anchors location: it counts one more than the other strong evidence
FIELD_POINTS: dict[str, int] = {"address_country": 4, "address_subdivision": 4}
VERDICT_RANK: dict[str, int] = {"located": 2, "unresolved": 1, "not_located": 0}

#: evidence field -> its strength (``access_history`` depends on the days seen: ``history_strength``)
EVIDENCE_STRENGTH: dict[str, Strength] = {
    "address_country": "strong",
    "address_subdivision": "strong",
    "document_countries": "strong",
    "registration_country": "strong",
    "phone_number": "medium",
    "card_issuer_countries": "medium",
    "ibans": "medium",
    "nationalities": "weak",
    "signup_ip": "weak",
    "access_ips": "weak",
    "access_history": "weak",
}
#: fields that are IP evidence: they never make a country primary on their own
IP_FIELDS: frozenset[str] = frozenset({"signup_ip", "access_ips", "access_history"})
#: days of access from one country after which the access history is medium, then strong evidence
HISTORY_DAYS: dict[str, int] = {"medium": 7, "strong": 30}
#: the address is one item, whether it names the country, the subdivision or both
_GROUP: dict[str, str] = {"address_country": "address", "address_subdivision": "address"}

#: named regions under sanctions programs, by the ISO 3166-2 subdivisions they lie in
SANCTIONED_REGIONS: dict[str, str] = {
    "UA-43": "crimea",  # Autonomous Republic of Crimea
    "UA-40": "crimea",  # Sevastopol
    "UA-14": "dnr",  # Donetsk oblast: the so-called Donetsk People's Republic
    "UA-09": "lnr",  # Luhansk oblast: the so-called Luhansk People's Republic
}

#: international phone prefixes (digits after "+") that place a number in one of those subdivisions
PHONE_SUBDIVISIONS: dict[str, str] = {
    "38065": "UA-43",  # Crimea, Ukrainian numbering
    "380692": "UA-40",  # Sevastopol, Ukrainian numbering
    "38062": "UA-14",  # Donetsk oblast
    "38064": "UA-09",  # Luhansk oblast
    "7365": "UA-43",  # Crimea, Russian numbering since 2015
    "7978": "UA-43",  # Crimean mobile operators, Russian numbering
    "7869": "UA-40",  # Sevastopol, Russian numbering
}

# user-assigned codes that registries (and IBANs) use as countries
_EXTRA_COUNTRIES = frozenset({"XK"})


def history_strength(days: int) -> Strength:
    """The strength of ``days`` of access from one country (D2: it counts as it accumulates)."""
    if days >= HISTORY_DAYS["strong"]:
        return "strong"
    if days >= HISTORY_DAYS["medium"]:
        return "medium"
    return "weak"


@dataclass(frozen=True)
class LocationEvidence:
    """What is known that ties a person to places. Every field is optional.

    Countries are ISO 3166-1 alpha-2 (alpha-3 is accepted and converted); the address subdivision
    is ISO 3166-2, in full (``UA-43``) or after the dash (``43``); the phone number is international
    (``+380...``); IBANs are given whole (only their country is used). ``access_history`` maps a
    country to the days the account was accessed from it (hosting, VPN and Tor addresses left out);
    ``signup_ip_anonymous`` says the signup address is a hosting, VPN or Tor address, which counts
    for nothing.
    """

    address_country: str | None = None
    address_subdivision: str | None = None
    document_countries: Sequence[str] = ()
    registration_country: str | None = None
    nationalities: Sequence[str] = ()
    phone_number: str | None = None
    signup_ip: str | None = None
    signup_ip_anonymous: bool = False
    access_ips: Sequence[str] = ()
    access_history: Mapping[str, int] = field(default_factory=dict)
    card_issuer_countries: Sequence[str] = ()
    ibans: Sequence[str] = ()


@dataclass(frozen=True)
class EvidenceItem:
    """One evidence field behind a jurisdiction, its strength and what it counts (names, never values)."""

    field: str
    strength: Strength
    points: int

    @property
    def label(self) -> str:
        return f"{self.field} ({self.strength})" if self.points else f"{self.field} (not counted)"


@dataclass(frozen=True)
class Jurisdiction:
    """One place a person is connected to, how strongly, and which evidence fields say so."""

    code: str  # "UA", "UA-43" or "crimea"
    kind: JurisdictionKind
    country: str  # the alpha-2 country the jurisdiction lies in
    strength: Strength
    evidence: tuple[str, ...]  # field names, strongest first; never values
    items: int = 1  # how many evidence items point here
    details: tuple[EvidenceItem, ...] = ()  # each distinct field with its strength and points

    @property
    def weight(self) -> int:
        """The points of the distinct fields (the address counted once)."""
        return _points(self.details)

    @property
    def has_strong(self) -> bool:
        return any(item.strength == "strong" and item.points for item in self.details)


def _points(details: Iterable[EvidenceItem]) -> int:
    best: dict[str, int] = {}
    for item in details:
        group = _GROUP.get(item.field, item.field)
        best[group] = max(best.get(group, 0), item.points)
    return sum(best.values())


#: the prefixes longest first, so the most precise one places the number
_PHONE_PREFIXES: tuple[str, ...] = tuple(sorted(PHONE_SUBDIVISIONS, key=len, reverse=True))


# -- reading each kind of evidence ---------------------------------------------------------------------
def _country(value: str | None) -> str | None:
    return _country_of(value) if isinstance(value, str) else None


@lru_cache(maxsize=1024)
def _country_of(value: str) -> str | None:
    """The alpha-2 country ``value`` names (alpha-2 or alpha-3, any case), or None; remembered: the
    same few hundred codes come with every person's evidence."""
    text = value.strip().upper()
    if text in _EXTRA_COUNTRIES:
        return text
    if len(text) == 2 and text.isalpha():
        return text if pycountry.countries.get(alpha_2=text) is not None else None
    if len(text) == 3 and text.isalpha():
        record = pycountry.countries.get(alpha_3=text)
        return None if record is None else str(record.alpha_2)
    return None


def _subdivision(country: str | None, value: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().upper().replace(" ", "")
    if country is None and "-" not in text:
        return None
    code = text if "-" in text else f"{country}-{text}"
    if country is not None and not code.startswith(country + "-"):
        return None
    found = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    return code if found is not None else None


def _phone(number: str | None) -> tuple[str | None, str | None]:
    """The phone number's country, and the subdivision its prefix places it in (if any)."""
    if not isinstance(number, str) or not number.strip():
        return None, None
    parsed = parse_international(number)  # the number as the signup's validation parsed it
    if parsed is None:
        return None, None
    region = phonenumbers.region_code_for_number(parsed)
    country = _country(region) if region else None
    if country is None:
        return None, None
    digits = f"{parsed.country_code}{parsed.national_number}"
    for prefix in _PHONE_PREFIXES:
        if digits.startswith(prefix):
            return country, PHONE_SUBDIVISIONS[prefix]
    return country, None


def _ip(address: str | None) -> str | None:
    if not isinstance(address, str):
        return None
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if not parsed.is_global:
        return None
    return _country(ip_country_code(str(parsed)))


def _iban(value: str | None) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return _country(IBAN(value).country_code)
    except (SchwiftyException, ValueError):
        return None


def _many(values: Sequence[str] | str | None) -> Iterable[str]:
    if values is None:
        return ()
    if isinstance(values, str):  # one value given where a list was expected
        return (values,)
    return values


# -- gathering -----------------------------------------------------------------------------------------
class _Gathered:
    def __init__(self) -> None:
        # (kind, code) -> one (field, strength, points) per item
        self.items: dict[tuple[JurisdictionKind, str], list[EvidenceItem]] = {}
        self.country_of: dict[tuple[JurisdictionKind, str], str] = {}

    def add(self, kind: JurisdictionKind, code: str | None, country: str | None, field_name: str,
            strength: Strength | None = None, counted: bool = True) -> None:
        if code is None or country is None:
            return
        key: tuple[JurisdictionKind, str] = (kind, code)
        level = strength or EVIDENCE_STRENGTH[field_name]
        points = FIELD_POINTS.get(field_name, POINTS[level]) if counted else 0
        self.items.setdefault(key, []).append(EvidenceItem(field_name, level, points))
        self.country_of[key] = country

    def add_subdivision(self, subdivision: str | None, field_name: str) -> None:
        if subdivision is None:
            return
        country = subdivision.split("-", 1)[0]
        self.add("subdivision", subdivision, country, field_name)
        self.add("region", SANCTIONED_REGIONS.get(subdivision), country, field_name)

    def jurisdictions(self) -> list[Jurisdiction]:
        found: list[Jurisdiction] = []
        for (kind, code), items in self.items.items():
            best: dict[str, EvidenceItem] = {}
            for item in items:
                held = best.get(item.field)
                if held is None or (item.points, STRENGTH_RANK[item.strength]) > (held.points,
                                                                                  STRENGTH_RANK[held.strength]):
                    best[item.field] = item
            details = tuple(sorted(best.values(), key=lambda i: (-STRENGTH_RANK[i.strength], -i.points, i.field)))
            found.append(Jurisdiction(code, kind, self.country_of[(kind, code)], details[0].strength,
                                      tuple(item.field for item in details), len(items), details))
        kind_order = {"country": 0, "subdivision": 1, "region": 2}
        found.sort(key=lambda j: (-STRENGTH_RANK[j.strength], -j.weight, -j.items, kind_order[j.kind], j.code))
        return found


def locate(evidence: LocationEvidence) -> list[Jurisdiction]:
    """Every jurisdiction the evidence connects the person to, strongest first (see the module docstring)."""
    gathered = _Gathered()
    address_country = _country(evidence.address_country)
    gathered.add("country", address_country, address_country, "address_country")
    address_subdivision = _subdivision(address_country, evidence.address_subdivision)
    gathered.add_subdivision(address_subdivision, "address_subdivision")
    if address_country is None and address_subdivision is not None:  # a full ISO 3166-2 code names its country
        country = address_subdivision.split("-", 1)[0]
        gathered.add("country", country, country, "address_subdivision")
    for value in _many(evidence.document_countries):
        code = _country(value)
        gathered.add("country", code, code, "document_countries")
    registration = _country(evidence.registration_country)
    gathered.add("country", registration, registration, "registration_country")
    for value in _many(evidence.nationalities):
        code = _country(value)
        gathered.add("country", code, code, "nationalities")
    phone_country, phone_subdivision = _phone(evidence.phone_number)
    if phone_subdivision is not None:  # a prefix that places the number (Crimea in Russian numbering) wins
        phone_country = phone_subdivision.split("-", 1)[0]
    gathered.add("country", phone_country, phone_country, "phone_number")
    gathered.add_subdivision(phone_subdivision, "phone_number")
    for value in _many(evidence.card_issuer_countries):
        code = _country(value)
        gathered.add("country", code, code, "card_issuer_countries")
    for value in _many(evidence.ibans):
        code = _iban(value)
        gathered.add("country", code, code, "ibans")
    signup = _ip(evidence.signup_ip)
    gathered.add("country", signup, signup, "signup_ip", counted=not evidence.signup_ip_anonymous)
    for value in _many(evidence.access_ips):
        code = _ip(value)
        gathered.add("country", code, code, "access_ips")
    for value, days in (evidence.access_history or {}).items():
        code = _country(value)
        if days > 0:
            gathered.add("country", code, code, "access_history", history_strength(days))
    return gathered.jurisdictions()


# -- the decision ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    """The verdict on one jurisdiction, the points it rests on and the evidence behind them."""

    code: str
    kind: JurisdictionKind
    country: str
    verdict: Verdict
    points: int
    evidence: tuple[EvidenceItem, ...]

    @property
    def evidence_text(self) -> str:
        """``address_country (strong), nationalities (weak)``: names and strengths only."""
        return ", ".join(item.label for item in self.evidence)

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind, "verdict": self.verdict, "points": self.points,
                "evidence": [{"field": item.field, "strength": item.strength, "points": item.points}
                             for item in self.evidence]}


@dataclass(frozen=True)
class LocationDecision:
    """Where the person is located (``located_in``: a country, or ``None`` when nothing locates them)
    and the verdict on every jurisdiction the evidence touches (D2)."""

    located_in: str | None
    findings: tuple[Finding, ...] = ()

    @property
    def codes(self) -> list[str]:
        """Every jurisdiction the evidence touches (located or not), strongest first."""
        return [finding.code for finding in self.findings]

    def finding(self, code: str) -> Finding | None:
        wanted = code.upper()
        return next((f for f in self.findings if f.code.upper() == wanted), None)

    def for_measure(self, covered: Iterable[str]) -> Finding | None:
        """The strongest verdict among the jurisdictions a measure covers (its country, subdivision or
        region codes); ``None`` when the evidence touches none of them. A country-wide measure covers
        that country's subdivisions through the country's own finding."""
        wanted = {code.upper() for code in covered}
        matching = [f for f in self.findings if f.code.upper() in wanted]
        if not matching:
            return None
        return max(matching, key=lambda f: (VERDICT_RANK[f.verdict], f.points))

    def as_json(self) -> dict[str, Any]:
        return {"located_in": self.located_in, "findings": [f.as_json() for f in self.findings]}


NOWHERE = LocationDecision(None, ())


def _primary(countries: Sequence[Jurisdiction]) -> Jurisdiction | None:
    candidates = [j for j in countries if j.weight > 0 and any(i.field not in IP_FIELDS and i.points
                                                               for i in j.details)]
    if not candidates:
        return None
    return min(candidates, key=lambda j: (
        -j.weight,
        not ({"address_country", "address_subdivision"} & set(j.evidence)),
        -sum(1 for i in j.details if i.strength == "strong" and i.points),
        -j.items,
        j.code,
    ))


def decide_location(evidence: LocationEvidence) -> LocationDecision:
    """The location decision of D2 for one person (rule: the module docstring, ``docs/location.md``).

    Evidence of countries and subdivisions only (a beneficial owner's address, documents and
    nationality: no phone number, IP address or IBAN) comes in few combinations: its decision, which
    is immutable, is remembered (``_decided_by_countries``)."""
    if any(getattr(evidence, name) for name in DECIDED_AFRESH):
        return _decided(evidence)
    try:
        return _decided_by_countries(evidence.address_country, evidence.address_subdivision,
                                     tuple(_many(evidence.document_countries)), evidence.registration_country,
                                     tuple(_many(evidence.nationalities)), tuple(_many(evidence.card_issuer_countries)))
    except TypeError:  # a value that cannot be remembered (not a code): decided as it is
        return _decided(evidence)


# the evidence fields that make a decision be taken afresh, and those its remembered decision is keyed
# by (``_decided_by_countries``'s parameters): between them every field of ``LocationEvidence`` (a test
# holds them to it, so a new field cannot be left out of the key)
DECIDED_AFRESH = ("phone_number", "signup_ip", "signup_ip_anonymous", "access_ips", "access_history", "ibans")
REMEMBERED_BY = ("address_country", "address_subdivision", "document_countries", "registration_country",
                 "nationalities", "card_issuer_countries")


@lru_cache(maxsize=1024)
def _decided_by_countries(address_country: str | None, address_subdivision: str | None,
                          document_countries: tuple[str, ...], registration_country: str | None,
                          nationalities: tuple[str, ...], card_issuer_countries: tuple[str, ...]) -> LocationDecision:
    return _decided(LocationEvidence(
        address_country=address_country, address_subdivision=address_subdivision,
        document_countries=document_countries, registration_country=registration_country,
        nationalities=nationalities, card_issuer_countries=card_issuer_countries))


def _decided(evidence: LocationEvidence) -> LocationDecision:
    found = locate(evidence)
    if not found:
        return NOWHERE
    by_country: dict[str, list[EvidenceItem]] = {}
    for jurisdiction in found:  # a country's points take in the items pointing into its subdivisions
        if jurisdiction.kind != "region":
            by_country.setdefault(jurisdiction.country, []).extend(jurisdiction.details)
    countries = [Jurisdiction(code, "country", code, "weak", tuple(dict.fromkeys(i.field for i in items)),
                              len(items), _distinct(items)) for code, items in by_country.items()]
    primary = _primary(countries)
    located = primary.code if primary is not None and primary.has_strong else None
    country_points = {c.code: c.weight for c in countries}
    findings: list[Finding] = []
    for jurisdiction in found:
        if jurisdiction.kind == "country":
            points = country_points[jurisdiction.code]
            details = next(c.details for c in countries if c.code == jurisdiction.code)
            is_located = jurisdiction.code == located
        else:
            points = jurisdiction.weight
            details = jurisdiction.details
            is_located = jurisdiction.country == located and "address_subdivision" in jurisdiction.evidence
        if is_located:
            verdict: Verdict = "located"
        elif (located is not None and points <= POINTS["weak"] and not any(
                i.strength == "strong" and i.points for i in details)) or points == 0:
            verdict = "not_located"
        else:
            verdict = "unresolved"
        findings.append(Finding(jurisdiction.code, jurisdiction.kind, jurisdiction.country, verdict, points,
                                details))
    findings.sort(key=lambda f: (-VERDICT_RANK[f.verdict], -f.points, f.kind != "country", f.code))
    return LocationDecision(located, tuple(findings))


def _distinct(items: Iterable[EvidenceItem]) -> tuple[EvidenceItem, ...]:
    best: dict[str, EvidenceItem] = {}
    for item in items:
        held = best.get(item.field)
        if held is None or item.points > held.points:
            best[item.field] = item
    return tuple(sorted(best.values(), key=lambda i: (-STRENGTH_RANK[i.strength], -i.points, i.field)))


def primary_location(jurisdictions: Sequence[Jurisdiction]) -> str | None:
    """The strongest-evidenced country (alpha-2), or None; IP evidence alone never decides."""
    best = _primary([j for j in jurisdictions if j.kind == "country"])
    return best.code if best is not None else None
