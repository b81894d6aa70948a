"""Telephone numbers (phonenumbers) and email addresses (email-validator, disposable domains) (A3, A4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudcip.identity import (
    IdentityFieldError,
    is_disposable_domain,
    load_disposable_domains,
    validate_email,
    validate_phone,
)

PHONE = "contact.phone"
EMAIL = "contact.email"


@pytest.mark.parametrize(
    ("number", "region", "e164", "region_code"),
    [
        ("+1 650-253-0000", None, "+16502530000", "US"),
        ("(650) 253-0000", "US", "+16502530000", "US"),
        ("+44 20 7946 0018", None, "+442079460018", "GB"),
        ("030 901820", "DE", "+4930901820", "DE"),
        ("+49 151 23456789", None, "+4915123456789", "DE"),
        ("+33 6 12 34 56 78", None, "+33612345678", "FR"),
        ("+81 3-1234-5678", None, "+81312345678", "JP"),
        ("+91 98765 43210", None, "+919876543210", "IN"),
        ("+55 11 91234-5678", None, "+5511912345678", "BR"),
    ],
)
def test_valid_phones_normalise_to_e164(number: str, region: str | None, e164: str, region_code: str) -> None:
    """A4: numbers valid in their numbering plan come back in E.164 with their region."""
    check = validate_phone(number, PHONE, region)
    assert (check.e164, check.region_code) == (e164, region_code)
    assert check.line_type


def test_line_type_is_named() -> None:
    """A4: the line type comes from the numbering plan (German 015x is mobile, UK 0800 toll free)."""
    assert validate_phone("+49 151 23456789", PHONE).line_type == "mobile"
    toll_free = validate_phone("0800 000 0000", PHONE, "GB")
    assert toll_free.line_type == "toll_free" and "toll_free_line" in toll_free.flags


def test_region_mismatch_is_flagged() -> None:
    """A4: an international number from another region than the expected one is flagged, not refused."""
    check = validate_phone("+33 6 12 34 56 78", PHONE, "DE")
    assert check.region_code == "FR" and "region_differs_from_default" in check.flags


@pytest.mark.parametrize(
    ("number", "region", "reason"),
    [
        ("650 253 0000", None, "needs an international prefix"),
        ("+1 000 000 0000", None, "not a valid number"),
        ("+49 1", None, "not"),
        ("12", "US", "not"),
        ("call me", "US", "not a telephone number"),
        ("+1 650 253 0000", "ZZ", "default region"),
    ],
)
def test_invalid_phones(number: str, region: str | None, reason: str) -> None:
    """A4: numbers outside any numbering plan are problems naming the field, not the number."""
    with pytest.raises(IdentityFieldError, match=reason) as caught:
        validate_phone(number, PHONE, region)
    assert caught.value.problems[0].field == PHONE
    assert number not in str(caught.value)


def test_email_normalised_and_canonical() -> None:
    """A3: the domain is lower-cased; the canonical form is lower-cased whole for blind indexes."""
    check = validate_email("  Anna.Eriksson@Example.ORG ", EMAIL)
    assert check.normalized == "Anna.Eriksson@example.org"
    assert check.canonical == "anna.eriksson@example.org"
    assert check.domain == "example.org" and check.flags == []


def test_internationalised_domain() -> None:
    """A3: internationalised domains are accepted and kept in Unicode, lower-cased."""
    check = validate_email("user@Bücher.example", EMAIL)
    assert check.domain == "bücher.example"


@pytest.mark.parametrize("address", ["plainaddress", "a@b", "two@@at.example", "x@localhost", "dot.@example.com", ""])
def test_invalid_emails(address: str) -> None:
    """A3: syntactically invalid or special-use addresses fail without echoing the value."""
    with pytest.raises(IdentityFieldError) as caught:
        validate_email(address, EMAIL)
    assert caught.value.problems[0].field == EMAIL
    if address:
        assert address not in str(caught.value)


def test_disposable_domain_flag_from_shipped_list() -> None:
    """A4: a domain (or a subdomain of one) on the shipped disposable list is flagged."""
    domains = load_disposable_domains()
    assert len(domains) >= 50 and "mailinator.com" in domains
    assert validate_email("x@mailinator.com", EMAIL).flags == ["disposable_domain"]
    assert "disposable_domain" in validate_email("x+tag@inbox.Mailinator.com", EMAIL).flags
    assert not is_disposable_domain("notmailinator.com", domains)
    assert load_disposable_domains() is domains  # cached


def test_operator_can_point_to_an_updated_list(tmp_path: Path) -> None:
    """A4: an operator's updated list replaces the shipped one when passed by path."""
    updated = tmp_path / "disposable.txt"
    updated.write_text("# operator list\nthrowaway.example\n\n", encoding="utf-8")
    assert validate_email("x@throwaway.example", EMAIL, updated).flags == ["disposable_domain"]
    assert validate_email("x@mailinator.com", EMAIL, updated).flags == []


def test_subaddress_flag() -> None:
    """A4: a +tag in the local part is flagged (useful for linkage), not refused."""
    assert validate_email("anna+cloud@example.org", EMAIL).flags == ["subaddress"]


@pytest.mark.requirement("A4")
@pytest.mark.parametrize("number", ["+1 650-253-0000", "+1 242 357 1234", "+44 20 7946 0018", "+44 1481 256 789",
                                    "+7 978 123 45 67", "+380 65 123 4567", "++49 30 901820", "+0049 30 901820",
                                    "tel:+49-30-901820", "030 901820", "(650) 253-0000", "+999 1234567"])
def test_a_number_in_international_form_parses_the_same_for_every_default_region(number: str) -> None:
    """A4, D2: the parse validation shares with the location (``parse_international``) is the number
    phonenumbers gives for any default region, and the check is the one the region's parse gives."""
    import phonenumbers

    from cloudcip.identity.contact import parse_international

    international = parse_international(number)
    for region in ("US", "CA", "BS", "GB", "GG", "DE", "UA", "RU"):
        try:
            expected = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            assert international is None
            continue
        if international is not None:
            assert international == expected
        try:
            check = validate_phone(number, PHONE, region)
        except IdentityFieldError:
            assert not phonenumbers.is_valid_number(expected)
            continue
        assert check.e164 == phonenumbers.format_number(expected, phonenumbers.PhoneNumberFormat.E164)
        assert check.region_code == phonenumbers.region_code_for_number(expected)
