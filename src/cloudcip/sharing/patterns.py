"""STIX patterns of shared indicators: validated and inspected in one parse (G3).

``stix2-patterns`` (OASIS) parses the pattern once; the parse tree gives both the validation
``stix2`` itself would run (grammar, object and qualifier checks) and the comparisons matched against
our records, so an indicator's pattern is parsed once on its way in, not twice.
"""

from __future__ import annotations

from typing import Any

from stix2patterns.exceptions import ParseException
from stix2patterns.v21 import object_validator
from stix2patterns.v21.pattern import Pattern
from stix2patterns.v21.validator import DuplicateQualifierTypeError, ValidationListener


class InvalidPattern(ValueError):
    """The pattern does not parse or names what STIX 2.1 does not allow."""


def inspect_pattern(pattern: str) -> dict[str, list[Any]]:
    """The comparisons of a valid STIX 2.1 pattern, by object type; ``InvalidPattern`` otherwise."""
    try:
        parsed = Pattern(pattern)
        data = parsed.inspect()
        if object_validator.verify_object(data):
            raise InvalidPattern("pattern: an object or property STIX 2.1 does not allow")
        parsed.walk(ValidationListener())
    except (ParseException, DuplicateQualifierTypeError) as exc:
        raise InvalidPattern("pattern: not a valid STIX pattern") from exc
    except InvalidPattern:
        raise
    except Exception as exc:  # the ANTLR runtime raises its own kinds on malformed input
        raise InvalidPattern("pattern: not a valid STIX pattern") from exc
    comparisons: dict[str, list[Any]] = data.comparisons
    return comparisons


def terms_of(comparisons: dict[str, list[Any]]) -> list[dict[str, str]]:
    """The observables a pattern compares, each as ``{"kind", "value", "op"}``."""
    terms: list[dict[str, str]] = []
    for object_type, items in comparisons.items():
        for path, operator, value in items:
            head = str(path[0]) if path else ""
            text = str(value).strip("'")
            if object_type in ("ipv4-addr", "ipv6-addr") and head == "value" and operator in ("=", "ISSUBSET"):
                terms.append({"kind": "ip", "value": text, "op": operator})
            elif object_type == "x-cloudcip-crypto-wallet" and head == "address" and operator == "=":
                terms.append({"kind": "wallet", "value": text, "op": operator})
            elif object_type == "email-addr" and head == "value" and operator == "=" and "@" in text:
                terms.append({"kind": "email", "value": text, "op": operator})
            elif object_type == "email-addr" and head == "value" and operator == "LIKE" and text.startswith("%@"):
                terms.append({"kind": "email_domain", "value": text[2:].lower(), "op": operator})
            elif object_type == "domain-name" and head == "value" and operator == "=":
                terms.append({"kind": "domain", "value": text.lower(), "op": operator})
            elif object_type == "x-cloudcip-payment-card" and head == "bin":
                terms.append({"kind": "card_bin", "value": text, "op": operator})
            else:
                terms.append({"kind": "other", "value": f"{object_type}:{head}", "op": operator})
    return terms


def pattern_terms(pattern: str) -> list[dict[str, str]]:
    return terms_of(inspect_pattern(pattern))
