"""Machine-readable zones of travel documents, ICAO Doc 9303 (A4).

A4 accepts documentary verification with an unexpired government ID; the MRZ printed on a
passport (TD3, two lines of 44) or an ID card (TD1, three lines of 30; TD2, two lines of 36) is
parsed here and every check digit is verified, composite included, with the 7-3-1 weighting of
Doc 9303 part 3 (``<`` = 0, digits as themselves, ``A`` = 10 ... ``Z`` = 35). Expiry is checked
against an injected ``today``. Written from the specification; no third-party parser.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pycountry

from cloudcip.identity.problems import fail

_MRZ_CHARS = re.compile(r"[A-Z0-9<]+")
_WEIGHTS = (7, 3, 1)
#: ICAO codes that are not ISO 3166-1 alpha-3 codes, mapped to alpha-2 where one exists.
_ICAO_SPECIAL_CODES: dict[str, str | None] = {
    "D": "DE",  # Germany
    "GBD": "GB",
    "GBN": "GB",
    "GBO": "GB",
    "GBP": "GB",
    "GBS": "GB",  # British nationality classes
    "RKS": "XK",  # Kosovo (user-assigned code)
    "UNO": None,
    "UNA": None,
    "UNK": None,
    "XOM": None,
    "XXA": None,
    "XXB": None,
    "XXC": None,
    "XXX": None,
    "EUE": None,
    "UTO": None,  # Utopia, the ICAO specimen state
}


def check_digit(data: str) -> int:
    """The ICAO 9303 check digit of ``data`` (characters ``0-9``, ``A-Z`` and ``<``)."""
    total = 0
    for index, char in enumerate(data):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - ord("A") + 10
        elif char == "<":
            value = 0
        else:
            raise ValueError("character outside the MRZ alphabet")
        total += value * _WEIGHTS[index % 3]
    return total % 10


def state_alpha2(code: str) -> str | None:
    """ISO alpha-2 for an ICAO three-letter state or nationality code, None for non-states."""
    code = code.strip("<").upper()
    if code in _ICAO_SPECIAL_CODES:
        return _ICAO_SPECIAL_CODES[code]
    record = pycountry.countries.get(alpha_3=code) if len(code) == 3 else None
    return None if record is None else str(record.alpha_2)


@dataclass(frozen=True)
class MachineReadableZone:
    """The fields of a verified MRZ. Names use spaces where the MRZ uses filler ``<``."""

    format: str  # "TD1", "TD2" or "TD3"
    document_type: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    sex: str  # "M", "F" or "X" (unspecified)
    expiry_date: date
    optional_data: str

    @property
    def issuing_state_alpha2(self) -> str | None:
        """ISO alpha-2 code of the issuing state, when it is a state."""
        return state_alpha2(self.issuing_state)

    @property
    def nationality_alpha2(self) -> str | None:
        """ISO alpha-2 code of the nationality, when it is a state."""
        return state_alpha2(self.nationality)

    def is_expired(self, today: date) -> bool:
        """True once ``today`` is after the expiry date."""
        return today > self.expiry_date


def _verify(field: str, data: str, digit: str, what: str) -> None:
    expected = check_digit(data)
    actual = 0 if digit == "<" else (int(digit) if digit.isdigit() else -1)
    if actual != expected:
        raise fail(field, f"check digit fails for {what}")


def _names(field: str, text: str) -> tuple[str, str]:
    body = text.rstrip("<")
    if not body:
        raise fail(field, "name field is empty")
    surname_part, _, given_part = body.partition("<<")
    surname = " ".join(surname_part.split("<")).strip()
    given = " ".join(part for part in given_part.split("<") if part)
    if not surname or re.search(r"[0-9]", body):
        raise fail(field, "name field is malformed")
    return surname, given


def _birth(field: str, text: str, today: date) -> date | None:
    if not text.isdigit():
        if set(text) <= set("0123456789<"):
            return None  # partly or wholly unknown date of birth, allowed by Doc 9303
        raise fail(field, "date of birth is malformed")
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:6])
    century = 1900 if 2000 + year > today.year else 2000
    try:
        return date(century + year, month, day)
    except ValueError:
        raise fail(field, "date of birth is not a calendar date") from None


def _expiry(field: str, text: str, today: date) -> date:
    if not text.isdigit():
        raise fail(field, "expiry date is malformed")
    year, month, day = int(text[:2]), int(text[2:4]), int(text[4:6])
    century = 2000 if 2000 + year <= today.year + 50 else 1900
    try:
        return date(century + year, month, day)
    except ValueError:
        raise fail(field, "expiry date is not a calendar date") from None


def _sex(field: str, char: str) -> str:
    if char in "MF":
        return char
    if char in "<X":
        return "X"
    raise fail(field, "sex is malformed")


def _code(field: str, text: str, what: str) -> str:
    code = text.rstrip("<")
    if not code or not code.isalpha():
        raise fail(field, f"{what} is malformed")
    return code


def _split_lines(mrz: str | Sequence[str], field: str) -> list[str]:
    if isinstance(mrz, str):
        raw = mrz.strip().splitlines()
    elif isinstance(mrz, Sequence):
        raw = list(mrz)
    else:
        raise fail(field, "must be text or a list of lines")
    lines: list[str] = []
    for line in raw:
        if not isinstance(line, str):
            raise fail(field, "each line must be text")
        cleaned = line.strip().replace(" ", "").upper()
        if cleaned:
            lines.append(cleaned)
    for line in lines:
        if not _MRZ_CHARS.fullmatch(line):
            raise fail(field, "contains characters outside A-Z, 0-9 and <")
    return lines


def parse_mrz(mrz: str | Sequence[str], field: str, today: date, require_unexpired: bool = True) -> MachineReadableZone:
    """Parse and verify a TD1, TD2 or TD3 machine-readable zone.

    Every check digit is verified (document number, date of birth, expiry, optional/personal
    number where it has one, composite). With ``require_unexpired`` (the default, as A4 wants an
    unexpired document) an expiry before ``today`` is a problem too.
    """
    lines = _split_lines(mrz, field)
    shape = tuple(len(line) for line in lines)
    if shape == (30, 30, 30):
        zone = _parse_td1(lines, field, today)
    elif shape == (36, 36):
        zone = _parse_two_line(lines, field, today, "TD2")
    elif shape == (44, 44):
        zone = _parse_two_line(lines, field, today, "TD3")
    else:
        raise fail(field, "is not a TD1 (3 x 30), TD2 (2 x 36) or TD3 (2 x 44) machine-readable zone")
    if require_unexpired and zone.is_expired(today):
        raise fail(field, "document has expired")
    return zone


def _parse_two_line(lines: list[str], field: str, today: date, form: str) -> MachineReadableZone:
    first, second = lines
    document_type = _code(field, first[0:2], "document code")
    issuing_state = _code(field, first[2:5], "issuing state")
    surname, given = _names(field, first[5:])
    number_field, number_check = second[0:9], second[9]
    nationality = _code(field, second[10:13], "nationality")
    birth_text, birth_check = second[13:19], second[19]
    sex = _sex(field, second[20])
    expiry_text, expiry_check = second[21:27], second[27]
    optional_end = 42 if form == "TD3" else 35
    optional = second[28:optional_end]
    document_number = number_field
    if form == "TD2" and number_check == "<" and optional.rstrip("<"):
        # Doc 9303 part 6: a number longer than 9 continues in the optional data, then its check digit.
        extension = optional.rstrip("<")
        document_number = number_field + extension[:-1]
        _verify(field, document_number, extension[-1], "document number")
        optional = ""
    else:
        _verify(field, number_field, number_check, "document number")
    _verify(field, birth_text, birth_check, "date of birth")
    _verify(field, expiry_text, expiry_check, "expiry date")
    if form == "TD3":
        _verify(field, second[28:42], second[42], "personal number")
        composite = second[0:10] + second[13:20] + second[21:43]
        _verify(field, composite, second[43], "composite")
    else:
        composite = second[0:10] + second[13:20] + second[21:35]
        _verify(field, composite, second[35], "composite")
    return MachineReadableZone(
        format=form,
        document_type=document_type,
        issuing_state=issuing_state,
        surname=surname,
        given_names=given,
        document_number=document_number.rstrip("<"),
        nationality=nationality,
        birth_date=_birth(field, birth_text, today),
        sex=sex,
        expiry_date=_expiry(field, expiry_text, today),
        optional_data=optional.rstrip("<").replace("<", " "),
    )


def _parse_td1(lines: list[str], field: str, today: date) -> MachineReadableZone:
    first, second, third = lines
    document_type = _code(field, first[0:2], "document code")
    issuing_state = _code(field, first[2:5], "issuing state")
    number_field, number_check = first[5:14], first[14]
    optional_one = first[15:30]
    if number_check == "<" and optional_one.rstrip("<"):
        # A document number longer than 9 characters continues in optional data 1, then its check digit.
        extension = optional_one.rstrip("<").split("<", 1)[0]
        if not extension:
            raise fail(field, "document number extension is malformed")
        document_number = number_field + extension[:-1]
        _verify(field, document_number, extension[-1], "document number")
        optional_one = optional_one[len(extension) :]
    else:
        document_number = number_field
        _verify(field, number_field, number_check, "document number")
    birth_text, birth_check = second[0:6], second[6]
    sex = _sex(field, second[7])
    expiry_text, expiry_check = second[8:14], second[14]
    nationality = _code(field, second[15:18], "nationality")
    optional_two = second[18:29]
    _verify(field, birth_text, birth_check, "date of birth")
    _verify(field, expiry_text, expiry_check, "expiry date")
    composite = first[5:30] + second[0:7] + second[8:15] + second[18:29]
    _verify(field, composite, second[29], "composite")
    surname, given = _names(field, third)
    optional = " ".join(part.replace("<", " ").strip() for part in (optional_one, optional_two) if part.strip("<"))
    return MachineReadableZone(
        format="TD1",
        document_type=document_type,
        issuing_state=issuing_state,
        surname=surname,
        given_names=given,
        document_number=document_number.rstrip("<"),
        nationality=nationality,
        birth_date=_birth(field, birth_text, today),
        sex=sex,
        expiry_date=_expiry(field, expiry_text, today),
        optional_data=optional,
    )
