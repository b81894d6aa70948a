"""The identifiers that link records, as keyed blind indexes, and how strong each kind of link is (G1, B2).

A token is ``HMAC-SHA256(blind-index key, kind | normalised value)`` (``crypto.blind_index``): the
database never holds the value, and two records share a token exactly when they share the value.

- **strong** (a person's own instrument or identity): ``card`` (the full number's fingerprint),
  ``bank_account``, ``wallet``, ``national_id`` (scoped by issuing country; passports too), ``phone``,
  ``email`` (normalised: case, the provider's plus-tags and, where the provider ignores them, dots),
  ``device_id``;
- **weak** (shared by strangers behind one network): ``signup_ip``, ``signup_prefix`` (the /24 of an
  IPv4 address, the /64 of an IPv6 one), ``hosting_asn`` (the ASN of a hosting provider at signup),
  ``access_ip`` (an address both accounts used within ``ACCESS_WINDOW``).

The card, bank, wallet, national ID and phone tokens are the blind indexes the customer store already
keeps, so existing records link without opening them; the normalised e-mail, device and signup-network
tokens are computed when the value is at hand (the signup, or a one-off backfill).
"""

from __future__ import annotations

import hmac
import ipaddress
from datetime import timedelta
from typing import Literal, NamedTuple

from cloudcip.crypto.blind_index import blind_index
from cloudcip.records.masking import mask_tail

LinkKind = Literal["card", "bank_account", "wallet", "national_id", "phone", "email", "device_id", "signup_ip",
                   "signup_prefix", "hosting_asn", "access_ip"]
Strength = Literal["strong", "weak"]
STRONG_KINDS: frozenset[str] = frozenset({"card", "bank_account", "wallet", "national_id", "phone", "email",
                                          "device_id"})
WEAK_KINDS: frozenset[str] = frozenset({"signup_ip", "signup_prefix", "hosting_asn", "access_ip"})
ACCESS_WINDOW = timedelta(days=7)

# providers that ignore dots in the local part (and their aliases); every provider here drops +tags
DOTS_IGNORED = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com", "proton.me": "proton.me",
                "protonmail.com": "proton.me", "pm.me": "proton.me"}
HYPHEN_TAGS = frozenset({"yahoo.com", "ymail.com"})  # Yahoo's disposable addresses: base-keyword


def strength_of(kind: str) -> Strength:
    return "strong" if kind in STRONG_KINDS else "weak"


def normalise_email(address: str) -> str:
    """One mailbox, one form: case folded, ``+tag`` dropped, dots dropped where the provider ignores
    them, the provider's alias domains merged."""
    local, _, domain = address.strip().casefold().rpartition("@")
    if not local:
        return address.strip().casefold()
    domain = domain.rstrip(".")
    local = local.split("+", 1)[0]
    if domain in HYPHEN_TAGS:
        local = local.split("-", 1)[0]
    if domain in DOTS_IGNORED:
        local = local.replace(".", "")
        domain = DOTS_IGNORED[domain]
    return f"{local}@{domain}"


def signup_prefix(ip: str) -> str:
    """The /24 of an IPv4 address or the /64 of an IPv6 one (an IPv4-mapped address counts as IPv4)."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return _prefix_of(address)


def _prefix_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """``signup_prefix`` of a parsed (and unmapped) address: an IPv4 /24 written without building
    the network (``ip_network`` parses the text again), the same text."""
    if address.version == 4:
        first, second, third, _ = address.packed  # the dotted-quad text of the address's first three bytes
        return f"{first}.{second}.{third}.0/24"
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


def _token(key: bytes, kind: str, value: str) -> str:
    message = f"link\x00{kind}\x00{value}".encode()
    return hmac.digest(key, message, "sha256")[:20].hex()  # as blind_index: one-shot, the same hex


class Identifier(NamedTuple):
    """One identifier of one record: kind, token, and a masked form an analyst may see (a named tuple:
    a signup builds ~8, and a frozen dataclass costs twice as much to build)."""

    kind: str
    token: str
    display: str

    @property
    def strength(self) -> Strength:
        return strength_of(self.kind)


def email_identifier(key: bytes, address: str) -> Identifier:
    normalised = normalise_email(address)
    local, _, domain = normalised.partition("@")
    return Identifier("email", _token(key, "email", normalised), f"{local[:1]}•••@{domain}")


def device_identifier(key: bytes, device_id: str) -> Identifier:
    value = device_id.strip()
    return Identifier("device_id", _token(key, "device_id", value), mask_tail(value))


def signup_ip_identifiers(key: bytes, ip: str, *, asn: int | None = None, hosting: bool = False) -> list[Identifier]:
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = _prefix_of(address)
    found = [Identifier("signup_ip", _token(key, "signup_ip", str(address)), "address in " + prefix),
             Identifier("signup_prefix", _token(key, "signup_prefix", prefix), prefix)]
    if asn is not None and hosting:
        found.append(Identifier("hosting_asn", _token(key, "hosting_asn", str(asn)), f"AS{asn} (hosting)"))
    return found


def card_identifier(key: bytes, number: str, display: str) -> Identifier:
    """The card's fingerprint: the customer store's blind index of the full number."""
    return Identifier("card", blind_index(key, "card_number", number), display)


def stored_identifier(kind: str, token: str, display: str | None) -> Identifier:
    """An identifier from a blind index the customer store already keeps."""
    return Identifier(kind, token, display or "•••")
