"""No input crashes a validator with anything but IdentityFieldError, and no error echoes the input (A3, A4)."""

from __future__ import annotations

import contextlib
import string
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudcip.identity import (
    NATIONAL_ID_SCHEMES,
    IdentityFieldError,
    normalize_country,
    normalize_postal_code,
    normalize_subdivision,
    parse_mrz,
    validate_bic,
    validate_birth_date,
    validate_card_expiry,
    validate_card_number,
    validate_ein,
    validate_email,
    validate_iban,
    validate_national_id,
    validate_phone,
    validate_registration,
    validate_wallet,
)

TODAY = date(2026, 11, 28)
FIELD = "customer.field"
MRZ_ALPHABET = string.ascii_uppercase + string.digits + "<"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

VALIDATORS: dict[str, Callable[[str], object]] = {
    "national_id_de": lambda text: validate_national_id("DE", text, FIELD),
    "national_id_es": lambda text: validate_national_id("ES", text, FIELD),
    "national_id_gb": lambda text: validate_national_id("GB", text, FIELD),
    "national_id_country": lambda text: validate_national_id(text, "12345", FIELD),
    "ein": lambda text: validate_ein(text, FIELD),
    "registration_fr": lambda text: validate_registration("FR", text, FIELD),
    "mrz": lambda text: parse_mrz(text, FIELD, TODAY),
    "phone": lambda text: validate_phone(text, FIELD),
    "phone_us": lambda text: validate_phone(text, FIELD, "US"),
    "email": lambda text: validate_email(text, FIELD),
    "card": lambda text: validate_card_number(text, FIELD),
    "card_expiry": lambda text: validate_card_expiry(text, FIELD, TODAY),
    "iban": lambda text: validate_iban(text, FIELD),
    "bic": lambda text: validate_bic(text, FIELD),
    "wallet": lambda text: validate_wallet(text, FIELD),
    "wallet_eth": lambda text: validate_wallet(text, FIELD, network="ethereum"),
    "country": lambda text: normalize_country(text, FIELD),
    "subdivision": lambda text: normalize_subdivision("US", text, FIELD),
    "postal_code": lambda text: normalize_postal_code(text, FIELD),
    "birth_date": lambda text: validate_birth_date(text, FIELD, TODAY),
}

# Text in general, plus text shaped like each field so the deeper checks are reached too.
SHAPED_TEXT = st.one_of(
    st.text(max_size=120),
    st.text(alphabet=string.digits + " -", min_size=8, max_size=24),
    st.text(alphabet=string.ascii_uppercase + string.digits, min_size=8, max_size=34),
    st.text(alphabet=BASE58, min_size=25, max_size=50),
    st.from_regex(r"\A(bc1|BC1|ltc1)[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{6,70}\Z"),
    st.from_regex(r"\A0x[0-9a-fA-F]{38,42}\Z"),
    st.from_regex(r"\A\+?[0-9 ()\-]{3,20}\Z"),
    st.from_regex(r"\A[A-Za-z0-9.+_\-]{1,20}@[A-Za-z0-9.\-]{1,20}\Z"),
    st.from_regex(r"\A\d{4}-\d{2}(-\d{2})?\Z"),
    st.builds(
        lambda a, b: a + "\n" + b,
        st.text(alphabet=MRZ_ALPHABET, min_size=44, max_size=44),
        st.text(alphabet=MRZ_ALPHABET, min_size=44, max_size=44),
    ),
    st.builds(lambda a, b, c: "\n".join((a, b, c)), *(st.text(alphabet=MRZ_ALPHABET, min_size=30, max_size=30),) * 3),
)


def _assert_no_echo(value: str, error: IdentityFieldError) -> None:
    message = str(error)
    assert (error.problems and all(problem.field == FIELD for problem in error.problems)) or "country" in message
    message = message.replace(FIELD, "")  # the field's name is ours: a value like "custom" is no echo of it
    stripped = value.strip()
    # A value of a few characters can coincide with ordinary words ("for", "IBAN"); from 6 on it must not appear.
    if len(stripped) >= 6:
        assert stripped not in message
        for line in stripped.splitlines():
            if len(line.strip()) >= 6:
                assert line.strip() not in message


@pytest.mark.parametrize("name", sorted(VALIDATORS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=SHAPED_TEXT)
def test_validators_raise_only_field_errors_without_echo(name: str, value: str) -> None:
    """A4: any text either validates or raises IdentityFieldError whose message never holds the text."""
    try:
        VALIDATORS[name](value)
    except IdentityFieldError as error:
        _assert_no_echo(value, error)


@settings(max_examples=300, deadline=None)
@given(
    country=st.sampled_from(sorted(NATIONAL_ID_SCHEMES)),
    value=st.text(alphabet=string.digits + string.ascii_uppercase + " -./", max_size=24),
)
def test_every_national_id_scheme_is_crash_free(country: str, value: str) -> None:
    """A4: every mapped stdnum scheme copes with any ID-shaped text."""
    try:
        check = validate_national_id(country, value, FIELD)
    except IdentityFieldError as error:
        _assert_no_echo(value, error)
    else:
        assert check.normalized and check.scheme in NATIONAL_ID_SCHEMES[country]


@settings(max_examples=100, deadline=None)
@given(value=st.one_of(st.none(), st.integers(), st.lists(st.text(max_size=5), max_size=3)))
def test_non_text_values_are_field_errors(value: object) -> None:
    """A3: values of the wrong type (JSON numbers, nulls, lists) are field problems, not crashes."""
    for name, validator in VALIDATORS.items():
        if name == "mrz" and isinstance(value, list):
            continue  # a list is a legitimate MRZ input shape, covered below
        with pytest.raises(IdentityFieldError):
            validator(value)  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.one_of(st.text(max_size=50), st.integers()), max_size=4))
def test_mrz_line_lists(lines: list[object]) -> None:
    """A4: an MRZ given as a list of anything raises only IdentityFieldError."""
    with contextlib.suppress(IdentityFieldError):
        parse_mrz(lines, FIELD, TODAY)  # type: ignore[arg-type]
