"""ICAO 9303 machine-readable zones: parsing, every check digit, expiry against an injected date (A4)."""

from __future__ import annotations

from datetime import date

import pytest

from cloudcip.identity import IdentityFieldError, MachineReadableZone, check_digit, parse_mrz

FIELD = "documents.0.mrz"
BEFORE_EXPIRY = date(2010, 6, 1)

# ICAO Doc 9303 specimens (part 4 appendix: TD3 passport; part 5: TD1 card).
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]


def _replace(line: str, index: int, char: str) -> str:
    return line[:index] + char + line[index + 1 :]


def test_check_digit_follows_7_3_1() -> None:
    """A4: the 7-3-1 check digit with < = 0 and A = 10 ... Z = 35 (values from the ICAO specimens)."""
    assert check_digit("L898902C3") == 6
    assert check_digit("740812") == 2
    assert check_digit("120415") == 9
    assert check_digit("ZE184226B<<<<<") == 1
    assert check_digit("D23145890") == 7
    assert check_digit("<<<") == 0


def test_td3_specimen() -> None:
    """A4: the ICAO TD3 passport specimen parses into its fields."""
    zone = parse_mrz(TD3, FIELD, BEFORE_EXPIRY)
    assert zone == MachineReadableZone(
        format="TD3",
        document_type="P",
        issuing_state="UTO",
        surname="ERIKSSON",
        given_names="ANNA MARIA",
        document_number="L898902C3",
        nationality="UTO",
        birth_date=date(1974, 8, 12),
        sex="F",
        expiry_date=date(2012, 4, 15),
        optional_data="ZE184226B",
    )
    assert zone.issuing_state_alpha2 is None  # Utopia is not a state


def test_td1_specimen_as_one_text_block() -> None:
    """A4: the ICAO TD1 card specimen parses, given as text with newlines and stray spaces."""
    zone = parse_mrz("\n".join(TD1) + "\n", FIELD, BEFORE_EXPIRY)
    assert (zone.format, zone.document_type, zone.document_number) == ("TD1", "I", "D23145890")
    assert (zone.surname, zone.given_names, zone.sex, zone.nationality) == ("ERIKSSON", "ANNA MARIA", "F", "UTO")
    assert zone.birth_date == date(1974, 8, 12) and zone.expiry_date == date(2012, 4, 15)


@pytest.mark.parametrize(
    ("line", "index", "char", "what"),
    [
        (1, 9, "7", "document number"),
        (1, 0, "M", "document number"),
        (1, 19, "3", "date of birth"),
        (1, 13, "8", "date of birth"),
        (1, 27, "8", "expiry date"),
        (1, 42, "2", "personal number"),
        (1, 30, "X", "personal number"),
        (1, 43, "1", "composite"),
    ],
)
def test_td3_corruption_fails_the_named_check_digit(line: int, index: int, char: str, what: str) -> None:
    """A4: changing one character of the TD3 specimen fails exactly the check digit guarding it."""
    lines = list(TD3)
    lines[line] = _replace(lines[line], index, char)
    with pytest.raises(IdentityFieldError) as caught:
        parse_mrz(lines, FIELD, BEFORE_EXPIRY)
    assert str(caught.value) == f"{FIELD}: check digit fails for {what}"


@pytest.mark.parametrize(
    ("line", "index", "char", "what"),
    [
        (0, 14, "8", "document number"),
        (0, 6, "3", "document number"),
        (1, 6, "3", "date of birth"),
        (1, 14, "0", "expiry date"),
        (1, 29, "7", "composite"),
        (1, 20, "X", "composite"),  # optional data 2 is covered by the composite only
    ],
)
def test_td1_corruption_fails_the_named_check_digit(line: int, index: int, char: str, what: str) -> None:
    """A4: changing one character of the TD1 specimen fails the check digit guarding it."""
    lines = list(TD1)
    lines[line] = _replace(lines[line], index, char)
    with pytest.raises(IdentityFieldError, match=f"check digit fails for {what}$"):
        parse_mrz(lines, FIELD, BEFORE_EXPIRY)


def test_expiry_against_injected_today() -> None:
    """A4: an expired document fails unless the caller asks only for parsing."""
    assert parse_mrz(TD3, FIELD, date(2012, 4, 15)).expiry_date == date(2012, 4, 15)
    with pytest.raises(IdentityFieldError, match="document has expired"):
        parse_mrz(TD3, FIELD, date(2012, 4, 16))
    zone = parse_mrz(TD3, FIELD, date(2026, 1, 1), require_unexpired=False)
    assert zone.is_expired(date(2026, 1, 1))


@pytest.mark.parametrize(
    "lines",
    [
        [TD3[0]],
        [TD3[0][:-1], TD3[1]],
        [TD3[0], TD3[1].lower().replace("l898902c3", "l898902c3!")],
        TD1[:2],
    ],
)
def test_malformed_zones(lines: list[str]) -> None:
    """A4: wrong shapes and characters outside the MRZ alphabet are field problems."""
    with pytest.raises(IdentityFieldError) as caught:
        parse_mrz(lines, FIELD, BEFORE_EXPIRY)
    assert caught.value.problems[0].field == FIELD


def test_us_passport_nationality_maps_to_alpha2() -> None:
    """A2/A4: a TD3 zone of a U.S. passport (built with valid check digits) reads as USA/US."""
    number, birth, expiry = "123456789", "900101", "300101"
    second_core = f"{number}{check_digit(number)}USA{birth}{check_digit(birth)}M{expiry}{check_digit(expiry)}"
    personal = "<" * 14
    second = second_core + personal + str(check_digit(personal))
    composite = second[0:10] + second[13:20] + second[21:43]
    second += str(check_digit(composite))
    first = "P<USADOE<<JOHN".ljust(44, "<")
    zone = parse_mrz([first, second], FIELD, date(2025, 1, 1))
    assert (zone.issuing_state_alpha2, zone.nationality_alpha2, zone.sex) == ("US", "US", "M")
    assert zone.birth_date == date(1990, 1, 1) and zone.expiry_date == date(2030, 1, 1)


def test_td1_long_document_number_continues_in_optional_data() -> None:
    """A4: Doc 9303 part 5: a 12-character number overflows into optional data with its own check digit."""
    first = "I<UTOD23145890<7349<<<<<<<<<<<"
    second = "7408122F1204159UTO<<<<<<<<<<<6"
    zone = parse_mrz([first, second, TD1[2]], FIELD, BEFORE_EXPIRY)
    assert zone.document_number == "D23145890734"
    with pytest.raises(IdentityFieldError, match="check digit fails for document number"):
        parse_mrz([_replace(first, 18, "8"), second, TD1[2]], FIELD, BEFORE_EXPIRY)


def test_td2_specimen() -> None:
    """A4: the ICAO TD2 specimen parses; a corrupted composite fails."""
    lines = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"]
    zone = parse_mrz(lines, FIELD, BEFORE_EXPIRY)
    assert (zone.format, zone.document_number, zone.surname, zone.given_names) == (
        "TD2",
        "D23145890",
        "ERIKSSON",
        "ANNA MARIA",
    )
    with pytest.raises(IdentityFieldError, match="check digit fails for composite"):
        parse_mrz([lines[0], _replace(lines[1], 35, "5")], FIELD, BEFORE_EXPIRY)
