"""Means of payment: cards, bank accounts (IBAN/BIC) and crypto wallets (A3, A4, B2).

A3 asks for the means and source of payment of each account; A4 checks them with maintained
libraries: card numbers by Luhn (python-stdnum) and issuer ranges, the card's issuing country from
a BIN table the operator imports, IBAN and BIC with schwifty, Bitcoin addresses with stdnum's
base58check and bech32 code (bech32m for segwit v1+ per BIP-350 on stdnum's polymod; the wallet
formats are in ``identity.wallet_formats``). Every check returns a normalised form fit for
exact-match blind indexes (B2); card checks also return the PCI DSS display parts (first six, last
four).
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from pathlib import Path
from typing import TextIO

import pycountry
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from stdnum import luhn
from stdnum.exceptions import ValidationError

from cloudcip.errors import InvalidInput
from cloudcip.identity.problems import fail, require_text
from cloudcip.identity.wallet_formats import (
    GENERIC_WALLET_RE,
    WALLET_NETWORKS,
    WALLET_TICKERS,
    WalletCheck,
    detect_wallet,
    ethereum_address,
)

# --------------------------------------------------------------------------------------------
# Cards
# --------------------------------------------------------------------------------------------

#: (first digits low, first digits high, brand); the longest matching prefix wins.
_IIN_RANGES: tuple[tuple[str, str, str], ...] = (
    ("4", "4", "visa"),
    ("51", "55", "mastercard"),
    ("2221", "2720", "mastercard"),
    ("34", "34", "amex"),
    ("37", "37", "amex"),
    ("6011", "6011", "discover"),
    ("644", "649", "discover"),
    ("65", "65", "discover"),
    ("622126", "622925", "discover"),
    ("3528", "3589", "jcb"),
    ("62", "62", "unionpay"),
    ("81", "81", "unionpay"),
    ("300", "305", "diners"),
    ("3095", "3095", "diners"),
    ("36", "36", "diners"),
    ("38", "39", "diners"),
    ("5018", "5018", "maestro"),
    ("5020", "5020", "maestro"),
    ("5038", "5038", "maestro"),
    ("5893", "5893", "maestro"),
    ("6304", "6304", "maestro"),
    ("6759", "6759", "maestro"),
    ("6761", "6763", "maestro"),
    ("56", "58", "maestro"),
)
_BRAND_LENGTHS: dict[str, frozenset[int]] = {
    "visa": frozenset({13, 16, 19}),
    "mastercard": frozenset({16}),
    "amex": frozenset({15}),
    "discover": frozenset(range(16, 20)),
    "jcb": frozenset(range(16, 20)),
    "unionpay": frozenset(range(16, 20)),
    "diners": frozenset(range(14, 20)),
    "maestro": frozenset(range(12, 20)),
}
_CARD_SEPARATORS = re.compile(r"[ \-]")


@dataclass(frozen=True)
class BinRange:
    """One issuer range of a BIN table, stored as 8-digit bounds."""

    start: str
    end: str
    country: str
    issuer: str | None = None


class BinTableError(InvalidInput, ValueError):
    """A BIN table file is malformed; the message names the line, never card data."""


def _pad_bin(prefix: str, filler: str) -> str:
    return prefix + filler * (8 - len(prefix))


class BinTable:
    """Issuer ranges keyed by the first 6 to 8 digits of a card number, looked up by bisection.

    Ranges may nest (a national sub-range inside a brand range); the narrowest match wins.
    """

    def __init__(self, ranges: Iterable[BinRange]) -> None:
        self._ranges = sorted(ranges, key=lambda item: (item.start, item.end))
        self._starts = [item.start for item in self._ranges]
        self._max_end: list[str] = []
        running = ""
        for item in self._ranges:
            running = max(running, item.end)
            self._max_end.append(running)

    def __len__(self) -> int:
        return len(self._ranges)

    @classmethod
    def from_csv(cls, source: Path | str | TextIO) -> BinTable:
        """Load ``bin_start,bin_end,country[,issuer]`` rows (header required; prefixes 6-8 digits)."""
        if isinstance(source, Path | str):
            with Path(source).open(encoding="utf-8", newline="") as handle:
                return cls.from_csv(handle)
        reader = csv.DictReader(source)
        columns = set(reader.fieldnames or [])
        if not {"bin_start", "bin_end", "country"} <= columns:
            raise BinTableError("BIN table needs the columns bin_start, bin_end, country")
        ranges: list[BinRange] = []
        for line_number, row in enumerate(reader, start=2):
            start = (row.get("bin_start") or "").strip()
            end = (row.get("bin_end") or "").strip()
            country = (row.get("country") or "").strip().upper()
            issuer = (row.get("issuer") or "").strip() or None
            if not re.fullmatch(r"\d{6,8}", start) or not re.fullmatch(r"\d{6,8}", end):
                raise BinTableError(f"line {line_number}: bin_start and bin_end must be 6 to 8 digits")
            if pycountry.countries.get(alpha_2=country) is None:
                raise BinTableError(f"line {line_number}: country must be an ISO 3166-1 alpha-2 code")
            low, high = _pad_bin(start, "0"), _pad_bin(end, "9")
            if low > high:
                raise BinTableError(f"line {line_number}: bin_start is after bin_end")
            ranges.append(BinRange(low, high, country, issuer))
        return cls(ranges)

    @classmethod
    def from_text(cls, text: str) -> BinTable:
        """Load a BIN table from CSV text."""
        return cls.from_csv(io.StringIO(text))

    def lookup(self, card_number: str) -> BinRange | None:
        """The narrowest range holding the card number's first eight digits, if any."""
        digits = _CARD_SEPARATORS.sub("", card_number)
        if len(digits) < 6 or not digits.isdigit():
            return None
        key = _pad_bin(digits[:8], "0")
        index = bisect.bisect_right(self._starts, key) - 1
        best: BinRange | None = None
        while index >= 0 and self._max_end[index] >= key:
            candidate = self._ranges[index]
            if candidate.end >= key and (best is None or _width(candidate) < _width(best)):
                best = candidate
            index -= 1
        return best

    def issuer_country(self, card_number: str) -> str | None:
        """The issuing country (alpha-2) of a card number, if the table knows it."""
        found = self.lookup(card_number)
        return None if found is None else found.country


def _width(item: BinRange) -> int:
    return int(item.end) - int(item.start)


@dataclass(frozen=True)
class CardCheck:
    """A valid card number: digits (the blind-index form; store only sealed), brand, display parts."""

    normalized: str
    brand: str | None
    first6: str
    last4: str
    issuer_country: str | None = None
    issuer: str | None = None
    flags: list[str] = dataclass_field(default_factory=list)

    @property
    def masked(self) -> str:
        """First six and last four with the middle masked, the most PCI DSS lets us show."""
        return f"{self.first6}{'*' * (len(self.normalized) - 10)}{self.last4}"


def card_brand(digits: str) -> str | None:
    """The card brand of a digit string by its issuer identification number, or None."""
    best: tuple[int, str] | None = None
    for low, high, brand in _IIN_RANGES:
        head = digits[: len(low)]
        if len(head) == len(low) and low <= head <= high and (best is None or len(low) > best[0]):
            best = (len(low), brand)
    return None if best is None else best[1]


def validate_card_number(number: str, field: str, bin_table: BinTable | None = None) -> CardCheck:
    """Check a payment card number: digits only (spaces and dashes dropped), 12-19 long, Luhn.

    The brand comes from IIN ranges; a length unusual for the brand gets the flag
    ``length_unusual_for_brand`` and an unknown brand ``unknown_brand``. With a ``bin_table`` the
    issuer country is looked up (flag ``bin_not_in_table`` when absent).
    """
    text = require_text(number, field)
    digits = _CARD_SEPARATORS.sub("", text)
    if not digits.isascii() or not digits.isdigit():
        raise fail(field, "must contain digits only")
    if not 12 <= len(digits) <= 19:
        raise fail(field, "must be 12 to 19 digits long")
    try:
        luhn.validate(digits)
    except ValidationError:
        raise fail(field, "Luhn check digit fails for card number") from None
    flags: list[str] = []
    brand = card_brand(digits)
    if brand is None:
        flags.append("unknown_brand")
    elif len(digits) not in _BRAND_LENGTHS[brand]:
        flags.append("length_unusual_for_brand")
    country: str | None = None
    issuer: str | None = None
    if bin_table is not None:
        found = bin_table.lookup(digits)
        if found is None:
            flags.append("bin_not_in_table")
        else:
            country, issuer = found.country, found.issuer
    return CardCheck(digits, brand, digits[:6], digits[-4:], country, issuer, flags)


def validate_card_expiry(expiry: str, field: str, today: date) -> str:
    """Check a card expiry (``YYYY-MM``, or ``MM/YY`` / ``MM/YYYY``) is not past; return ``YYYY-MM``.

    A card is good through the last day of its expiry month.
    """
    text = require_text(expiry, field)
    iso = re.fullmatch(r"(\d{4})-(\d{2})", text)
    slash = re.fullmatch(r"(\d{2})\s*/\s*(\d{2}|\d{4})", text)
    if iso:
        year, month = int(iso.group(1)), int(iso.group(2))
    elif slash:
        month, year = int(slash.group(1)), int(slash.group(2))
        if year < 100:
            year += 2000
    else:
        raise fail(field, "must be an expiry month in the form YYYY-MM")
    if not 1 <= month <= 12:
        raise fail(field, "month must be 01 to 12")
    if (year, month) < (today.year, today.month):
        raise fail(field, "card has expired")
    if year > today.year + 30:
        raise fail(field, "expiry is implausibly far in the future")
    return f"{year:04d}-{month:02d}"


# --------------------------------------------------------------------------------------------
# Bank accounts
# --------------------------------------------------------------------------------------------

_SCHWIFTY_IBAN_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (schwifty_errors.InvalidChecksumDigits, "IBAN check digits fail"),
    (schwifty_errors.InvalidBBANChecksum, "national check digits of the IBAN's account number fail"),
    (schwifty_errors.InvalidCountryCode, "IBAN country code is not one that issues IBANs"),
    (schwifty_errors.InvalidLength, "IBAN has the wrong length for its country"),
    (schwifty_errors.InvalidBankCode, "IBAN bank code is malformed"),
    (schwifty_errors.InvalidBranchCode, "IBAN branch code is malformed"),
    (schwifty_errors.InvalidAccountCode, "IBAN account code is malformed"),
    (schwifty_errors.InvalidStructure, "IBAN does not have its country's structure"),
)
_SCHWIFTY_BIC_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (schwifty_errors.InvalidLength, "BIC must be 8 or 11 characters"),
    (schwifty_errors.InvalidCountryCode, "BIC country code is not a country"),
    (schwifty_errors.InvalidStructure, "BIC does not have the ISO 9362 structure"),
)


@dataclass(frozen=True)
class IbanCheck:
    """A valid IBAN: compact upper-case form (the blind-index form), country and bank."""

    normalized: str
    country: str
    bank_code: str
    bic: str | None
    flags: list[str] = dataclass_field(default_factory=list)

    @property
    def masked(self) -> str:
        """Country, check digits and last four, the rest masked."""
        return f"{self.normalized[:4]}{'*' * (len(self.normalized) - 8)}{self.normalized[-4:]}"


@dataclass(frozen=True)
class BicCheck:
    """A valid BIC (ISO 9362): compact form, its parts, and whether schwifty's registry knows it."""

    normalized: str
    country: str
    bank_code: str
    location_code: str
    branch_code: str | None
    flags: list[str] = dataclass_field(default_factory=list)


def _reason_for(error: Exception, table: tuple[tuple[type[Exception], str], ...], default: str) -> str:
    for kind, reason in table:
        if isinstance(error, kind):
            return reason
    return default


def validate_iban(iban: str, field: str) -> IbanCheck:
    """Check an IBAN (ISO 13616) with schwifty: structure, length, check digits, national checksum.

    Flag ``national_checksum_not_verified`` when schwifty has no national rule for the country.
    """
    text = require_text(iban, field)
    if len(text) > 64:
        raise fail(field, "is longer than 64 characters")
    flags: list[str] = []
    try:
        parsed = IBAN(text, validate_bban=True)
    except schwifty_errors.NationalChecksumNotVerified:
        flags.append("national_checksum_not_verified")
        try:
            parsed = IBAN(text)
        except Exception as error:
            raise fail(field, _reason_for(error, _SCHWIFTY_IBAN_REASONS, "is not a valid IBAN")) from None
    except Exception as error:
        raise fail(field, _reason_for(error, _SCHWIFTY_IBAN_REASONS, "is not a valid IBAN")) from None
    try:
        bic = parsed.bic
    except Exception:  # schwifty's bank registry can hold several or odd candidates
        bic = None
    return IbanCheck(
        str(parsed.compact),
        str(parsed.country_code),
        str(parsed.bank_code),
        None if bic is None else str(bic.compact),
        flags,
    )


def validate_bic(bic: str, field: str) -> BicCheck:
    """Check a BIC (ISO 9362) with schwifty; flag ``bic_not_in_registry`` when schwifty does not know it."""
    text = require_text(bic, field)
    if len(text) > 32:
        raise fail(field, "is longer than 32 characters")
    try:
        parsed = BIC(text)
    except Exception as error:
        raise fail(field, _reason_for(error, _SCHWIFTY_BIC_REASONS, "is not a valid BIC")) from None
    flags: list[str] = []
    try:
        known = bool(parsed.exists)
    except Exception:
        known = False
    if not known:
        flags.append("bic_not_in_registry")
    branch = str(parsed.branch_code) if parsed.branch_code else None
    return BicCheck(
        str(parsed.compact), str(parsed.country_code), str(parsed.bank_code), str(parsed.location_code), branch, flags
    )


# --------------------------------------------------------------------------------------------
# Crypto wallets (the formats and checksums: ``identity.wallet_formats``)
# --------------------------------------------------------------------------------------------


def validate_wallet(address: str, field: str, network: str | None = None) -> WalletCheck:
    """Check a crypto-wallet address and return its normalised form.

    Without ``network`` the network is detected; a network may be named or given by its currency
    ticker (``BTC``, ``ETH`` ...). Verified checksums: Bitcoin, Litecoin and
    Dogecoin base58check and segwit (bech32 v0, bech32m v1+), Tron base58check. By format only
    (flag ``format_only``): Monero, Solana. Ethereum: the EIP-55 mixed-case checksum is not
    verified (flag ``checksum_not_verified``); all-lower/upper addresses carry no checksum (flag
    ``no_checksum_in_address``). A ``network`` cloudcip does not know is checked by a generic
    format (20-128 letters, digits, ``:_-``) with the flag ``unknown_network``.
    """
    text = require_text(address, field)
    if len(text) > 128:
        raise fail(field, "is longer than 128 characters")
    wanted = network.strip().lower() if isinstance(network, str) and network.strip() else None
    wanted = WALLET_TICKERS.get(wanted, wanted) if wanted is not None else None
    if wanted is not None and wanted not in WALLET_NETWORKS:
        if not GENERIC_WALLET_RE.fullmatch(text):
            raise fail(field, "must be 20 to 128 letters, digits or : _ -")
        return WalletCheck(wanted, text, "unknown", False, ["unknown_network"])
    if wanted == "ethereum":
        return ethereum_address(text, field)
    result = detect_wallet(text, field)
    if wanted is not None and result.network != wanted:
        raise fail(field, f"is not a {wanted} address")
    return result
