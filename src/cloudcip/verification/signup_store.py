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
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, select, update

from cloudcip.crypto.envelope import FieldSealer
from cloudcip.domain.customer import CustomerRecord
from cloudcip.domain.verification_case import CaseTransition, VerificationCase
from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.screening.hits import record_hits, subject_hash
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.prepared import Prepared
from cloudcip.storage.schema import account, beneficial_owner, customer
from cloudcip.verification.account_moves import ACCOUNT_STATE
from cloudcip.verification.assessment import Assessment
from cloudcip.verification.decision import Decision
from cloudcip.verification.evidence_checks import SignupEvidence, store_signup_evidence
from cloudcip.verification.schema import application, case_transition, person_determination
from cloudcip.verification.signup_exemptions import steps_of_row, stored_steps

if TYPE_CHECKING:
    from cloudcip.verification.applications import ApplicationInput, ApplicationService


def store_signup(service: ApplicationService, work: UnitOfWork, case: VerificationCase, request: ApplicationInput,
                 record: CustomerRecord, decision: Decision, assessment: Assessment, answer: dict[str, Any],
                 body_hash: str, idempotency_key: str | None, actor: Actor, now: datetime,
                 brought: SignupEvidence) -> None:
    """One transaction: the sealed record, the account, the hits, the application with its answer, the
    exemptions used, the determinations, the evidence brought, the first transition, the newcomer in the
    link graph, the webhook and the ledger entry."""
    conn = work.conn
    sealers: dict[str, FieldSealer] = {}
    [customer_id] = service.services.customers.create_in(work, [record], actor, purpose="account opening",
                                                         sealers=sealers)
    account_id = str(uuid.uuid4())
    insert_rows(conn, account, [dict(
        id=account_id, customer_id=customer_id, type=request.account.type, channel=request.account.channel,
        state=ACCOUNT_STATE[case.state.value], parent_account_id=request.reseller_account_id,
        external_ref=request.account.external_ref, opened_at=now, closed_at=None)])
    answer["customer_id"] = customer_id
    answer["account_id"] = account_id
    owners = owner_ids(conn, customer_id) if request.kind == "entity" else {}
    record_hits_of_signup(service, conn, case.case_id, customer_id, owners, assessment, answer, now)
    sealer = sealers[customer_id]
    insert_rows(conn, application, [dict(
        id=case.case_id, customer_id=customer_id, account_id=account_id, idempotency_key=idempotency_key,
        request_hash=body_hash, account_type=request.account.type, channel=request.account.channel,
        risk_tier=assessment.risk.tier, state=case.state.value,
        decision=answer["decision"], policy_rule=case.policy_rule or "none",
        failure_action=case.failure_action, notice_version=request.notice_version,
        deadline=case.deadline, reverify_due=decision.reverify_due, resolution=None,
        signup_ip_sealed=sealer.seal(request.signup_ip, table="application", column="signup_ip",
                                     row_id=case.case_id),
        response_json=json.dumps(answer), created_at=now, updated_at=now,
        exemption_id=decision.exemption_applied, exempted_steps=stored_steps(decision.exempted_steps))])
    if service.exemptions is not None and decision.exempted_steps:
        service.exemptions.record_use(conn, steps_of_row(stored_steps(decision.exempted_steps)),
                                      application_id=case.case_id, account_id=account_id, customer_id=customer_id,
                                      at=now)
    record_determinations(conn, case.case_id, customer_id, owners, assessment.statuses, now)
    store_signup_evidence(conn, sealer, customer_id, case.case_id, brought, now)
    store_transitions(conn, case.case_id, case.history)
    if service.signup_links is not None:  # G1: the newcomer joins the graph with the signup
        service.signup_links.record(conn, customer_id, record, signup_ip=request.signup_ip,
                                    device_id=request.device_id)
    enqueue(conn, "application.decision", {"application_id": case.case_id, "account_id": account_id,
                                           "decision": answer["decision"]})
    work.log(LedgerAction(actor.name, actor.role, "create", "application", case.case_id,
                          purpose="account opening", detail={"decision": answer["decision"],
                                                             "risk_tier": assessment.risk.tier,
                                                             **({"exemption": decision.exemption_applied}
                                                                if decision.exemption_applied else {})}))


# the statements of every signup, built once and run on the driver (``storage.prepared``)
_OWNERS = Prepared(select(beneficial_owner.c.id, beneficial_owner.c.position).where(
    beneficial_owner.c.customer_id == bindparam("customer_id")))
_CUSTOMER_STATUS = Prepared(update(customer).where(customer.c.id == bindparam("row_id")).values(
    person_status=bindparam("status"), person_basis=bindparam("basis")))
_OWNER_STATUS = Prepared(update(beneficial_owner).where(beneficial_owner.c.id == bindparam("row_id")).values(
    person_status=bindparam("status"), person_basis=bindparam("basis")))


def owner_ids(conn: Connection, customer_id: str) -> dict[str, str]:
    """``beneficial_owner:<position>`` -> the owner's record id."""
    return {f"beneficial_owner:{position}": owner_id
            for owner_id, position in _OWNERS.all(conn, {"customer_id": customer_id})}


def record_determinations(conn: Connection, application_id: str, customer_id: str, owners: dict[str, str],
                           statuses: Sequence[tuple[str, Any]], now: datetime) -> None:
    """A2: the determinations, with their basis, on the case and on the record (re-screening reads them)."""
    insert_rows(conn, person_determination, [
        {"application_id": application_id, "subject": subject, "status": status.status, "basis": status.basis,
         "evidence_json": json.dumps(status.evidence), "decided_at": now} for subject, status in statuses])
    for subject, status in statuses:
        if subject == "customer":
            _CUSTOMER_STATUS.execute(conn, {"row_id": customer_id, "status": status.status, "basis": status.basis})
        elif subject in owners:
            _OWNER_STATUS.execute(conn, {"row_id": owners[subject], "status": status.status, "basis": status.basis})


def record_hits_of_signup(service: ApplicationService, conn: Connection, application_id: str, customer_id: str,
                          owners: dict[str, str], assessment: Assessment, answer: dict[str, Any],
                          now: datetime) -> None:
    """D5: every non-clear hit of every person to the hit register, with the decision it caused; the
    hit stays open until a person decides it."""
    if service.screening is None or not any(h["band"] != "clear" for h in answer["screening"]["hits"]):
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


def store_transitions(conn: Connection, application_id: str, moves: list[CaseTransition]) -> None:
    """The case's moves, in order (every transition with who and why)."""
    insert_rows(conn, case_transition, [
        {"application_id": application_id, "from_state": m.from_state.value, "to_state": m.to_state.value,
         "reason": m.reason, "actor": m.actor, "at": m.at} for m in moves])
