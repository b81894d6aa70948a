"""The words of the CIP policy file and the checks of its values (A1, A3, A4, A6).

The vocabularies a rule is written in (account types, channels, risk tiers, customer kinds, the
documentary and non-documentary methods of A4, the fields of A3, the restrictions and failure actions
of A6), the annotated types that check a value against them (a check that knows a deeper path than
pydantic's location reports it as ``@relative.path: message``; ``policy.validation_problems`` joins
the two), and the deadline durations (whole days or ISO-8601). The policy's shape is in
``verification.policy``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
)

ACCOUNT_TYPES: tuple[str, ...] = ("standard", "reseller", "trial")
CHANNELS: tuple[str, ...] = ("self_serve", "sales_assisted", "marketplace", "via_reseller")
RISK_TIERS: tuple[str, ...] = ("low", "standard", "high")
CUSTOMER_KINDS: tuple[str, ...] = ("individual", "entity")

DOCUMENTARY_METHODS: tuple[str, ...] = ("passport", "national_id_card", "registration_document")
NON_DOCUMENTARY_METHODS: tuple[str, ...] = ("email_otp", "phone_otp", "payment_check", "vendor_idv")
METHODS: tuple[str, ...] = DOCUMENTARY_METHODS + NON_DOCUMENTARY_METHODS
#: methods that may fill a documentary or a non-documentary place, but only one of them: the vendor's
#: document-and-selfie check (A5) is counted once (A4)
EITHER_KIND: frozenset[str] = frozenset({"vendor_idv"})


def counts_as(method: str, kind: tuple[str, ...]) -> bool:
    """Whether ``method`` may fill a place of ``kind`` (``DOCUMENTARY_METHODS`` or ``NON_DOCUMENTARY_METHODS``)."""
    return method in kind or method in EITHER_KIND

#: The fields a rule may require, in the words of the customer record.
FIELDS: tuple[str, ...] = (
    "name",
    "address",
    "national_id",
    "registration",
    "payment_means",
    "source_of_funds",
    "payment_source",
    "email",
    "phone",
    "birth_date",
    "nationality",
    "documents",
    "beneficial_owners",
    "signatories",
)

#: Restrictions that are on or off.
RESTRICTION_FLAGS: tuple[str, ...] = (
    "no_gpu",
    "no_bare_metal",
    "no_outbound_smtp",
    "no_sub_lessees",
    "no_provisioning",
    "enhanced_monitoring",
)
#: Restrictions that carry a limit (a number >= 0).
RESTRICTION_LIMITS: tuple[str, ...] = ("max_instances", "max_vcpus", "spend_limit_usd", "max_egress_gb")

FAILURE_ACTIONS: tuple[str, ...] = ("refuse", "close", "restrict")
TRIGGER_OUTCOMES: tuple[str, ...] = ("proceed", "in_review", "refused")

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_ISO_DURATION = re.compile(r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?)?$")


# --------------------------------------------------------------------------------------------------
# Value checks. A check that knows a deeper path than pydantic's location reports it as
# "@relative.path: message"; ``validation_problems`` joins the two.


def known(vocabulary: tuple[str, ...], what: str) -> Any:
    def check(value: str) -> str:
        if value not in vocabulary:
            raise ValueError(f"unknown {what} {value!r} (expected one of: {', '.join(vocabulary)})")
        return value

    return check


def _known_method(value: str) -> str:
    if value not in METHODS:
        raise ValueError(f"unknown method {value!r} (expected one of: {', '.join(METHODS)})")
    return value


Method = Annotated[str, AfterValidator(_known_method)]
FieldName = Annotated[str, AfterValidator(known(FIELDS, "field"))]
FailureAction = Annotated[str, AfterValidator(known(FAILURE_ACTIONS, "failure action"))]
TriggerOutcome = Annotated[str, AfterValidator(known(TRIGGER_OUTCOMES, "outcome"))]
Identifier = Annotated[str, Field(pattern=_ID.pattern)]


def selector(vocabulary: tuple[str, ...], what: str) -> Any:
    def parse(value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not items:
            raise ValueError(f"expected '*', a {what} or a list of them")
        if "*" in items:
            if len(items) > 1:
                raise ValueError("'*' stands alone")
            return ("*",)
        problems = []
        for position, item in enumerate(items):
            if item not in vocabulary:
                problems.append(f"@{position}: unknown {what} {item!r} (expected one of: {', '.join(vocabulary)})")
        if problems:
            raise ValueError("\n".join(problems))
        return tuple(dict.fromkeys(items))

    return parse


def deadline_from(value: Any) -> timedelta:
    """A deadline given as whole days (``14``) or an ISO-8601 duration (``P14D``, ``P2W``, ``PT72H``)."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, int) and not isinstance(value, bool):
        delta = timedelta(days=value)
    elif isinstance(value, str) and (found := _ISO_DURATION.match(value.strip())) and value.strip() != "P":
        parts = {key: int(number) for key, number in found.groupdict().items() if number is not None}
        if not parts:
            raise ValueError(f"not a duration: {value!r} (use days, or ISO-8601 like P14D)")
        delta = timedelta(weeks=parts.get("weeks", 0), days=parts.get("days", 0), hours=parts.get("hours", 0))
    else:
        raise ValueError(f"not a duration: {value!r} (use days, or ISO-8601 like P14D)")
    if delta <= timedelta(0):
        raise ValueError("a deadline must be after the decision")
    return delta


def duration_text(delta: timedelta) -> str:
    """The ISO-8601 form of a deadline: ``P14D``, ``PT36H``."""
    if delta % timedelta(days=1) == timedelta(0):
        return f"P{delta.days}D"
    return f"PT{int(delta.total_seconds() // 3600)}H"


Deadline = Annotated[timedelta, BeforeValidator(deadline_from)]
