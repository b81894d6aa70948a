"""The hook through which a signup asks which exemption applies to it (F1): a Protocol the wiring fills.

``verification`` does not import ``exemptions``; ``runtime.gate_applications`` passes the exemption
register's implementation in. Before the decision, ``applying`` names the exemptions in force for the
application's context at that instant (each exempted step from one exemption at most: the register
refuses overlaps); ``decide`` then skips exactly those steps, visibly. In the signup's transaction,
``record_use`` keeps the use, so that the accounts are flagged for re-verification when the
exemption ends.

Only these steps can be exempted; screening against designated persons and special measures never
are (EO 13984 sec. 1(c) exempts from the CIP's identification and verification, not from sec. 2).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection

IDENTITY_VERIFICATION = "identity_verification"
BENEFICIAL_OWNER_VERIFICATION = "beneficial_owner_verification"
PERIODIC_REVERIFICATION = "periodic_reverification"
#: the steps an exemption may name, and nothing else
EXEMPTABLE_STEPS: tuple[str, ...] = (IDENTITY_VERIFICATION, BENEFICIAL_OWNER_VERIFICATION, PERIODIC_REVERIFICATION)
#: never exempted (asking for them is refused naming the field)
NEVER_EXEMPTED: tuple[str, ...] = ("screening", "special_measures")


@dataclass(frozen=True)
class SignupContext:
    """What an exemption's scope is matched against: the account type (``standard``, ``reseller``,
    ``trial``) and the lessee type (``individual``, ``entity``, or ``sub_lessee`` when the account
    hangs under a Reseller Account)."""

    account_type: str
    customer_kind: str
    sub_lessee: bool = False

    @property
    def lessee_types(self) -> frozenset[str]:
        return frozenset({self.customer_kind, "sub_lessee"} if self.sub_lessee else {self.customer_kind})


@dataclass(frozen=True)
class ExemptionInForce:
    """One exemption that applies, and the steps of it that the decision skips."""

    exemption_id: str
    steps: frozenset[str]


def step_map(exemptions: Sequence[ExemptionInForce]) -> dict[str, str]:
    """``{step: exemption id}`` of the exemptions in force."""
    return {step: item.exemption_id for item in exemptions for step in sorted(item.steps)}


def stored_steps(exempted_steps: Mapping[str, str]) -> str | None:
    """The ``application.exempted_steps`` column: JSON ``{step: exemption id}``, or None."""
    return json.dumps(dict(sorted(exempted_steps.items()))) if exempted_steps else None


def steps_of_row(value: str | None) -> tuple[ExemptionInForce, ...]:
    """The exemptions in force for a stored case, from its ``exempted_steps`` column."""
    if not value:
        return ()
    by_id: dict[str, set[str]] = {}
    for step, exemption_id in json.loads(value).items():
        by_id.setdefault(str(exemption_id), set()).add(str(step))
    return tuple(ExemptionInForce(exemption_id, frozenset(steps)) for exemption_id, steps in sorted(by_id.items()))


class SignupExemptions(Protocol):
    def applying(self, conn: Connection, context: SignupContext, at: datetime) -> Sequence[ExemptionInForce]: ...

    def record_use(self, conn: Connection, used: Sequence[ExemptionInForce], *, application_id: str,
                   account_id: str, customer_id: str, at: datetime) -> None: ...
