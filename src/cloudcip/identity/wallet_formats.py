"""Crypto-wallet address formats and their checksums (A3, A4, B2).

Bitcoin, Litecoin and Dogecoin base58check (stdnum's base58) and segwit addresses (BIP-173 bech32 for
v0, BIP-350 bech32m for v1+, on stdnum's polymod), Tron base58check, Ethereum with its EIP-55
mixed-case checksum (Keccak-256), Monero and Solana by format. ``identity.payment.validate_wallet``
names the network and calls ``detect_wallet``; each check returns the normalised form fit for an
exact-match blind index (B2).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from stdnum import bitcoin as stdnum_bitcoin
from stdnum.exceptions import ValidationError

from cloudcip.identity.problems import fail

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_RE = re.compile(f"[{_BASE58}]+")
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONSTANT = 0x2BC830A3
#: base58check version byte -> (network, address type)
_BASE58_VERSIONS: dict[int, tuple[str, str]] = {
    0x00: ("bitcoin", "p2pkh"),
    0x05: ("bitcoin", "p2sh"),
    0x30: ("litecoin", "p2pkh"),
    0x32: ("litecoin", "p2sh"),
    0x1E: ("dogecoin", "p2pkh"),
    0x16: ("dogecoin", "p2sh"),
    0x41: ("tron", "base58check"),
}
_BECH32_NETWORKS: dict[str, str] = {"bc": "bitcoin", "ltc": "litecoin"}
_ETHEREUM_RE = re.compile(r"0[xX]([0-9a-fA-F]{40})")
_MONERO_RE = re.compile(f"[48][{_BASE58}]{{94}}|4[{_BASE58}]{{105}}")
_SOLANA_RE = re.compile(f"[{_BASE58}]{{32,44}}")
GENERIC_WALLET_RE = re.compile(r"[A-Za-z0-9:_\-]{20,128}")
#: Networks cloudcip recognises by name; any other name is checked by format only.
WALLET_NETWORKS: frozenset[str] = frozenset({"bitcoin", "ethereum", "litecoin", "dogecoin", "tron", "monero", "solana"})
#: Currency tickers a payment means names (``"currency": "BTC"``) and the network each means.
WALLET_TICKERS: dict[str, str] = {"btc": "bitcoin", "eth": "ethereum", "ltc": "litecoin", "doge": "dogecoin",
                                  "trx": "tron", "xmr": "monero", "sol": "solana"}


@dataclass(frozen=True)
class WalletCheck:
    """A wallet address: network, normalised form (the blind-index form), how far it was verified."""

    network: str
    normalized: str
    address_type: str
    checksum_verified: bool
    flags: list[str] = dataclass_field(default_factory=list)


def _base58check(text: str) -> tuple[int, bool] | None:
    """(version byte, checksum ok) for a 25-byte base58check payload, None when not one."""
    if not _BASE58_RE.fullmatch(text) or len(text) > 40:
        return None
    raw = stdnum_bitcoin.b58decode(text)
    if len(raw) != 25:
        return None
    digest = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()
    return raw[0], digest[:4] == raw[-4:]


def _expand_hrp(hrp: str) -> list[int]:
    """BIP-173: the human-readable part as fed to the checksum (high bits, a zero, low bits)."""
    return [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]


def _bech32_segwit(text: str, field: str) -> WalletCheck | None:
    """Check a segwit address (BIP-173 bech32 for v0, BIP-350 bech32m for v1+); None if not one."""
    hrp, separator, data_part = text.rpartition("1")
    if not separator or hrp.lower() not in _BECH32_NETWORKS:
        return None
    network = _BECH32_NETWORKS[hrp.lower()]
    if text != text.lower() and text != text.upper():
        raise fail(field, "segwit address mixes upper and lower case")
    lowered = text.lower()
    hrp, data_part = hrp.lower(), lowered[len(hrp) + 1 :]
    if len(lowered) > 90 or len(data_part) < 7 or any(char not in _BECH32 for char in data_part):
        raise fail(field, f"is not a valid {network} segwit address")
    values = [_BECH32.index(char) for char in data_part]
    residue = stdnum_bitcoin.bech32_checksum(_expand_hrp(hrp) + values)
    version = values[0]
    expected = 1 if version == 0 else _BECH32M_CONSTANT
    if residue != expected:
        raise fail(field, f"checksum fails for {network} segwit address")
    try:
        program = stdnum_bitcoin.b32decode(values[1:-6])
    except ValidationError:
        raise fail(field, f"is not a valid {network} segwit address") from None
    if version > 16 or not 2 <= len(program) <= 40 or (version == 0 and len(program) not in (20, 32)):
        raise fail(field, f"is not a valid {network} segwit address")
    if version == 0:
        kind = "p2wpkh" if len(program) == 20 else "p2wsh"
    elif version == 1 and len(program) == 32:
        kind = "p2tr"
    else:
        kind = f"segwit_v{version}"
    return WalletCheck(network, lowered, kind, True, [])


def ethereum_address(text: str, field: str) -> WalletCheck:
    match = _ETHEREUM_RE.fullmatch(text)
    if match is None:
        raise fail(field, "an Ethereum address is 0x followed by 40 hexadecimal digits")
    body = match.group(1)
    normalized = "0x" + body.lower()
    if body == body.lower() or body == body.upper():
        return WalletCheck("ethereum", normalized, "account", False, ["no_checksum_in_address"])
    expected = eip55_checksum_case(body.lower())
    if expected is None:
        return WalletCheck("ethereum", normalized, "account", False, ["checksum_not_verified"])
    if expected != body:
        raise fail(field, "EIP-55 mixed-case checksum fails for Ethereum address")
    return WalletCheck("ethereum", normalized, "account", True, [])


def _keccak256() -> Callable[[bytes], bytes] | None:
    """Keccak-256 from OpenSSL (3.2 and later) through hashlib, else from pycryptodome (a dependency)."""
    try:
        hashlib.new("keccak-256")
    except ValueError:
        try:
            from Crypto.Hash import keccak
        except ImportError:  # pragma: no cover - pycryptodome is installed with cloudcip
            return None
        return lambda data: keccak.new(digest_bits=256, data=data).digest()
    return lambda data: hashlib.new("keccak-256", data).digest()


_KECCAK256 = _keccak256()


def eip55_checksum_case(lower_hex: str) -> str | None:
    """The EIP-55 mixed-case form of 40 lower-case hex digits, or None without a Keccak-256.

    EIP-55 hashes with Keccak-256 (the pre-standard padding), not FIPS 202 SHA3-256, so
    ``hashlib.sha3_256`` cannot stand in; OpenSSL offers Keccak-256 from version 3.2, pycryptodome
    on any platform.
    """
    if _KECCAK256 is None:
        return None
    digest = _KECCAK256(lower_hex.encode("ascii")).hex()
    return "".join(
        char.upper() if char.isalpha() and int(digest[index], 16) >= 8 else char for index, char in enumerate(lower_hex)
    )


def detect_wallet(text: str, field: str) -> WalletCheck:
    segwit = _bech32_segwit(text, field)
    if segwit is not None:
        return segwit
    if text[:2] in ("0x", "0X"):
        return ethereum_address(text, field)
    decoded = _base58check(text)
    if decoded is not None:
        version, checksum_ok = decoded
        if version in _BASE58_VERSIONS:
            network, kind = _BASE58_VERSIONS[version]
            if not checksum_ok:
                raise fail(field, f"checksum fails for {network} address")
            return WalletCheck(network, text, kind, True, [])
    if _MONERO_RE.fullmatch(text):
        return WalletCheck("monero", text, "standard" if len(text) == 95 else "integrated", False, ["format_only"])
    if _SOLANA_RE.fullmatch(text) and len(stdnum_bitcoin.b58decode(text)) == 32:
        return WalletCheck("solana", text, "account", False, ["format_only"])
    raise fail(field, "is not a recognised wallet address")
