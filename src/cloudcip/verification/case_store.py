"""A verification case loaded from and saved to its application row (A6, A7, B3).

``load_case`` reads the row with the case's determinations, transitions and evidence; ``save_case``
stores new transitions, the account's state, the updated answer, the webhook and the ledger entries in
the caller's unit of work. ``verification.applications`` and the workflows beside it move cases through
these two.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from cloudcip import clock
from cloudcip.domain.verification_case import (
    CaseResolution,
    CaseState,
    CaseTransition,
    EvidenceRecord,
    VerificationCase,
)
from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.storage.prepared import Prepared
from cloudcip.storage.schema import evidence
from cloudcip.verification import certification_gate
from cloudcip.verification.account_moves import ACCOUNT_STATE, store_account_state
from cloudcip.verification.decision import case_owed, reverification_due
from cloudcip.verification.errors import ApplicationNotFound
from cloudcip.verification.measures_in_force import account_state
from cloudcip.verification.policy import CipPolicy
from cloudcip.verification.schema import application, case_transition, person_determination
from cloudcip.verification.signup_exemptions import steps_of_row
from cloudcip.verification.signup_store import store_transitions

DECISION_OF_STATE: dict[str, str] = {
    "approved": "approved", "pending_evidence": "pending_evidence", "in_review": "in_review",
    "refused": "refused", "failed": "refused", "closed": "refused", "restricted": "refused",
}
OPEN_STATES = (CaseState.pending_evidence, CaseState.in_review)



class ApplicationRow(NamedTuple):
    """An application's row as ``load_case`` reads it (its columns, by name)."""

    id: str
    customer_id: str
    account_id: str
    idempotency_key: str | None
    request_hash: str
    account_type: str
    channel: str
    risk_tier: str
    state: str
    decision: str
    policy_rule: str
    failure_action: str | None
    notice_version: str | None
    deadline: datetime | None
    reverify_due: datetime | None
    resolution: str | None
    signup_ip_sealed: bytes | None
    response_json: str
    created_at: datetime
    updated_at: datetime
    exemption_id: str | None
    exempted_steps: str | None


# a case and its parts, read on every move of it: built once, run on the driver (``storage.prepared``)
_APPLICATION = Prepared(select(*(application.c[name] for name in ApplicationRow._fields))
                        .where(application.c.id == bindparam("application_id")))
_DETERMINATIONS = Prepared(select(person_determination.c.subject, person_determination.c.status)
                           .where(person_determination.c.application_id == bindparam("application_id"))
                           .order_by(person_determination.c.id))
_TRANSITIONS = Prepared(select(case_transition.c.from_state, case_transition.c.to_state, case_transition.c.reason,
                               case_transition.c.actor, case_transition.c.at)
                        .where(case_transition.c.application_id == bindparam("application_id"))
                        .order_by(case_transition.c.id))
_EVIDENCE = Prepared(select(evidence.c.subject, evidence.c.method, evidence.c.result, evidence.c.received_at,
                            evidence.c.vendor_reference)
                     .where(evidence.c.application_id == bindparam("application_id"))
                     .order_by(evidence.c.received_at))
# the case's columns a save sets, by the optional ones it sets (resolution, reverify_due): one statement each
_SAVES: dict[tuple[str, ...], Prepared] = {}


def _save_statement(columns: tuple[str, ...]) -> Prepared:
    statement = _SAVES.get(columns)
    if statement is None:
        statement = _SAVES[columns] = Prepared(update(application).where(application.c.id == bindparam("row_id"))
                                               .values({name: bindparam(name) for name in columns}))
    return statement


def load_case(conn: Connection, application_id: str) -> tuple[ApplicationRow, VerificationCase]:
    """The application row and its case: determinations, transitions and evidence as stored."""
    by_id = {"application_id": application_id}
    found = _APPLICATION.first(conn, by_id)
    if found is None:
        raise ApplicationNotFound(application_id)
    row = ApplicationRow(*found)
    subjects: dict[str, str] = {}
    for subject, status in _DETERMINATIONS.all(conn, by_id):
        subjects[subject] = status  # the latest determination of each subject
    history = [CaseTransition(CaseState(from_state), CaseState(to_state), reason, actor, clock.utc(at))
               for from_state, to_state, reason, actor, at in _TRANSITIONS.all(conn, by_id)]
    records = [EvidenceRecord(subject or "customer", method, result, clock.utc(received_at), reference)
               for subject, method, result, received_at, reference in _EVIDENCE.all(conn, by_id)]
    case = VerificationCase(
        case_id=row.id, opened_at=clock.utc(row.created_at),
        policy_rule=None if row.policy_rule == "none" else row.policy_rule,
        failure_action=row.failure_action, deadline=clock.utc(row.deadline) if row.deadline else None,
        subjects=subjects or {"customer": "foreign_person"}, state=CaseState(row.state), history=history,
        evidence=records, exempt_steps=frozenset(step for item in steps_of_row(row.exempted_steps)
                                                 for step in item.steps),
    )
    if row.resolution:
        case.resolution = CaseResolution(case.state, row.resolution, "stored", clock.utc(row.updated_at))
    return row, case

def save_case(work: UnitOfWork, row: Any, case: VerificationCase, moves: list[CaseTransition], policy: CipPolicy,
          actor: Actor, now: datetime, note: str, answer: dict[str, Any] | None = None,
          keep_reasons: bool = False) -> dict[str, Any]:
    """Store the case's new transitions, the account's state, the answer; webhook and ledger."""
    conn = work.conn
    answer = answer if answer is not None else json.loads(row.response_json)
    store_transitions(conn, row.id, moves)
    if case.state is CaseState.approved:
        answer["restrictions"] = [r for r in answer.get("restrictions", []) if r in _measure_labels(answer)]
        answer["deadline"] = None
    owed = case_owed(case, policy) if case.state in OPEN_STATES else []
    answer.update({
        "decision": DECISION_OF_STATE[case.state.value], "state": case.state.value,
        "evidence_required": [item.label for item in owed], "replayed": False,
    })
    if case.state is CaseState.pending_evidence:
        answer["deadline"] = clock.iso(case.deadline)
    if moves and not keep_reasons:
        answer["reasons"] = [m.reason for m in moves]
    if case.state is not CaseState.pending_evidence:
        answer.pop(certification_gate.HELD, None)  # the case moved on: no longer held by the gate (H1)
    values: dict[str, Any] = {"state": case.state.value, "decision": answer["decision"], "updated_at": now,
                              "response_json": json.dumps(answer), "deadline": case.deadline}
    if case.resolution is not None:
        values["resolution"] = case.resolution.how
    due = reverification_due(case, policy)
    if due is not None:
        values["reverify_due"] = due
    _save_statement(tuple(values)).execute(conn, {**values, "row_id": row.id})
    if moves:
        state = store_account_state(conn, row.account_id, account_state(
            conn, row.account_id, ACCOUNT_STATE[case.state.value], now.date()), now)
        answer["account_state"] = state
        enqueue(conn, "application.decision", {"application_id": row.id, "account_id": row.account_id,
                                               "decision": answer["decision"], "state": case.state.value,
                                               "account_state": state})
        for move in moves:
            work.log(LedgerAction(actor.name, actor.role, "transition", "application", row.id,
                                  purpose="verification workflow",
                                  detail={"from": move.from_state.value, "to": move.to_state.value}))
    work.log(LedgerAction(actor.name, actor.role, "update", "application", row.id, purpose=note))
    answer["customer_id"] = row.customer_id
    answer["account_id"] = row.account_id
    return answer


def _measure_labels(answer: dict[str, Any]) -> set[str]:
    """Restrictions a special measure in force sets (they outlive the verification's own)."""
    labels: set[str] = set()
    for measure in answer.get("screening", {}).get("measures", []):
        if measure.get("status") == "in_force" and measure.get("outcome", "applies") == "applies":
            labels.update(str(c) for c in measure.get("conditions") or [])
    return labels
