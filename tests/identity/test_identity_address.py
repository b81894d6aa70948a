"""Countries, subdivisions, postal codes and date-of-birth plausibility (A3, A4)."""

from __future__ import annotations

from datetime import date

import pytest

from cloudcip.identity import (
    IdentityFieldError,
    age_on,
    normalize_country,
    normalize_subdivision,
    validate_address,
    validate_birth_date,
)

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(("given", "expected"), [("de", "DE"), (" US ", "US"), ("Br", "BR")])
def test_countries(given: str, expected: str) -> None:
    """A3: ISO alpha-2 codes are accepted in any case and upper-cased."""
    assert normalize_country(given, "address.country") == expected


@pytest.mark.parametrize(
    ("given", "reason"), [("DEU", "alpha-2"), ("ZZ", "assigned"), ("", "empty"), ("1A", "alpha-2")]
)
def test_bad_countries(given: str, reason: str) -> None:
    """A3: alpha-3 codes, unassigned codes and blanks are refused."""
    with pytest.raises(IdentityFieldError, match=reason):
        normalize_country(given, "address.country")


def test_subdivisions_must_belong_to_the_country() -> None:
    """A3: subdivision codes come from ISO 3166-2 and must be of the stated country."""
    assert normalize_subdivision("US", "ca", "address.subdivision") == "US-CA"
    assert normalize_subdivision("DE", "DE-BY", "address.subdivision") == "DE-BY"
    assert normalize_subdivision("GB", "GB-ENG", "address.subdivision") == "GB-ENG"
    with pytest.raises(IdentityFieldError, match="does not belong to country US"):
        normalize_subdivision("US", "DE-BY", "address.subdivision")
    with pytest.raises(IdentityFieldError, match="not an ISO 3166-2 subdivision of US"):
        normalize_subdivision("US", "ZZ", "address.subdivision")


def test_full_address_collects_every_problem() -> None:
    """A3: one call reports every bad part of an address under its own dotted path."""
    good = validate_address(["1 Main St", " Apt 2 "], "Springfield", "us", "field", "IL", " 62701 ")
    assert good.lines == ("1 Main St", "Apt 2") and good.country == "US"
    assert good.subdivision == "US-IL" and good.postal_code == "62701"
    with pytest.raises(IdentityFieldError) as caught:
        validate_address([], " ", "XX", "beneficial_owners.0.address", None, "")
    fields = [problem.field for problem in caught.value.problems]
    assert fields == [
        "beneficial_owners.0.address.lines",
        "beneficial_owners.0.address.city",
        "beneficial_owners.0.address.country",
        "beneficial_owners.0.address.postal_code",
    ]
    assert (
        validate_address(["Main Road"], "Dublin", "IE", "a", postal_code=None, postal_code_required=False).postal_code
        is None
    )


@pytest.mark.parametrize(
    ("birth", "expected_age"),
    [(date(1974, 8, 12), 52), ("2000-11-28", 26), ("2000-11-29", 25), (TODAY, 0), ("1906-11-27", 120)],
)
def test_plausible_birth_dates(birth: date | str, expected_age: int) -> None:
    """A4: dates of birth up to today and ages 0-120 are plausible."""
    parsed = validate_birth_date(birth, "birth_date", TODAY)
    assert age_on(parsed, TODAY) == expected_age


@pytest.mark.parametrize(
    ("birth", "reason"),
    [
        ("2026-11-29", "future"),
        ("1905-11-27", "over 120"),
        ("2026-02-30", "calendar date"),
        ("28/11/1990", "YYYY-MM-DD"),
    ],
)
def test_implausible_birth_dates(birth: str, reason: str) -> None:
    """A4: future, impossible, malformed and over-120 dates fail, without echoing the date."""
    with pytest.raises(IdentityFieldError, match=reason) as caught:
        validate_birth_date(birth, "beneficial_owners.1.birth_date", TODAY)
    assert caught.value.problems[0].field == "beneficial_owners.1.birth_date"
    assert birth not in str(caught.value)


def test_minimum_age_is_a_parameter() -> None:
    """A4: an account holder's minimum age is set by the caller (default 0)."""
    assert validate_birth_date("2015-01-01", "birth_date", TODAY) == date(2015, 1, 1)
    with pytest.raises(IdentityFieldError, match="minimum of 13"):
        validate_birth_date("2015-01-01", "birth_date", TODAY, minimum_age=13)
    assert validate_birth_date("2013-11-28", "birth_date", TODAY, minimum_age=13) == date(2013, 11, 28)
