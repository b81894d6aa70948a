"""Where a person is connected to, from all the evidence at hand (D2), for screening and measures (D1, D4).

Served requirements: D2 (location from address, ID-issuing country, nationality, phone country, IP
history, payment country and IBAN country, not one field), D1/D4 (every jurisdiction a special
measure might name, including ISO 3166-2 subdivisions and named sanctioned regions), A2 (IP location
alone never settles where a person is).

``locate(evidence)`` returns every jurisdiction the person is connected to:

- ISO 3166-1 alpha-2 countries from every item;
- the ISO 3166-2 subdivision of the address, where one is given (``UA-43``), and of Ukrainian
  fixed-line and Crimean phone prefixes (``PHONE_SUBDIVISIONS``);
- the named sanctioned regions those subdivisions belong to (``SANCTIONED_REGIONS``: UA-43 and UA-40
  are ``crimea``, UA-14 ``dnr``, UA-09 ``lnr``).

Each ``Jurisdiction`` has a ``strength`` (the strongest of its items: ``strong`` for the address,
an ID document's issuing country and nationality; ``supporting`` for phone, payment card issuer and
IBAN; ``weak`` for IP addresses) and the **names** of the evidence fields behind it, never their
values. Items that cannot be read (an unknown country code, an unparseable phone number, IBAN or IP
address, a private IP) are left out: they point nowhere.

``primary_location(jurisdictions)`` picks the strongest-evidenced country: the highest weighted sum
of its non-IP evidence (``EVIDENCE_WEIGHTS``; the address weighs most), then the one holding the
address, then IP evidence as a tie-breaker only. A country seen from IP addresses alone is never the
primary location.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import phonenumbers
import pycountry
from iptocc import country_code as ip_country_code
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

Strength = Literal["strong", "supporting", "weak"]
JurisdictionKind = Literal["country", "subdivision", "region"]

STRENGTH_RANK: dict[str, int] = {"strong": 3, "supporting": 2, "weak": 1}

#: evidence field -> its strength
EVIDENCE_STRENGTH: dict[str, Strength] = {
    "address_country": "strong",
    "address_subdivision": "strong",
    "document_countries": "strong",
    "nationalities": "strong",
    "phone_number": "supporting",
    "card_issuer_countries": "supporting",
    "ibans": "supporting",
    "signup_ip": "weak",
    "access_ips": "weak",
}

#: evidence field -> its weight in ``primary_location`` (IP fields weigh nothing: tie-breakers only)
EVIDENCE_WEIGHTS: dict[str, int] = {
    "address_country": 4,
    "document_countries": 2,
    "nationalities": 2,
    "phone_number": 1,
    "card_issuer_countries": 1,
    "ibans": 1,
    "signup_ip": 0,
    "access_ips": 0,
}

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


@dataclass(frozen=True)
class LocationEvidence:
    """What is known that ties a person to places. Every field is optional.

    Countries are ISO 3166-1 alpha-2 (alpha-3 is accepted and converted); the address subdivision
    is ISO 3166-2, in full (``UA-43``) or after the dash (``43``); the phone number is international
    (``+380...``); IBANs are given whole (only their country is used).
    """

    address_country: str | None = None
    address_subdivision: str | None = None
    document_countries: Sequence[str] = ()
    nationalities: Sequence[str] = ()
    phone_number: str | None = None
    signup_ip: str | None = None
    access_ips: Sequence[str] = ()
    card_issuer_countries: Sequence[str] = ()
    ibans: Sequence[str] = ()


@dataclass(frozen=True)
class Jurisdiction:
    """One place a person is connected to, how strongly, and which evidence fields say so."""

    code: str  # "UA", "UA-43" or "crimea"
    kind: JurisdictionKind
    country: str  # the alpha-2 country the jurisdiction lies in
    strength: Strength
    evidence: tuple[str, ...]  # field names, strongest first; never values
    items: int = field(default=1)  # how many evidence items point here

    @property
    def weight(self) -> int:
        """The weighted sum of the distinct non-IP evidence fields (``EVIDENCE_WEIGHTS``)."""
        return sum(EVIDENCE_WEIGHTS.get(name, 0) for name in self.evidence)


# -- reading each kind of evidence ---------------------------------------------------------------------
def _country(value: str | None) -> str | None:
    if not isinstance(value, str):
        return None
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
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None, None
    region = phonenumbers.region_code_for_number(parsed)
    country = _country(region) if region else None
    if country is None:
        return None, None
    digits = f"{parsed.country_code}{parsed.national_number}"
    for prefix in sorted(PHONE_SUBDIVISIONS, key=len, reverse=True):
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
        self.fields: dict[tuple[JurisdictionKind, str], list[str]] = {}  # (kind, code) -> field names, one per item
        self.country_of: dict[tuple[JurisdictionKind, str], str] = {}

    def add(self, kind: JurisdictionKind, code: str | None, country: str | None, field_name: str) -> None:
        if code is None or country is None:
            return
        key: tuple[JurisdictionKind, str] = (kind, code)
        self.fields.setdefault(key, []).append(field_name)
        self.country_of[key] = country

    def add_subdivision(self, subdivision: str | None, field_name: str) -> None:
        if subdivision is None:
            return
        country = subdivision.split("-", 1)[0]
        self.add("subdivision", subdivision, country, field_name)
        self.add("region", SANCTIONED_REGIONS.get(subdivision), country, field_name)

    def jurisdictions(self) -> list[Jurisdiction]:
        found: list[Jurisdiction] = []
        for (kind, code), names in self.fields.items():
            distinct = sorted(set(names), key=lambda name: (-STRENGTH_RANK[EVIDENCE_STRENGTH[name]], name))
            strength = EVIDENCE_STRENGTH[distinct[0]]
            found.append(Jurisdiction(code, kind, self.country_of[(kind, code)], strength, tuple(distinct), len(names)))
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
    for value in _many(evidence.nationalities):
        code = _country(value)
        gathered.add("country", code, code, "nationalities")
    phone_country, phone_subdivision = _phone(evidence.phone_number)
    gathered.add("country", phone_country, phone_country, "phone_number")
    gathered.add_subdivision(phone_subdivision, "phone_number")
    for value in _many(evidence.card_issuer_countries):
        code = _country(value)
        gathered.add("country", code, code, "card_issuer_countries")
    for value in _many(evidence.ibans):
        code = _iban(value)
        gathered.add("country", code, code, "ibans")
    signup = _ip(evidence.signup_ip)
    gathered.add("country", signup, signup, "signup_ip")
    for value in _many(evidence.access_ips):
        code = _ip(value)
        gathered.add("country", code, code, "access_ips")
    return gathered.jurisdictions()


def primary_location(jurisdictions: Sequence[Jurisdiction]) -> str | None:
    """The strongest-evidenced country (alpha-2), or None; IP evidence alone never decides."""
    candidates = [j for j in jurisdictions if j.kind == "country" and j.weight > 0]
    if not candidates:
        return None
    best = min(
        candidates,
        key=lambda j: (
            -j.weight,
            "address_country" not in j.evidence,
            not ({"signup_ip", "access_ips"} & set(j.evidence)),
            -j.items,
            j.code,
        ),
    )
    return best.code
