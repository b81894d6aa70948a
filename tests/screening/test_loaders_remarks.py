"""OFAC remarks facts and list country spellings (D3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudcip.domain.designated import ListedDocument, ListedName
from cloudcip.screening.loaders.countries import country_code, trailing_country
from cloudcip.screening.loaders.remarks import parse_birth_dates, parse_remarks, parse_single_date


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("01 Jan 1970", ["1970-01-01"]),
        ("1970", ["1970"]),
        ("circa 1970", ["1970"]),
        ("1968 to 1970", ["1968", "1969", "1970"]),
        ("Jan 1970", ["1970-01"]),
        ("01 Jan 1961 to 31 Dec 1962", ["1961", "1962"]),
        ("circa 1979-1982", ["1979", "1980", "1981", "1982"]),
        ("Mar 1962 to Feb 1963", ["1962", "1963"]),
        ("circa 07 Jul 1966", ["1966-07-07"]),
        ("Nov. 1973", ["1973-11"]),
        ("August 1961", ["1961-08"]),
        ("32 Jan 1970", []),
        ("1970 to 1960", []),
        ("1900 to 2000", []),  # too wide to be evidence
        ("sometime", []),
    ],
)
def test_birth_date_variants(text: str, dates: list[str]) -> None:
    assert parse_birth_dates(text) == dates


def test_single_date_iso_checks_ranges() -> None:
    assert parse_single_date("1978-04-28") == "1978-04-28"
    assert parse_single_date("1978-13-01") is None
    assert parse_single_date("01 Foo 1970") is None


def test_every_fact_kind() -> None:
    facts = parse_remarks(
        "DOB 05 May 1975; alt. DOB 1976; POB Minsk, Belarus; nationality Iran; alt. nationality Korea, North; "
        "citizen Crimea region of Ukraine; Gender Female; Passport X1 (Burma); alt. Passport X2; "
        "National ID No. 55 (Russia); Cedula No. 7.617.778 (Venezuela); Tax ID No. 123 (Mexico); "
        "Identification Number IMO 1234567; Email Address a@example.test; alt. Email b@example.test; "
        "Website http://example.test; Digital Currency Address - XBT 1Abc; "
        "alt. Digital Currency Address - USDT 0xdef; Digital Currency Address - TRX TXyz; "
        "a.k.a. 'First Alias'; f.k.a. 'OLD NAME'; n.k.a. 'NEW NAME'; Linked To: SOMETHING; "
        "Phone Number 123."
    )
    assert facts.birth_dates == ["1975-05-05", "1976"]
    assert facts.birth_places == ["Minsk, Belarus"]
    assert facts.nationalities == ["IR", "KP"]
    assert facts.citizenships == ["UA"]
    assert facts.gender == "female"
    assert facts.documents == [
        ListedDocument(kind="passport", number="X1", country="MM"),
        ListedDocument(kind="passport", number="X2"),
        ListedDocument(kind="national_id", number="55", country="RU"),
        ListedDocument(kind="national_id", number="7.617.778", country="VE", note="Cedula No"),
        ListedDocument(kind="tax_id", number="123", country="MX"),
        ListedDocument(kind="registration", number="IMO 1234567", note="Identification Number"),
    ]
    assert facts.emails == ["a@example.test", "b@example.test"]
    assert facts.websites == ["http://example.test"]
    assert facts.wallets == [("XBT", "1Abc"), ("USDT", "0xdef"), ("TRX", "TXyz")]
    assert facts.aliases == [
        ListedName(full="First Alias", quality="strong"),
        ListedName(full="OLD NAME", quality="strong"),
        ListedName(full="NEW NAME", quality="strong"),
    ]
    assert facts.remaining == ["Linked To: SOMETHING", "Phone Number 123"]
    assert facts.remarks == "Linked To: SOMETHING; Phone Number 123."


def test_unknown_values_stay_as_remarks() -> None:
    facts = parse_remarks("nationality Atlantis; DOB sometime; Passport none given; -0-")
    assert facts.nationalities == [] and facts.birth_dates == [] and facts.documents == []
    assert facts.remaining == ["nationality Atlantis", "DOB sometime", "Passport none given", "-0-"]
    assert parse_remarks(None).remarks is None


@given(st.text(max_size=200))
def test_parse_remarks_never_raises(text: str) -> None:
    facts = parse_remarks(text)
    assert all(len(d) in (4, 7, 10) for d in facts.birth_dates)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Korea, North", "KP"),
        ("Korea, South", "KR"),
        ("Iran", "IR"),
        ("Iran (Islamic Republic of)", "IR"),
        ("Russia", "RU"),
        ("Burma", "MM"),
        ("Crimea region of Ukraine", "UA"),
        ("Congo, Democratic Republic of the", "CD"),
        ("Democratic People's Republic of Korea", "KP"),
        ("Türkiye", "TR"),
        ("United Kingdom of Great Britain and Northern Ireland", "GB"),
        ("West Bank", "PS"),
        ("Syria", "SY"),
        ("Venezuela", "VE"),
        ("Germany", "DE"),
        ("de", "DE"),
        ("DEU", "DE"),
        ("Tehran, Iran", "IR"),
        ("Region: Gaza", "PS"),
        ("Cote d Ivoire", "CI"),
        ("China, Hong Kong Special Administrative Region", "HK"),
        ("former Soviet Union", None),
        ("undetermined", None),
        ("", None),
        (None, None),
    ],
)
def test_country_code(name: str | None, code: str | None) -> None:
    assert country_code(name) == code


def test_trailing_country() -> None:
    assert trailing_country("AB 123 (Saudi Arabia)") == ("AB 123", "SA")
    assert trailing_country("AB 123 (unknown place)") == ("AB 123 (unknown place)", None)
    assert trailing_country("AB 123") == ("AB 123", None)
