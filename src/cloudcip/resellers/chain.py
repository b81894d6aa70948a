"""Special measures reaching through the reseller chain to sub-lessees (D1, D4, E2).

When a special measure **in force** applies to a sub-lessee (a jurisdiction it is connected to, or a
listed or described person it matches; ``ScreeningService.screen_person`` says which), it acts once,
on the sub-lessee and on its Reseller Account:

- **prohibition**: the sub-lessee is ``refused`` (the reseller may no longer serve it; the record is
  kept), and the Reseller Account gets a ``review`` hit (subject ``reseller``, the account id; entry
  ``special_measure:<measure id>``) in the adjudication queue, so a person looks at the reseller.
  The account itself stays open: one sub-lessee does not close a reseller.
- **conditions**: the measure and its conditions are recorded on the sub-lessee, and the Reseller
  Account is ``restricted`` (once per measure and account, kept in ``special_measure_effect`` as the
  re-screening of customers does).

Each effect is a ledger entry on the sub-lessee (and on the account when it changes) and a webhook
notice ``sub_lessee.measure_applied`` (ids and states only). A measure that is only determined does
nothing yet; a measure that does not cover Reseller Accounts (``covers_resellers: false``) does not
reach through them; a listed-entry measure whose hit on this sub-lessee was cleared as a false positive
does not act (D5).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.resellers.schema import sub_lessee
from cloudcip.screening.hits import record_hits, subject_hash
from cloudcip.screening.matcher import Hit
from cloudcip.screening.reach import review_hit
from cloudcip.screening.schema import screening_hit, special_measure_effect
from cloudcip.screening.service import MeasureApplying, ScreeningResult
from cloudcip.storage.schema import account

if TYPE_CHECKING:
    from cloudcip.resellers.sub_lessees import ResellerAccount

MEASURE_SOURCE = "special_measure"
NOTICE = "sub_lessee.measure_applied"


@dataclass(frozen=True)
class ChainEffect:
    """What one measure did to a sub-lessee and its Reseller Account."""

    measure_id: str
    measure: str  # prohibit | conditions
    sub_lessee_id: str
    reseller_account_id: str
    action: str  # refused | conditions_recorded
    account_action: str  # review | restricted | already_restricted | already_closed

    def as_json(self) -> dict[str, Any]:
        return {"measure_id": self.measure_id, "measure": self.measure, "sub_lessee_id": self.sub_lessee_id,
                "reseller_account_id": self.reseller_account_id, "action": self.action,
                "account_action": self.account_action}


def measure_reviews(result: ScreeningResult) -> list[Hit]:
    """``review`` hits for the measures in force whose reach over the sub-lessee the location evidence
    leaves open (D1, D2): a person decides; nothing acts meanwhile."""
    return [review_hit(m.measure.id, m.measure.measure, m.jurisdiction, m.evidence, m.determination, m.located_in)
            for m in result.measures_considered if m.outcome == "review" and m.status == "in_force"]


def _cleared(work: UnitOfWork, sub_lessee_id: str, digest: str) -> set[tuple[str, str]]:
    rows = work.conn.execute(select(screening_hit.c.list_source, screening_hit.c.list_source_id).where(
        (screening_hit.c.subject_type == "sub_lessee") & (screening_hit.c.subject_id == sub_lessee_id)
        & (screening_hit.c.subject_hash == digest) & (screening_hit.c.state == "false_positive")))
    return {(row.list_source, row.list_source_id) for row in rows}


def due_measures(work: UnitOfWork, sub_lessee_id: str, digest: str, recorded: Sequence[dict[str, Any]],
                 applying: Sequence[MeasureApplying]) -> list[MeasureApplying]:
    """The measures that act now: in force, covering resellers, not yet applied, not cleared (D5);
    prohibitions first."""
    done = {str(entry.get("measure_id")) for entry in recorded}
    cleared: set[tuple[str, str]] | None = None
    due: dict[str, MeasureApplying] = {}
    for item in applying:
        measure = item.measure
        if item.status != "in_force" or not measure.covers_resellers or measure.id in done or measure.id in due:
            continue
        entry = measure.listed_entry()
        if entry is not None:
            if cleared is None:
                cleared = _cleared(work, sub_lessee_id, digest)
            if entry in cleared:
                continue
        due[measure.id] = item
    return sorted(due.values(), key=lambda m: (m.measure.measure != "prohibit", m.measure.id))


def reach_through(work: UnitOfWork, index_key: bytes, reseller: ResellerAccount, sub_lessee_id: str, digest: str,
                  recorded: Sequence[dict[str, Any]], applying: Sequence[MeasureApplying], now: datetime,
                  actor: Actor) -> tuple[str, list[ChainEffect]]:
    """Apply the due measures to an active sub-lessee and its Reseller Account; (its status, effects)."""
    effects: list[ChainEffect] = []
    status = "active"
    entries = list(recorded)
    for item in due_measures(work, sub_lessee_id, digest, recorded, applying):
        measure = item.measure
        basis_kind = item.basis.split(" ")[0]
        entries.append({"measure_id": measure.id, "measure": measure.measure, "conditions": measure.conditions,
                        "applied_at": now.isoformat()})
        if measure.measure == "prohibit":
            status = "refused"
            account_action = _review_hit(work, index_key, reseller.id, sub_lessee_id, item, now)
            action = "refused"
        else:
            account_action = _restrict(work, reseller, measure.id, sub_lessee_id, measure.conditions, now, actor)
            action = "conditions_recorded"
        work.log(LedgerAction(actor.name, actor.role, "apply_special_measure", "sub_lessee", sub_lessee_id,
                              purpose="special measure",
                              detail={"measure_id": measure.id, "measure": measure.measure, "to": action,
                                      "basis": basis_kind, "reseller_account_id": reseller.id,
                                      "account_action": account_action}))
        enqueue(work.conn, NOTICE, {
            "reseller_account_id": reseller.id, "sub_lessee_id": sub_lessee_id, "measure_id": measure.id,
            "measure": measure.measure, "restrictions": list(measure.conditions), "action": action,
            "account_action": account_action,
        }, now=now)
        effects.append(ChainEffect(measure.id, measure.measure, sub_lessee_id, reseller.id, action, account_action))
        if status == "refused":
            break  # nothing more acts on a refused sub-lessee
    if effects:
        values: dict[str, Any] = {"measures_json": json.dumps(entries), "updated_at": now}
        if status == "refused":
            values.update(status="refused", removed_at=now)
        work.conn.execute(update(sub_lessee).where(sub_lessee.c.id == sub_lessee_id).values(**values))
    return status, effects


def _review_hit(work: UnitOfWork, index_key: bytes, reseller_account_id: str, sub_lessee_id: str,
                item: MeasureApplying, now: datetime) -> str:
    """A ``review`` hit on the Reseller Account: one of its sub-lessees falls under a prohibition."""
    measure = item.measure
    hit = Hit(MEASURE_SOURCE, measure.id, f"sub-lessee {sub_lessee_id}", 1.0, "review",
              {"measure": measure.measure, "basis": item.basis.split(" ")[0]},
              [f"sub-lessee {sub_lessee_id} falls under prohibition {measure.id} ({item.basis.split(' ')[0]})"])
    record_hits(work.conn, "reseller", reseller_account_id, subject_hash(index_key, {"sub_lessee_id": sub_lessee_id}),
                [hit], lambda _source, source_id: source_id, now, index_key=index_key)
    return "review"


def _restrict(work: UnitOfWork, reseller: ResellerAccount, measure_id: str, sub_lessee_id: str,
              conditions: Sequence[str], now: datetime, actor: Actor) -> str:
    """Restrict the Reseller Account under a conditions measure, once per measure and account."""
    conn = work.conn
    done = conn.execute(select(special_measure_effect.c.action).where(
        (special_measure_effect.c.measure_id == measure_id)
        & (special_measure_effect.c.customer_id == reseller.customer_id)
        & (special_measure_effect.c.account_id == reseller.id))).first()
    if done is not None:
        return "already_closed" if done.action == "already_closed" else "already_restricted"
    state = conn.execute(select(account.c.state).where(account.c.id == reseller.id)).scalar_one()
    if state in ("closed", "refused"):
        action = "already_closed"
    else:
        action = "restricted"
        conn.execute(update(account).where(account.c.id == reseller.id).values(state="restricted"))
    conn.execute(insert(special_measure_effect).values(
        measure_id=measure_id, customer_id=reseller.customer_id, account_id=reseller.id, action=action,
        previous_state=state, applied_at=now))
    work.log(LedgerAction(actor.name, actor.role, "apply_special_measure", "account", reseller.id,
                          purpose="special measure",
                          detail={"measure_id": measure_id, "measure": "conditions", "conditions": list(conditions),
                                  "from": state, "to": action, "via": "sub_lessee",
                                  "sub_lessee_id": sub_lessee_id}))
    return action
