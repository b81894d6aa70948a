"""Writing a re-screening batch's results: its hits and the effective-date step of special measures (D4, D1, D5).

On and after a measure's effective date, each affected customer's accounts go to ``closed``
(prohibition) or ``restricted`` (conditions), each with a ledger entry and a webhook notice
(``account.measure_applied``); a customer without accounts is recorded as affected. Reseller
accounts are skipped only when the measure says it does not cover them. ``special_measure_effect``
keeps what was done, so a measure acts once per account; a cleared false positive keeps a
listed-entry measure from acting.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.screening.hits import record_hits
from cloudcip.screening.matcher import Hit
from cloudcip.screening.measures import Measure
from cloudcip.screening.reach import review_hit
from cloudcip.screening.rescreen_batch import BatchOutcome, ScreeningPlan
from cloudcip.screening.schema import screening_hit, special_measure_effect
from cloudcip.storage.schema import account

#: what else acts when a measure closes or restricts an account (the verification case), in the transaction
AccountEffect = Callable[[UnitOfWork, str, Measure, str], None]


def _cleared_entries(conn: Connection, subject_type: str, subject_id: str, digest: str) -> set[tuple[str, str]]:
    rows = conn.execute(select(screening_hit.c.list_source, screening_hit.c.list_source_id).where(
        (screening_hit.c.subject_type == subject_type) & (screening_hit.c.subject_id == subject_id)
        & (screening_hit.c.subject_hash == digest) & (screening_hit.c.state == "false_positive")))
    return {(row.list_source, row.list_source_id) for row in rows}


def _apply_measure(work: UnitOfWork, measure: Measure, customer_id: str, basis: dict[str, Any], now: datetime,
                   actor: Actor, account_effect: AccountEffect | None = None) -> list[dict[str, Any]]:
    """Close or restrict the customer's accounts under ``measure`` (once per account); the effects, each
    naming what it rests on (``basis``: subject, jurisdiction, evidence, determination; D1)."""
    conn = work.conn
    done = {row.account_id for row in conn.execute(select(special_measure_effect.c.account_id).where(
        (special_measure_effect.c.measure_id == measure.id) & (special_measure_effect.c.customer_id == customer_id)))}
    effects: list[dict[str, Any]] = []
    accounts = list(conn.execute(select(account.c.id, account.c.type, account.c.state, account.c.closed_at)
                                 .where(account.c.customer_id == customer_id).order_by(account.c.id)))
    new_state = "closed" if measure.measure == "prohibit" else "restricted"
    if not accounts:
        if None in done:
            return effects
        conn.execute(insert(special_measure_effect).values(
            measure_id=measure.id, customer_id=customer_id, account_id=None, action="recorded",
            previous_state=None, applied_at=now, basis_json=json.dumps(basis)))
        work.log(LedgerAction(actor.name, actor.role, "apply_special_measure", "customer", customer_id,
                              purpose="special measure",
                              detail={"measure_id": measure.id, "measure": measure.measure, "accounts": 0,
                                      **_ledger_basis(basis)}))
        effects.append({"measure_id": measure.id, "customer_id": customer_id, "account_id": None,
                        "action": "recorded", "basis": basis})
        _notify(conn, measure, customer_id, None, "recorded", now)
        return effects
    for acct in accounts:
        if acct.id in done or (acct.type == "reseller" and not measure.covers_resellers):
            continue
        if acct.state == "closed":
            action = "already_closed"
        else:
            action = new_state
            values: dict[str, Any] = {"state": new_state}
            if new_state == "closed" and acct.closed_at is None:  # a refusal's closure stands (B1)
                values.update(closed_at=now, closed_by="special_measure")
            conn.execute(update(account).where(account.c.id == acct.id).values(**values))
        conn.execute(insert(special_measure_effect).values(
            measure_id=measure.id, customer_id=customer_id, account_id=acct.id, action=action,
            previous_state=acct.state, applied_at=now, basis_json=json.dumps(basis)))
        work.log(LedgerAction(actor.name, actor.role, "apply_special_measure", "account", acct.id,
                              purpose="special measure",
                              detail={"measure_id": measure.id, "measure": measure.measure,
                                      "conditions": measure.conditions, "from": acct.state, "to": action,
                                      **_ledger_basis(basis)}))
        if account_effect is not None and action in ("closed", "restricted"):
            account_effect(work, acct.id, measure, action)
        effects.append({"measure_id": measure.id, "customer_id": customer_id, "account_id": acct.id,
                        "action": action, "basis": basis})
        _notify(conn, measure, customer_id, acct.id, action, now)
    return effects


def _ledger_basis(basis: dict[str, Any]) -> dict[str, Any]:
    """The effect's basis for the ledger: kinds and codes, never a value."""
    return {"basis": str(basis.get("basis", "")).split(" ")[0], "subject": basis.get("subject"),
            "jurisdiction": basis.get("jurisdiction"), "evidence": basis.get("evidence"),
            "determination": basis.get("determination")}


def _notify(conn: Connection, measure: Measure, customer_id: str, account_id: str | None, action: str,
            now: datetime) -> None:
    """A webhook notice of the effect, in the same transaction (when the outbox is installed)."""
    try:
        from cloudcip.jobs import webhooks
    except ImportError:  # pragma: no cover - the outbox ships with cloudcip
        return
    webhooks.enqueue(conn, "account.measure_applied", {
        "measure_id": measure.id, "measure": measure.measure, "restrictions": measure.conditions,
        "customer_id": customer_id, "account_id": account_id, "action": action,
    }, now=now)


def write_outcome(work: UnitOfWork, plan: ScreeningPlan, outcome: BatchOutcome, now: datetime,
                   actor: Actor, account_effect: AccountEffect | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Record the hits and apply the due measures of one batch, inside the batch's transaction. A
    jurisdiction measure whose reach the location evidence leaves open is not applied: a ``review`` hit
    on the subject (entry ``special_measure:<id>``) puts it before a person (D1, D2, D5)."""
    new_hits = 0
    effects: list[dict[str, Any]] = []
    conn = work.conn
    for customer_id, subjects in outcome.customers:
        due: dict[str, tuple[Measure, dict[str, Any]]] = {}
        for found in subjects:
            new_hits += len(record_hits(conn, found.subject_type, found.subject_id, found.digest, found.hits,
                                        plan.party_hash, now, index_key=plan.blind_key))
            cleared: set[tuple[str, str]] | None = None  # read only when a listed-entry measure applies
            for measure_id, status, reach, basis in found.measures:
                measure = plan.measure(measure_id)
                if status != "in_force" or measure is None:
                    continue
                if reach == "review":
                    new_hits += len(record_hits(conn, found.subject_type, found.subject_id, found.digest,
                                                [_measure_review_hit(measure, basis)],
                                                lambda _source, source_id: source_id, now,
                                                index_key=plan.blind_key))
                    continue
                entry = measure.listed_entry()
                if entry is not None:
                    if cleared is None:
                        cleared = _cleared_entries(conn, found.subject_type, found.subject_id, found.digest)
                    if entry in cleared:
                        continue
                due.setdefault(measure.id, (measure, basis))
        for measure, basis in due.values():
            effects.extend(_apply_measure(work, measure, customer_id, basis, now, actor, account_effect))
    return new_hits, effects


def _measure_review_hit(measure: Measure, basis: dict[str, Any]) -> Hit:
    """A hit asking a person whether a measure reaches the subject (weak or conflicting evidence, D2)."""
    return review_hit(measure.id, measure.measure, basis.get("jurisdiction"), str(basis.get("evidence") or ""),
                      str(basis.get("determination") or ""), basis.get("located_in"))


# --- the job -------------------------------------------------------------------------------------
