"""A decided signup stored in its one transaction (A2, A8, B3, D5, F1, G1).

``store_signup`` is the last step of ``ApplicationService.submit``: the sealed customer record, the
account (its state from the case's: ``account_moves.ACCOUNT_STATE``), every non-clear hit of every
person in the hit register with the decision it caused (D5), the application row with the answer
given, the exemptions it used (F1), the U.S./foreign determinations on the case and on the record
(A2), the evidence the application brought, the case's first transition, the newcomer in the link
graph (G1), the decision's webhook and the ledger entry.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from cloudcip.crypto.envelope import FieldSealer
from cloudcip.domain.customer import CustomerRecord
from cloudcip.domain.verification_case import CaseTransition, VerificationCase
from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.customer_store import CustomerRows
from cloudcip.records.roles import Actor
from cloudcip.screening.hits import record_hits, subject_hash
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.schema import account
from cloudcip.verification.account_moves import ACCOUNT_STATE
from cloudcip.verification.assessment import Assessment
from cloudcip.verification.decision import Decision
from cloudcip.verification.evidence_checks import SignupEvidence, store_signup_evidence
from cloudcip.verification.schema import application, case_transition, person_determination
from cloudcip.verification.signup_exemptions import steps_of_row, stored_steps

if TYPE_CHECKING:
    from cloudcip.verification.applications import ApplicationInput, ApplicationService


@dataclass
class SignupRows:
    """A decided signup's rows, sealed and laid out before the write transaction (``prepare_signup``):
    the one writer (``storage.database.WriteGate``) is held only while they are inserted."""

    customers: CustomerRows
    customer_id: str
    account_id: str
    owners: dict[str, str]  # ``beneficial_owner:<position>`` -> the owner's record id
    account_row: dict[str, Any]
    application_row: dict[str, Any]  # its ``response_json`` set once the hits have their ids (D5)
    determinations: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    sealer: FieldSealer


def prepare_signup(service: ApplicationService, case: VerificationCase, request: ApplicationInput,
                   record: CustomerRecord, decision: Decision, assessment: Assessment, answer: dict[str, Any],
                   body_hash: str, idempotency_key: str | None, now: datetime) -> SignupRows:
    """What ``store_signup`` writes that needs no look-up, computed before the write transaction: the
    sealed record, the account, the application (with its answer when no hit waits for its register
    id), the U.S./foreign determinations (A2: on the case, and on the record's rows as they are
    inserted), the case's first transition."""
    sealers: dict[str, FieldSealer] = {}
    customers = service.services.customers.prepare([record], sealers=sealers)
    [customer_id] = customers.ids
    account_id = str(uuid.uuid4())
    answer["customer_id"] = customer_id
    answer["account_id"] = account_id
    owners = {f"beneficial_owner:{row['position']}": str(row["id"]) for row in customers.rows["beneficial_owner"]} \
        if request.kind == "entity" else {}
    subject_of_owner = {owner_id: subject for subject, owner_id in owners.items()}
    status_of = dict(assessment.statuses)
    if "customer" in status_of:
        customers.rows["customer"][0].update(person_status=status_of["customer"].status,
                                             person_basis=status_of["customer"].basis)
    for row in customers.rows["beneficial_owner"]:
        owned = status_of.get(subject_of_owner.get(str(row["id"]), ""))
        row.update(person_status=owned.status if owned is not None else None,
                   person_basis=owned.basis if owned is not None else None)
    sealer = sealers[customer_id]
    application_row = dict(
        id=case.case_id, customer_id=customer_id, account_id=account_id, idempotency_key=idempotency_key,
        request_hash=body_hash, account_type=request.account.type, channel=request.account.channel,
        risk_tier=assessment.risk.tier, state=case.state.value,
        decision=answer["decision"], policy_rule=case.policy_rule or "none",
        failure_action=case.failure_action, notice_version=request.notice_version,
        deadline=case.deadline, reverify_due=decision.reverify_due, resolution=None,
        signup_ip_sealed=sealer.seal(request.signup_ip, table="application", column="signup_ip",
                                     row_id=case.case_id),
        response_json=None if hits_to_register(service, answer) else json.dumps(answer),
        created_at=now, updated_at=now,
        exemption_id=decision.exemption_applied, exempted_steps=stored_steps(decision.exempted_steps))
    return SignupRows(
        customers=customers, customer_id=customer_id, account_id=account_id, owners=owners,
        account_row=dict(id=account_id, customer_id=customer_id, type=request.account.type,
                         channel=request.account.channel, state=ACCOUNT_STATE[case.state.value],
                         parent_account_id=request.reseller_account_id, external_ref=request.account.external_ref,
                         opened_at=now, closed_at=None),
        application_row=application_row,
        determinations=[{"application_id": case.case_id, "subject": subject, "status": status.status,
                         "basis": status.basis, "evidence_json": json.dumps(status.evidence), "decided_at": now}
                        for subject, status in assessment.statuses],
        transitions=transition_rows(case.case_id, case.history), sealer=sealer)


def store_signup(service: ApplicationService, work: UnitOfWork, rows: SignupRows, case: VerificationCase,
                 request: ApplicationInput, record: CustomerRecord, decision: Decision, assessment: Assessment,
                 answer: dict[str, Any], actor: Actor, now: datetime, brought: SignupEvidence) -> None:
    """One transaction: the sealed record, the account, the hits, the application with its answer, the
    exemptions used, the determinations, the evidence brought, the first transition, the newcomer in the
    link graph, the webhook and the ledger entry."""
    conn = work.conn
    customer_id, account_id = rows.customer_id, rows.account_id
    service.services.customers.insert_prepared(work, rows.customers, actor, purpose="account opening")
    insert_rows(conn, account, [rows.account_row])
    application_row = dict(rows.application_row)
    if application_row["response_json"] is None:
        record_hits_of_signup(service, conn, case.case_id, customer_id, rows.owners, assessment, answer, now)
        application_row["response_json"] = json.dumps(answer)
    insert_rows(conn, application, [application_row])
    if service.exemptions is not None and decision.exempted_steps:
        service.exemptions.record_use(conn, steps_of_row(stored_steps(decision.exempted_steps)),
                                      application_id=case.case_id, account_id=account_id, customer_id=customer_id,
                                      at=now)
    insert_rows(conn, person_determination, rows.determinations)
    store_signup_evidence(conn, rows.sealer, customer_id, case.case_id, brought, now)
    insert_rows(conn, case_transition, rows.transitions)
    if service.signup_links is not None:  # G1: the newcomer joins the graph with the signup
        service.signup_links.record(conn, customer_id, record, signup_ip=request.signup_ip,
                                    device_id=request.device_id, owners=rows.owners)
    enqueue(conn, "application.decision", {"application_id": case.case_id, "account_id": account_id,
                                           "decision": answer["decision"]})
    work.log(LedgerAction(actor.name, actor.role, "create", "application", case.case_id,
                          purpose="account opening", detail={"decision": answer["decision"],
                                                             "risk_tier": assessment.risk.tier,
                                                             **({"exemption": decision.exemption_applied}
                                                                if decision.exemption_applied else {})}))


def hits_to_register(service: ApplicationService, answer: dict[str, Any]) -> bool:
    """D5: whether the answer names a non-clear hit for the hit register."""
    return service.screening is not None and any(h["band"] != "clear" for h in answer["screening"]["hits"])


def record_hits_of_signup(service: ApplicationService, conn: Connection, application_id: str, customer_id: str,
                          owners: dict[str, str], assessment: Assessment, answer: dict[str, Any],
                          now: datetime) -> None:
    """D5: every non-clear hit of every person to the hit register, with the decision it caused; the
    hit stays open until a person decides it."""
    if service.screening is None or not hits_to_register(service, answer):
        return
    key = service.services.keyring.blind_index_key()
    ids: dict[tuple[str, str, str], str] = {}
    for person in assessment.persons:
        if person.result is None or person.screened is None:
            continue
        subject_id = customer_id if person.subject == "customer" else owners.get(person.subject)
        if subject_id is None:
            continue
        hits = [hit for hit in person.result.hits if hit.band != "clear"]
        created = record_hits(conn, "customer" if person.subject == "customer" else "beneficial_owner",
                              subject_id, subject_hash(key, person.screened.fields()), hits,
                              service.screening.party_hash, now, application_id=application_id,
                              decision=answer["decision"], index_key=key)
        for hit, hit_id in zip(hits, created, strict=False):
            ids[(person.subject, hit.party_source, hit.party_id)] = hit_id
    for item in answer["screening"]["hits"]:
        item["hit_id"] = ids.get((item["subject"], item["list_source"], item["list_source_id"]))


def transition_rows(application_id: str, moves: list[CaseTransition]) -> list[dict[str, Any]]:
    return [{"application_id": application_id, "from_state": m.from_state.value, "to_state": m.to_state.value,
             "reason": m.reason, "actor": m.actor, "at": m.at} for m in moves]


def store_transitions(conn: Connection, application_id: str, moves: list[CaseTransition]) -> None:
    """The case's moves, in order (every transition with who and why)."""
    insert_rows(conn, case_transition, transition_rows(application_id, moves))
