"""Nothing personal leaves unless it is the threat itself: the allow-list per TLP level (G3, B2).

Every object that leaves (an exported bundle, a TAXII page, a re-shared peer object) passes
:func:`scrub`:

- an object type not on the allow-list is dropped whole (``email-addr``, ``user-account``,
  ``location``, ``identity`` of an individual ...), and references to dropped objects are removed
  (an ``observed-data`` or ``sighting`` left without its object goes too);
- of an allowed object, only the allowed properties stay; free text (``description``) is allowed
  only from TLP:AMBER up, and then with the subject's personal values and anything shaped like an
  e-mail address, a phone or a card number redacted;
- an indicator whose pattern compares anything other than the threat observables (addresses and
  networks, domains, e-mail domains with ``LIKE '%@domain'``, URLs, wallets, card BINs, file hashes)
  or contains one of the subject's personal values is dropped; names and an indicator's description
  stay at every level, redacted the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from cloudcip.sharing.patterns import InvalidPattern, inspect_pattern
from cloudcip.sharing.tlp import TlpLevel, rank

COMMON = frozenset({"type", "spec_version", "id", "created", "modified", "created_by_ref", "object_marking_refs",
                    "revoked", "confidence", "lang"})
SCO_COMMON = frozenset({"type", "spec_version", "id", "object_marking_refs", "defanged"})

ALLOWED: dict[str, frozenset[str]] = {
    "marking-definition": frozenset({"name", "extensions", "definition_type", "definition"}),
    "identity": frozenset({"name", "identity_class", "sectors"}),
    "indicator": frozenset({"name", "description", "indicator_types", "pattern", "pattern_type", "pattern_version",
                            "valid_from", "valid_until", "kill_chain_phases"}),
    "observed-data": frozenset({"first_observed", "last_observed", "number_observed", "object_refs"}),
    "sighting": frozenset({"sighting_of_ref", "observed_data_refs", "where_sighted_refs", "first_seen",
                           "last_seen", "count"}),
    "relationship": frozenset({"relationship_type", "source_ref", "target_ref", "start_time", "stop_time"}),
    "incident": frozenset({"name"}),
    "ipv4-addr": frozenset({"value"}),
    "ipv6-addr": frozenset({"value"}),
    "domain-name": frozenset({"value"}),
    "url": frozenset({"value"}),
}
SCO_TYPES = frozenset({"ipv4-addr", "ipv6-addr", "domain-name", "url"})
FREE_TEXT = frozenset({"description"})
FREE_TEXT_TYPES = frozenset({"incident"})
FREE_TEXT_FROM: TlpLevel = "amber"

# observable paths a shared pattern may compare: the threat, never the person
PATTERN_PATHS = frozenset({
    ("ipv4-addr", "value"), ("ipv6-addr", "value"), ("domain-name", "value"), ("url", "value"),
    ("x-cloudcip-crypto-wallet", "address"), ("x-cloudcip-payment-card", "bin"),
    ("file", "hashes"), ("network-traffic", "dst_ref"), ("network-traffic", "src_ref"),
})

REDACTED = "[redacted]"
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_DIGITS = re.compile(r"\+?\d[\d ()./\-]{5,}\d")


def redact(text: str, personal: Iterable[str]) -> str:
    """``text`` with each personal value (any case), e-mail address, phone- or card-like digit run redacted."""
    for value in sorted({v for v in personal if len(v) >= 3}, key=len, reverse=True):
        text = re.sub(re.escape(value), REDACTED, text, flags=re.IGNORECASE)
    text = _EMAIL.sub(REDACTED, text)
    return _DIGITS.sub(REDACTED, text)


def _pattern_allowed(pattern: str, personal: Iterable[str]) -> bool:
    lowered = pattern.casefold()
    if any(len(value) >= 3 and value.casefold() in lowered for value in personal):
        return False
    try:
        comparisons = inspect_pattern(pattern)
    except InvalidPattern:
        return False
    for object_type, items in comparisons.items():
        for path, operator, value in items:
            head = str(path[0]) if path else ""
            if object_type == "email-addr" and head == "value" and operator == "LIKE" \
                    and str(value).startswith("'%@"):
                continue
            if (object_type, head) not in PATTERN_PATHS:
                return False
    return True


def scrub(objects: Iterable[dict[str, Any]], level: TlpLevel, personal: Iterable[str] = (), *,
          closed: bool = True) -> list[dict[str, Any]]:
    """The objects as they may leave at ``level``: allowed types and properties only, free text redacted.

    ``closed``: the objects travel together (a bundle), so references to objects not among them go."""
    values = [v for v in personal if v]
    free_text = rank(level) >= rank(FREE_TEXT_FROM)
    kept: list[dict[str, Any]] = []
    for item in objects:
        kind = str(item.get("type", ""))
        allowed = ALLOWED.get(kind)
        if allowed is None:
            continue
        if kind == "identity" and item.get("identity_class") not in ("organization", "class", "system"):
            continue
        if kind == "indicator" and not _pattern_allowed(str(item.get("pattern", "")), values):
            continue
        if kind in SCO_TYPES and any(len(v) >= 3 and v.casefold() == str(item.get("value", "")).casefold()
                                     for v in values):
            continue
        base = SCO_COMMON if kind in SCO_TYPES else COMMON
        clean = {key: value for key, value in item.items() if key in base or key in allowed}
        if free_text and kind in FREE_TEXT_TYPES:
            for key in FREE_TEXT:
                if isinstance(item.get(key), str):
                    clean[key] = redact(item[key], values)
        for key in ("name", "description"):
            if isinstance(clean.get(key), str):
                clean[key] = redact(clean[key], values)
        kept.append(clean)
    return _without_dangling(kept) if closed else kept


def _without_dangling(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    while True:
        ids = {item["id"] for item in objects}
        result = []
        for item in objects:
            item = dict(item)
            for key in ("object_refs", "observed_data_refs", "where_sighted_refs"):
                if key in item:
                    item[key] = [ref for ref in item[key] if ref in ids]
                    if not item[key]:
                        del item[key]
            if item["type"] == "observed-data" and "object_refs" not in item:
                continue
            if item["type"] == "sighting" and item.get("sighting_of_ref") not in ids:
                continue
            if item["type"] == "relationship" and (item.get("source_ref") not in ids
                                                   or item.get("target_ref") not in ids):
                continue
            if item.get("created_by_ref") and item["created_by_ref"] not in ids:
                del item["created_by_ref"]
            result.append(item)
        if len(result) == len(objects):
            return result
        objects = result
