"""Country, subdivision, postal code and birth-date checks (A3, A4).

A3 asks for the address of every foreign customer and beneficial owner; A4 asks that the date of
birth be plausible. Countries are ISO 3166-1 alpha-2 codes and subdivisions ISO 3166-2 codes, both
checked against the data pycountry ships. Dates are checked against an injected ``today`` so the
result does not depend on the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

import pycountry

from cloudcip.identity.problems import IdentityFieldError, ProblemCollector, fail, require_text

_ALPHA2 = re.compile(r"[A-Z]{2}")
_SUBDIVISION_SUFFIX = re.compile(r"[A-Z0-9]{1,3}")
_POSTAL_CODE = re.compile(r"[A-Z0-9][A-Z0-9 \-]{0,11}")
#: The oldest age accepted for a living person.
MAXIMUM_AGE_YEARS = 120


def normalize_country(country: str, field: str) -> str:
    """Return the ISO 3166-1 alpha-2 code of ``country`` (upper case), or raise a field problem."""
    text = require_text(country, field).upper()
    if not _ALPHA2.fullmatch(text):
        raise fail(field, "must be an ISO 3166-1 alpha-2 country code")
    if pycountry.countries.get(alpha_2=text) is None:
        raise fail(field, "is not an assigned ISO 3166-1 alpha-2 country code")
    return text


def country_name(country: str) -> str | None:
    """The English short name of an alpha-2 country code, or None when unknown."""
    record = pycountry.countries.get(alpha_2=country.upper()) if isinstance(country, str) else None
    return None if record is None else str(record.name)


@cache
def _subdivision_codes(country: str) -> frozenset[str]:
    found = pycountry.subdivisions.get(country_code=country)  # type: ignore[no-untyped-call]
    return frozenset(str(item.code) for item in found or ())


def normalize_subdivision(country: str, subdivision: str, field: str, country_field: str = "country") -> str:
    """Return the ISO 3166-2 code (``US-CA``) of a subdivision of ``country``.

    Accepts the full code (``US-CA``) or its part after the dash (``CA``). The subdivision must
    belong to the country.
    """
    alpha2 = normalize_country(country, country_field)
    text = require_text(subdivision, field).upper().replace(" ", "")
    code = text if "-" in text else f"{alpha2}-{text}"
    prefix, _, suffix = code.partition("-")
    if not _ALPHA2.fullmatch(prefix) or not _SUBDIVISION_SUFFIX.fullmatch(suffix):
        raise fail(field, "must be an ISO 3166-2 subdivision code")
    if prefix != alpha2:
        raise fail(field, f"subdivision does not belong to country {alpha2}")
    if code not in _subdivision_codes(alpha2):
        raise fail(field, f"is not an ISO 3166-2 subdivision of {alpha2}")
    return code


def normalize_postal_code(postal_code: str, field: str) -> str:
    """Return the postal code upper-cased with runs of spaces collapsed; it must not be empty."""
    text = " ".join(require_text(postal_code, field).upper().split())
    if not _POSTAL_CODE.fullmatch(text):
        raise fail(field, "must be 1 to 12 letters, digits, spaces or dashes starting with a letter or digit")
    return text


@dataclass(frozen=True)
class PostalAddress:
    """A checked address: lines as given (trimmed), ISO codes normalised."""

    lines: tuple[str, ...]
    city: str
    country: str
    subdivision: str | None
    postal_code: str | None


def validate_address(
    lines: list[str],
    city: str,
    country: str,
    field: str,
    subdivision: str | None = None,
    postal_code: str | None = None,
    postal_code_required: bool = True,
) -> PostalAddress:
    """Check an address whose parts sit under ``field`` (``address.lines.0``, ``address.country`` ...)."""
    collector = ProblemCollector()
    clean_lines: list[str] = []
    if not isinstance(lines, list | tuple) or not lines:
        collector.add(f"{field}.lines", "needs at least one address line")
    else:
        for index, line in enumerate(lines):
            try:
                clean_lines.append(require_text(line, f"{field}.lines.{index}"))
            except IdentityFieldError as error:
                collector.absorb(error)
    clean_city = ""
    try:
        clean_city = require_text(city, f"{field}.city")
    except IdentityFieldError as error:
        collector.absorb(error)
    alpha2 = ""
    try:
        alpha2 = normalize_country(country, f"{field}.country")
    except IdentityFieldError as error:
        collector.absorb(error)
    clean_subdivision: str | None = None
    if subdivision is not None and alpha2:
        try:
            clean_subdivision = normalize_subdivision(alpha2, subdivision, f"{field}.subdivision", f"{field}.country")
        except IdentityFieldError as error:
            collector.absorb(error)
    clean_postal: str | None = None
    if postal_code is None or (isinstance(postal_code, str) and not postal_code.strip()):
        if postal_code_required:
            collector.add(f"{field}.postal_code", "is empty")
    else:
        try:
            clean_postal = normalize_postal_code(postal_code, f"{field}.postal_code")
        except IdentityFieldError as error:
            collector.absorb(error)
    collector.raise_if_any()
    return PostalAddress(tuple(clean_lines), clean_city, alpha2, clean_subdivision, clean_postal)


def age_on(birth_date: date, today: date) -> int:
    """Whole years between ``birth_date`` and ``today``."""
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def parse_iso_date(value: str | date, field: str) -> date:
    """Accept a ``date`` or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, date):
        return value
    text = require_text(value, field)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise fail(field, "must be a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(field, "is not a calendar date") from None


def validate_birth_date(value: str | date, field: str, today: date, minimum_age: int = 0) -> date:
    """Check a date of birth is plausible on ``today``: not in the future, age ``minimum_age``..120."""
    birth_date = parse_iso_date(value, field)
    if birth_date > today:
        raise fail(field, "is in the future")
    age = age_on(birth_date, today)
    if age > MAXIMUM_AGE_YEARS:
        raise fail(field, f"gives an age over {MAXIMUM_AGE_YEARS} years")
    if age < minimum_age:
        raise fail(field, f"gives an age under the minimum of {minimum_age} years")
    return birth_date
