"""The CIP applied to existing accounts (A2, A7, D1, D4): re-evaluation, notified beneficial owners,
citizenship decided again, periodic re-verification.

- ``reevaluate``: the case is decided again under the policy from what its answer holds (an open
  case takes the change in place; a settled one is succeeded by a new case on the same account).
- ``add_beneficial_owner``: A7, the customer notifies a new owner; it is checked, determined, located
  and screened, stored, and the case re-evaluated, in one transaction.
- ``redetermine``: verified citizenship evidence (A2) decides the person's status again; the
  evidence still owed follows.
- ``reverify``: the periodic re-verification (A7) re-validates the stored record
  (``revalidation``), determines, locates and screens every person again against the lists and
  measures in force, and opens a successor case owing the policy's evidence again. It may only
  tighten: the risk tier never falls below the last one, the account never becomes looser than it
  is (it loosens only through the evidence path, as the successor case is verified), and a closed
  or refused account is never touched.

A closed or refused account is re-opened by redress only (``verification.redress``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from cloudcip import clock
from cloudcip.domain.customer import BeneficialOwnerInput
from cloudcip.domain.verification_case import CaseState, CaseTransition, VerificationCase
from cloudcip.identity.us_person import CitizenshipEvidence, PersonStatus
from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.screening.hits import record_hits, subject_hash
from cloudcip.screening.location import LocationEvidence, decide_location
from cloudcip.screening.subjects import Subject
from cloudcip.storage.schema import account, beneficial_owner, customer, evidence
from cloudcip.verification import certification_gate
from cloudcip.verification.account_moves import store_account_state
from cloudcip.verification.assessment import Assessment, PersonFinding, SignupAddress, assess, determine, screen
from cloudcip.verification.decision import ApplicationFacts, SubjectFacts, decide, open_case
from cloudcip.verification.errors import CaseStateConflict
from cloudcip.verification.measures_in_force import account_state, measure_facts
from cloudcip.verification.revalidation import revalidate
from cloudcip.verification.risk import RiskAssessment
from cloudcip.verification.schema import application, person_determination
from cloudcip.verification.signup_exemptions import steps_of_row
from cloudcip.verification.signup_links import link_notes, links_of_answer, review_reasons
from cloudcip.verification.signup_store import store_transitions
from cloudcip.verification.validation import check_record_owner

if TYPE_CHECKING:
    from cloudcip.verification.applications import ApplicationService

JOB = Actor("job:reverification", "admin")
_ALL_FIELDS = ("name", "address", "national_id", "birth_date", "payment_means", "email", "phone", "registration",
               "beneficial_owners", "source_of_funds", "payment_source", "nationality")
#: how strict each account state is; a successor never leaves the account looser than it was
STRICTNESS: dict[str, int] = {"active": 0, "restricted_pending": 1, "pending_review": 2, "restricted": 3,
                              "refused": 4, "closed": 4}
OPEN = (CaseState.pending_evidence, CaseState.in_review)


def _account_state_now(conn: Connection, account_id: str) -> str:
    return str(conn.execute(select(account.c.state).where(account.c.id == account_id)).scalar_one())


def _guard_open_account(conn: Connection, row: Any, case: VerificationCase) -> str:
    state = _account_state_now(conn, row.account_id)
    if state in ("closed", "refused") or case.state in (CaseState.closed, CaseState.refused):
        raise CaseStateConflict(f"the account is {state} and its case {case.state.value}; only redress re-opens it")
    return state


def _facts_of_answer(service: ApplicationService, row: Any, case: VerificationCase, answer: dict[str, Any],
                     carry_evidence: bool, risk_tier: str | None = None) -> ApplicationFacts:
    bases = {p["subject"]: p["basis"] for p in answer["person_status"]}
    subjects = [SubjectFacts(s, "us_person" if st == "us_person" else "foreign_person", bases.get(s, "undetermined"),
                             case.satisfied_methods(s) if carry_evidence else frozenset())
                for s, st in case.subjects.items()]
    measures, notes = measure_facts(answer["screening"].get("measures", []))
    links = links_of_answer(answer.get("links", []))  # G1: the signup's links still count
    return ApplicationFacts(
        account_type=row.account_type, channel=row.channel,
        customer_kind="entity" if any(s.subject.startswith("beneficial_owner") for s in subjects) else "individual",
        risk_tier=risk_tier or row.risk_tier,
        fields_present=frozenset(answer.get("fields_present", [])) or frozenset(_ALL_FIELDS),
        customer=next(s for s in subjects if s.subject == "customer"),
        beneficial_owners=tuple(s for s in subjects if s.subject != "customer"),
        screening_band=answer["screening"]["band"], measures=measures, notice_version=row.notice_version,
        notes=(*notes, *link_notes(links)), links=review_reasons(links),
    )


def reevaluate(service: ApplicationService, work: UnitOfWork, application_id: str, reason: str, actor: Actor, *,
               carry_evidence: bool, new_subject: tuple[str, PersonStatus] | None = None,
               screened: Assessment | None = None, facts: ApplicationFacts | None = None,
               answer_update: dict[str, Any] | None = None) -> dict[str, Any]:
    """Decide the case again under the policy (see the module docstring); a closed or refused account
    is a conflict."""
    now = service.clock()
    conn = work.conn
    row, case = service.load(conn, application_id)
    current = _guard_open_account(conn, row, case)
    answer: dict[str, Any] = json.loads(row.response_json)
    answer.update(answer_update or {})
    if new_subject is not None:
        subject, status = new_subject
        conn.execute(insert(person_determination), [{
            "application_id": row.id, "subject": subject, "status": status.status, "basis": status.basis,
            "evidence_json": json.dumps(status.evidence), "decided_at": now}])
        answer["person_status"].append({"subject": subject, "status": status.status, "basis": status.basis,
                                        "evidence": status.evidence})
        case.subjects[subject] = status.status
    if screened is not None:
        answer["screening"]["hits"] += screened.hits_json()
        answer["screening"]["measures"] += [m.as_json() for m in screened.measures]
        order = {"clear": 0, "review": 1, "block": 2}
        if order[screened.band] > order[answer["screening"]["band"]]:
            answer["screening"]["band"] = screened.band
    facts = replace(facts or _facts_of_answer(service, row, case, answer, carry_evidence),
                    exemptions=steps_of_row(row.exempted_steps))  # F1: the exemption stays until it ends
    decided = decide(facts, service.policy, now)
    decision = service.gated(decided, facts)
    if decision is not decided:  # H1: held by the certification gate, without a deadline
        answer[certification_gate.HELD] = decision.reasons[-1]
    if case.state in OPEN:
        moves: list[CaseTransition] = []
        if decision.decision != case.state.value and case.can_transition(decision.decision):
            moves.append(case.transition(decision.decision, reason, actor.name, now))
        if decision.deadline is not None or decision is not decided:
            case.deadline = decision.deadline
        conn.execute(update(application).where(application.c.id == row.id).values(
            response_json=json.dumps(answer), deadline=case.deadline))
        row = conn.execute(select(application).where(application.c.id == row.id)).one()
        return service.save(work, row, case, moves, actor, now, reason)
    successor_id = str(uuid.uuid4())
    successor = open_case(successor_id, facts, decision, now, actor=actor.name)
    for record in case.evidence if carry_evidence else []:
        successor.record_evidence(record)
    follows = "closed" if successor.state is CaseState.refused else \
        service_account_state(successor.state)
    state = account_state(conn, row.account_id, follows, now.date())
    if STRICTNESS.get(current, 0) > STRICTNESS.get(state, 0):
        state = current  # a successor only tightens; the evidence path loosens
    answer.update({"id": successor_id, "decision": decision.decision, "state": successor.state.value,
                   "restrictions": [r.label for r in decision.restrictions],
                   "deadline": clock.iso(successor.deadline) if successor.state is CaseState.pending_evidence
                   else None,
                   "evidence_required": list(decision.evidence_required),
                   "reasons": [reason, *decision.reasons], "risk_tier": facts.risk_tier,
                   "predecessor": row.id, "replayed": False, "account_state": state})
    conn.execute(insert(application), dict(
        id=successor_id, customer_id=row.customer_id, account_id=row.account_id, idempotency_key=None,
        request_hash=row.request_hash, account_type=row.account_type, channel=row.channel,
        risk_tier=facts.risk_tier, state=successor.state.value, decision=answer["decision"],
        policy_rule=successor.policy_rule or "none", failure_action=successor.failure_action,
        notice_version=row.notice_version, deadline=successor.deadline, reverify_due=decision.reverify_due,
        resolution=None, signup_ip_sealed=None, response_json=json.dumps(answer), created_at=now,
        updated_at=now, exemption_id=row.exemption_id, exempted_steps=row.exempted_steps))
    conn.execute(insert(person_determination), [
        {"application_id": successor_id, "subject": p["subject"], "status": p["status"], "basis": p["basis"],
         "evidence_json": json.dumps(p["evidence"]), "decided_at": now} for p in answer["person_status"]])
    if carry_evidence and case.evidence:
        conn.execute(update(evidence).where(evidence.c.application_id == row.id).values(
            application_id=successor_id))
    store_transitions(conn, successor_id, successor.history)
    conn.execute(update(application).where(application.c.id == row.id).values(reverify_due=None, updated_at=now))
    state = store_account_state(conn, row.account_id, state, now)
    enqueue(conn, "application.decision", {"application_id": successor_id, "account_id": row.account_id,
                                           "decision": answer["decision"], "state": successor.state.value,
                                           "account_state": state})
    work.log(LedgerAction(actor.name, actor.role, "create", "application", successor_id, purpose=reason,
                          detail={"predecessor": row.id, "account_state": state}))
    answer["customer_id"] = row.customer_id
    answer["account_id"] = row.account_id
    return answer


def service_account_state(state: CaseState) -> str:
    from cloudcip.verification.applications import ACCOUNT_STATE

    return ACCOUNT_STATE[state.value]


def add_beneficial_owner(service: ApplicationService, application_id: str, owner: BeneficialOwnerInput,
                         actor: Actor) -> dict[str, Any]:
    """A7: the customer notifies a new beneficial owner; it is checked, determined and located (D2),
    screened against its standing (D1, D3); its hits go to the register (D5); the case is re-evaluated,
    all in one transaction."""
    now = service.clock()
    with service.services.ledger.unit_of_work() as work:
        row, _case = service.load(work.conn, application_id)
        position = len(work.conn.execute(select(beneficial_owner.c.id).where(
            beneficial_owner.c.customer_id == row.customer_id)).all())
        checked = check_record_owner(owner, now.date(), position)
        location = decide_location(LocationEvidence(
            address_country=owner.address.country if owner.address else None,
            address_subdivision=owner.address.subdivision if owner.address else None,
            document_countries=list(checked.document_countries),
            nationalities=[owner.nationality] if owner.nationality else []))
        status = determine(checked, location)
        name = " ".join(p for p in (owner.name.given, owner.name.middle, owner.name.family) if p)
        subject_key = f"beneficial_owner:{position}"
        screened_subject = Subject("beneficial_owner", "", name, "Person",
                                   owner.birth_date.isoformat() if owner.birth_date else None, owner.nationality,
                                   (owner.national_id.number,) if owner.national_id else ())
        finding = PersonFinding(subject_key, status, location, screened_subject)
        finding.result = screen(service.screening, screened_subject, finding.standing, "name", now.date())
        band = finding.result.band if finding.result is not None else "clear"
        found = Assessment([finding], RiskAssessment("standard", "standard", None, ()), SignupAddress(), band)
        owner_id, stored_position = service.services.customers.add_beneficial_owner(work, row.customer_id, owner, actor)
        if stored_position != position:
            raise CaseStateConflict("the beneficial owners changed while this one was added; retry")
        work.conn.execute(update(beneficial_owner).where(beneficial_owner.c.id == owner_id).values(
            person_status=status.status, person_basis=status.basis))
        if finding.result is not None and service.screening is not None:
            hits = [hit for hit in finding.result.hits if hit.band != "clear"]
            record_hits(work.conn, "beneficial_owner", owner_id,
                        subject_hash(service.services.keyring.blind_index_key(), screened_subject.fields()), hits,
                        service.screening.party_hash, now, application_id=row.id, decision="re-evaluated",
                        index_key=service.services.keyring.blind_index_key())
        return reevaluate(service, work, application_id, f"beneficial owner added ({subject_key})", actor,
                          carry_evidence=True, new_subject=(subject_key, status), screened=found)


def redetermine(service: ApplicationService, work: UnitOfWork, row: Any, case: VerificationCase, subject: str,
                citizenship: CitizenshipEvidence, actor: Actor, now: datetime) -> dict[str, Any] | None:
    """A2: verified citizenship evidence decides the subject's status again; when it changes, the new
    determination is stored (case, answer and record) and the evidence still owed follows (the
    evidence itself moves the case). The updated answer, or ``None`` when nothing changed."""
    answer: dict[str, Any] = json.loads(row.response_json)
    current = next((p for p in answer["person_status"] if p["subject"] == subject), None)
    kind = "permanent_resident" if citizenship.kind == "permanent_resident_card" else "us_citizen"
    if current is not None and current["status"] == "us_person" and current["basis"] in ("us_citizen", kind):
        return None
    status = PersonStatus("us_person", kind,  # type: ignore[arg-type]
                          [f"citizenship:{citizenship.kind}:verified"],
                          f"{'Lawful permanent resident' if kind == 'permanent_resident' else 'U.S. citizen'}: "
                          f"verified {citizenship.kind.replace('_', ' ')}.")
    conn = work.conn
    conn.execute(insert(person_determination), [{
        "application_id": row.id, "subject": subject, "status": status.status, "basis": status.basis,
        "evidence_json": json.dumps(status.evidence), "decided_at": now}])
    answer["person_status"] = [p for p in answer["person_status"] if p["subject"] != subject] + [{
        "subject": subject, "status": status.status, "basis": status.basis, "evidence": status.evidence}]
    conn.execute(update(application).where(application.c.id == row.id).values(response_json=json.dumps(answer)))
    if subject == "customer":
        conn.execute(update(customer).where(customer.c.id == row.customer_id).values(
            person_status=status.status, person_basis=status.basis))
    else:
        owners = [r.id for r in conn.execute(select(beneficial_owner.c.id).where(
            beneficial_owner.c.customer_id == row.customer_id).order_by(beneficial_owner.c.position))]
        position = int(subject.split(":")[1])
        if position < len(owners):
            conn.execute(update(beneficial_owner).where(beneficial_owner.c.id == owners[position]).values(
                person_status=status.status, person_basis=status.basis))
    case.subjects[subject] = status.status
    work.log(LedgerAction(actor.name, actor.role, "determine", "application", row.id, purpose="A2 determination",
                          detail={"subject": subject, "status": status.status, "basis": status.basis}))
    return answer


# -- periodic re-verification ---------------------------------------------------------------------------
def reverifications_due(service: ApplicationService, now: datetime) -> list[str]:
    """Approved cases whose re-verification date has come, on accounts neither closed nor refused (A7)."""
    with service.services.database.engine.connect() as conn:
        return list(conn.execute(
            select(application.c.id).join(account, account.c.id == application.c.account_id)
            .where(application.c.state == "approved", application.c.reverify_due <= now,
                   account.c.state.not_in(("closed", "refused")))).scalars())


def reverify_due_cases(service: ApplicationService, now: datetime) -> int:
    """The periodic re-verification job (A7): each due case is re-verified (``reverify``)."""
    due = reverifications_due(service, now)
    for application_id in due:
        reverify(service, application_id, JOB)
    return len(due)


def reverify(service: ApplicationService, application_id: str, actor: Actor) -> dict[str, Any]:
    """A7: re-validate, re-determine, re-locate and re-screen the customer and every owner against the
    lists and measures in force; a successor case owes the policy's evidence again."""
    now = service.clock()
    with service.services.ledger.unit_of_work() as work:
        conn = work.conn
        row, case = service.load(conn, application_id)
        _guard_open_account(conn, row, case)
        record = service.services.customers.open_record(conn, row.customer_id)
        work.log(LedgerAction(actor.name, actor.role, "read", "customer", row.customer_id,
                              purpose="periodic re-verification"))
        sealer = service.sealer(conn, row.customer_id)
        applicant, checked, problems = revalidate(conn, sealer, record, row.account_type, row.channel, row.risk_tier,
                                                  now.date())
        answer: dict[str, Any] = json.loads(row.response_json)
        verified = _verified_citizenship(answer)
        assessment = assess(applicant, checked, service.screening, None, now.date(), verified)
        facts = service.facts(row.account_type, row.channel, applicant.kind, assessment,
                              fields_present=frozenset(answer.get("fields_present", [])) or frozenset(_ALL_FIELDS),
                              notice_version=row.notice_version, problems=tuple(problems))
        update_answer = {
            "person_status": [{"subject": s, "status": st.status, "basis": st.basis, "evidence": st.evidence}
                              for s, st in assessment.statuses],
            "screening": {"band": assessment.band, "hits": assessment.hits_json(),
                          "measures": [m.as_json() for m in assessment.measures]},
            "location": assessment.persons[0].location.codes,
            "located_in": assessment.persons[0].location.located_in,
            "location_decisions": {p.subject: p.location.as_json() for p in assessment.persons},
            "risk": assessment.risk.as_json(),
        }
        for subject, status in assessment.statuses:
            case.subjects[subject] = status.status
        answer = reevaluate(service, work, application_id, "periodic re-verification", actor, carry_evidence=False,
                            facts=facts, answer_update=update_answer)
        _record_reverification_hits(service, conn, record, assessment, str(answer["id"]), now)
        return answer


def _verified_citizenship(answer: dict[str, Any]) -> dict[str, list[CitizenshipEvidence]]:
    """Citizenship that evidence verified before stays verified (A2): a U.S. citizen remains one."""
    found: dict[str, list[CitizenshipEvidence]] = {}
    for person in answer.get("person_status", []):
        if person.get("basis") == "us_citizen":
            found.setdefault(person["subject"], []).append(CitizenshipEvidence("us_passport", True, "US"))
        elif person.get("basis") == "permanent_resident":
            found.setdefault(person["subject"], []).append(CitizenshipEvidence("permanent_resident_card", True, "US"))
    return found


def _record_reverification_hits(service: ApplicationService, conn: Connection, record: dict[str, Any],
                                assessment: Assessment, application_id: str, now: datetime) -> None:
    """D5: the hits re-verification found go to the register (unchanged ones are not repeated)."""
    if service.screening is None:
        return
    owners = {f"beneficial_owner:{position}": owner["id"]
              for position, owner in enumerate(record.get("beneficial_owners", []))}
    key = service.services.keyring.blind_index_key()
    for person in assessment.persons:
        if person.result is None or person.screened is None:
            continue
        subject_id = record["id"] if person.subject == "customer" else owners.get(person.subject)
        hits = [hit for hit in person.result.hits if hit.band != "clear"]
        if subject_id is None or not hits:
            continue
        record_hits(conn, "customer" if person.subject == "customer" else "beneficial_owner", str(subject_id),
                    subject_hash(key, person.screened.fields()), hits, service.screening.party_hash, now,
                    application_id=application_id, decision="re-verification", index_key=key)
