"""Special measures as the verification workflow sees them (D1, D2, D4, A6).

- :func:`measure_facts`: the measures an assessment considered (``MeasureApplying.as_json``, as kept
  in an application's answer) become the decision's facts: a measure in force that applies (a
  prohibition or conditions) or whose reach needs review; the others (not located, not reached,
  only determined) become reasons that explain without deciding. Each names the measure, the
  jurisdiction, the evidence and the determination (D1).
- :func:`account_state`: the state an account takes when its case moves, never looser than what a
  special measure in force did to it: an account a prohibition closed stays closed whatever its case
  says, one under conditions is restricted rather than active (A7: re-verification only tightens,
  or loosens through the evidence path).
- :func:`prohibited`: whether a prohibition in force closed the account.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, bindparam, select

from cloudcip.screening.reach import explain
from cloudcip.screening.schema import special_measure, special_measure_effect
from cloudcip.storage.prepared import Prepared
from cloudcip.verification.decision import MeasureInForce
from cloudcip.verification.policy import Restriction


def _reason_of(measure: dict[str, Any]) -> str:
    if measure.get("kind") == "jurisdiction":
        return explain(str(measure.get("outcome", "applies")), str(measure["id"]), measure.get("jurisdiction"),
                       str(measure.get("evidence") or ""), str(measure.get("determination") or ""),
                       measure.get("located_in"))
    return f"measure_applies:{measure['id']}: {measure.get('basis')}; {measure.get('determination') or ''}"


def _grounds(measure: dict[str, Any]) -> str:
    """What a deciding measure rests on, for its reason: jurisdiction, evidence, determination, location."""
    if measure.get("kind") != "jurisdiction":
        return f"{measure.get('basis')}; {measure.get('determination') or ''}"
    where = measure.get("located_in") or "nowhere by the evidence"
    return (f"jurisdiction {measure.get('jurisdiction')}: {measure.get('evidence')}; {measure.get('determination')}; "
            f"located in {where}")


def measure_facts(measures: Sequence[dict[str, Any]]) -> tuple[tuple[MeasureInForce, ...], list[str]]:
    """(the measures that decide, the reasons that only explain) of an assessment's measures."""
    deciding: list[MeasureInForce] = []
    notes: list[str] = []
    for measure in measures:
        outcome = str(measure.get("outcome", "applies"))
        text = _reason_of(measure)
        if measure.get("status") == "in_force" and outcome in ("applies", "review"):
            restrictions = tuple(Restriction(name=str(name)) for name in measure.get("conditions") or [])
            deciding.append(MeasureInForce(str(measure["id"]), measure["measure"], restrictions,
                                           "review" if outcome == "review" else "applies", _grounds(measure)))
        elif measure.get("status") == "determined" and outcome in ("applies", "review"):
            notes.append(f"{text} (determined; in force from {measure.get('effective_date')})")
        else:
            notes.append(text)
    return tuple(deciding), notes


# asked on every move of a case (evidence, review, deadline): built once, run on the driver (``storage.prepared``)
_EFFECTS = Prepared(
    select(special_measure_effect.c.action, special_measure.c.revoked_at, special_measure.c.expires_on)
    .join(special_measure, special_measure.c.id == special_measure_effect.c.measure_id)
    .where(special_measure_effect.c.account_id == bindparam("account_id")))


def _effects_in_force(conn: Connection, account_id: str, today: date) -> list[str]:
    return [action for action, revoked_at, expires_on in _EFFECTS.all(conn, {"account_id": account_id})
            if revoked_at is None and expires_on > today]


def account_state(conn: Connection, account_id: str, follows: str, today: date) -> str:
    """The account's state when its case says ``follows``, never looser than a measure in force made it."""
    effects = _effects_in_force(conn, account_id, today)
    if "closed" in effects or "already_closed" in effects:
        return "closed"
    if "restricted" in effects and follows in ("active", "restricted_pending", "pending_review"):
        return "restricted"
    return follows


def prohibited(conn: Connection, account_id: str, today: date) -> bool:
    """Whether a prohibition in force closed this account (D1, D4)."""
    effects = _effects_in_force(conn, account_id, today)
    return "closed" in effects or "already_closed" in effects
