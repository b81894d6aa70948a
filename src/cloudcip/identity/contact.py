"""Telephone numbers and email addresses (A3, A4).

A3 asks for the email and telephone of each foreign customer; A4 verifies them
non-documentarily (one-time codes) and checks them against maintained data: phone numbering
plans come from phonenumbers (Google's libphonenumber metadata), email syntax and domain rules
from email-validator (no DNS lookup: deliverability is proven by the one-time code, not here).
Emails whose domain is on the shipped list of disposable-mail providers get the flag
``disposable_domain``; an operator can point to an updated list.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import email_validator
import phonenumbers

from cloudcip.identity.problems import fail, require_text

_MAX_PHONE_LENGTH = 40
_MAX_EMAIL_LENGTH = 320
#: Line types that deserve a flag: numbers not tied to one subscriber's handset or landline.
_FLAGGED_LINE_TYPES = frozenset(
    {"voip", "premium_rate", "toll_free", "shared_cost", "pager", "personal_number", "uan", "voicemail", "unknown"}
)


@dataclass(frozen=True)
class PhoneCheck:
    """A valid phone number: E.164 form (the blind-index form), region and line type."""

    e164: str
    region_code: str
    line_type: str
    flags: list[str] = dataclass_field(default_factory=list)


@dataclass(frozen=True)
class EmailCheck:
    """A syntactically valid email: normalised form, lower-cased canonical form, domain, flags."""

    normalized: str
    canonical: str
    domain: str
    flags: list[str] = dataclass_field(default_factory=list)


def _line_type_names() -> dict[int, str]:
    """Each ``PhoneNumberType`` value's name (the first in ``dir`` order where two share a value)."""
    names: dict[int, str] = {}
    for name in dir(phonenumbers.PhoneNumberType):
        if name.isupper():
            names.setdefault(getattr(phonenumbers.PhoneNumberType, name), name.lower())
    return names


_LINE_TYPE_NAMES = _line_type_names()


def _line_type_name(number: phonenumbers.PhoneNumber) -> str:
    return _LINE_TYPE_NAMES.get(phonenumbers.number_type(number), "unknown")


def _valid_type(parsed: phonenumbers.PhoneNumber, region_code: str | None) -> int | None:
    """The number's type when it is valid for ``region_code`` (its own region), else None.

    ``is_valid_number_for_region`` followed by ``number_type`` matches the national number against
    the region's patterns twice; this matches it once, with the same outcome: valid for its region
    means the region's calling code is the number's and its type is not ``UNKNOWN``."""
    if not region_code:
        return None
    if (
        region_code != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
        and phonenumbers.country_code_for_valid_region(region_code) != parsed.country_code
    ):
        return None
    kind = phonenumbers.number_type(parsed)
    return None if kind == phonenumbers.PhoneNumberType.UNKNOWN else int(kind)


@lru_cache(maxsize=8)
def parse_international(number: str) -> phonenumbers.PhoneNumber | None:
    """``phonenumbers.parse(number, None)``: the number when it is written in international form
    (``+49 ...``), else None (phonenumbers' other errors are raised).

    phonenumbers takes the country code of a number in international form from the number itself,
    so ``parse(number, region)`` gives an equal number for every region; a signup's validation and
    its location (D2) read the same number, parsed once (the last few numbers' parses are kept, no
    more: they are applicants' numbers). The number returned is shared: read it, never change it."""
    try:
        return phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None


def validate_phone(number: str, field: str, default_region: str | None = None) -> PhoneCheck:
    """Check a telephone number against the numbering plan of its region.

    A number written in international form (``+49 ...``) is checked for its own region; one in
    national form needs ``default_region`` (ISO alpha-2) and must be valid there. A number in
    international form whose region differs from ``default_region`` gets the flag
    ``region_differs_from_default``; VoIP, premium-rate, toll-free and similar lines get
    ``<type>_line``.
    """
    text = require_text(number, field)
    if len(text) > _MAX_PHONE_LENGTH:
        raise fail(field, f"is longer than {_MAX_PHONE_LENGTH} characters")
    region = default_region.upper() if isinstance(default_region, str) and default_region else None
    if region is not None and region not in phonenumbers.SUPPORTED_REGIONS:
        raise fail(field, "default region is not a region with a numbering plan")
    # a number in international form parses the same whatever the default region (the region is used
    # only when no country code comes with the number): that parse is shared with the location (D2)
    try:
        international = parse_international(text)
    except Exception:  # odd text: the parse below says what is wrong with it
        international = None
    try:
        parsed = international if international is not None else phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as error:
        if error.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            raise fail(field, "needs an international prefix (+country code) or a default region") from None
        raise fail(field, "is not a telephone number") from None
    except Exception:  # phonenumbers may choke on odd text; treat as unparseable
        raise fail(field, "is not a telephone number") from None
    region_code = phonenumbers.region_code_for_number(parsed)
    kind = _valid_type(parsed, region_code)
    if region_code is None or kind is None:
        raise fail(field, "is not a valid number in any numbering plan")
    flags: list[str] = []
    if region is not None and region_code != region:
        flags.append("region_differs_from_default")
    line_type = _LINE_TYPE_NAMES.get(kind, "unknown")
    if line_type in _FLAGGED_LINE_TYPES:
        flags.append(f"{line_type}_line")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return PhoneCheck(e164, region_code, line_type, flags)


def _read_domain_list(text: str) -> frozenset[str]:
    domains: set[str] = set()
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip().lower().rstrip(".")
        if line:
            domains.add(line)
    return frozenset(domains)


@lru_cache(maxsize=8)
def load_disposable_domains(path: Path | str | None = None) -> frozenset[str]:
    """The disposable-mail domains: the shipped list, or the operator's file at ``path``.

    One domain a line; ``#`` starts a comment. Loaded once per path and cached.
    """
    if path is None:
        text = resources.files("cloudcip.identity").joinpath("data/disposable_email_domains.txt").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return _read_domain_list(text)


def is_disposable_domain(domain: str, domains: frozenset[str]) -> bool:
    """True when ``domain`` or one of its parent domains is in ``domains``."""
    labels = domain.lower().rstrip(".").split(".")
    return any(".".join(labels[index:]) in domains for index in range(len(labels) - 1))


def validate_email(address: str, field: str, disposable_domains_path: Path | str | None = None) -> EmailCheck:
    """Check an email address's syntax and domain (no DNS), normalise it and flag disposable domains.

    ``normalized`` keeps the local part as written and lower-cases the domain (Unicode NFC as
    email-validator does); ``canonical`` lower-cases the whole address, for exact-match blind
    indexes. Flags: ``disposable_domain``, ``subaddress`` (a ``+tag`` in the local part).
    """
    text = require_text(address, field)
    if len(text) > _MAX_EMAIL_LENGTH:
        raise fail(field, f"is longer than {_MAX_EMAIL_LENGTH} characters")
    try:
        result = email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError:
        raise fail(field, "is not a valid email address") from None
    except Exception:  # idna and unicodedata errors on exotic input
        raise fail(field, "is not a valid email address") from None
    domain = str(result.domain).lower()
    normalized = f"{result.local_part}@{domain}"
    flags: list[str] = []
    if is_disposable_domain(str(result.ascii_domain), load_disposable_domains(disposable_domains_path)):
        flags.append("disposable_domain")
    if "+" in str(result.local_part):
        flags.append("subaddress")
    return EmailCheck(normalized, normalized.lower(), domain, flags)
