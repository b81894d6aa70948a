"""The verification workflow of account openings: submit, decide, store, move the case (A2, A4, A5, A6,
A7, A8, B3, D1, D2, D3, D5, G2).

One application is one verification case (``cloudcip.domain.verification_case``). Submitting
checks the notice (A8) and every field (one error naming each bad field), then
``verification.assessment`` locates each person from all evidence (D2), decides U.S./foreign status
(A2), screens names, identifiers and measures against each person's standing (D1, D3) and computes
the risk tier (G2, the provider may only raise it); ``decision.decide`` applies the CIP policy. One
transaction stores the sealed record, the account, the case with its first transition, the
determinations, every non-clear hit in the hit register with the decision it caused (D5), the
evidence the application brought, an outbox webhook and the ledger entries.

The case then moves only through the state machine: evidence (``verification.evidence``), reviewers
(``review``), redress (``verification.redress``), cleared hits (``verification.signup_hits``),
deadlines, re-evaluations and re-verification (``verification.successors``). A retried request with
the same ``Idempotency-Key`` returns the stored answer; the same key with another body is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.exc import IntegrityError

from cloudcip import clock
from cloudcip.crypto.envelope import FieldSealer
from cloudcip.domain.application import EntityApplication, IndividualApplication, customer_record_of
from cloudcip.domain.customer import BeneficialOwnerInput, CustomerRecord
from cloudcip.domain.verification_case import (
    CaseState,
    CaseTransition,
    IllegalTransition,
    VerificationCase,
)
from cloudcip.identity.payment import BinTable
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.screening.hits import StoredHit
from cloudcip.screening.measures import Measure
from cloudcip.screening.service import ScreeningService
from cloudcip.services import Services
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.prepared import Prepared
from cloudcip.storage.schema import account, evidence
from cloudcip.verification import certification_gate, codes, evidence_checks, notices, signup_hits, successors
from cloudcip.verification.account_moves import ACCOUNT_STATE
from cloudcip.verification.assessment import Assessment, SignupIpLookup, applicant_of, assess
from cloudcip.verification.case_store import DECISION_OF_STATE, OPEN_STATES, load_case, save_case
from cloudcip.verification.decision import (
    ApplicationFacts,
    Decision,
    SubjectFacts,
    apply_evidence,
    case_owed,
    decide,
    enforce_deadline,
    open_case,
)
from cloudcip.verification.errors import (
    CaseStateConflict,
    EvidenceRefused,
    IdempotencyConflict,
)
from cloudcip.verification.measures_in_force import measure_facts, prohibited
from cloudcip.verification.policy import CipPolicy, Restriction
from cloudcip.verification.schema import application
from cloudcip.verification.signup_exemptions import (
    SignupContext,
    SignupExemptions,
)
from cloudcip.verification.signup_links import SignupLink, SignupLinks, link_notes, review_reasons
from cloudcip.verification.signup_store import prepare_signup, store_signup
from cloudcip.verification.validation import check_record, present_fields
from cloudcip.verification.vendors import VendorResult

ApplicationInput = IndividualApplication | EntityApplication

# every submit with an Idempotency-Key asks it first: built once, run on the driver (``storage.prepared``)
_BY_IDEMPOTENCY_KEY = Prepared(select(application.c.request_hash, application.c.response_json)
                               .where(application.c.idempotency_key == bindparam("key")))


def request_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def person_status_json(statuses: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [{"subject": subject, "status": status.status, "basis": status.basis, "evidence": status.evidence}
            for subject, status in statuses]


class PolicyFollow(Protocol):
    """Says when a new CIP policy was adopted (``verification.policy_store.PolicyWatch``)."""

    def changed(self) -> CipPolicy | None: ...


@dataclass
class ApplicationService:
    """Submits applications and moves their cases; one per process."""

    services: Services
    policy: CipPolicy
    screening: ScreeningService | None = None
    bin_table: BinTable | None = None
    ip_lookup: SignupIpLookup | None = None  # hosting/VPN/Tor facts of a signup address (access.ipintel)
    #: H1: asked before a foreign customer is granted access; a reason (no certification filed) keeps
    #: the case in ``pending_evidence``. Passed in by the wiring (``reports.certification``).
    approval_gate: Callable[[], str | None] | None = None
    #: G1: links of the signup to flagged accounts (``verification.signup_links``), passed in by the wiring
    signup_links: SignupLinks | None = None
    #: F1: which exemption applies to a signup, and its use recorded. Passed in by the wiring (``exemptions``).
    exemptions: SignupExemptions | None = None
    #: A8: the policy adopted by another process or node reaches this one (``policy_store.PolicyWatch``)
    policy_watch: PolicyFollow | None = None

    def follow_policy(self) -> CipPolicy:
        """The policy in force, taken up first if one was adopted elsewhere since the last look."""
        if self.policy_watch is not None and (adopted := self.policy_watch.changed()) is not None:
            self.policy = adopted
        return self.policy

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.services.ledger.clock

    # -- submit --------------------------------------------------------------------------------
    def submit(self, request: ApplicationInput, actor: Actor, idempotency_key: str | None = None) -> dict[str, Any]:
        self.follow_policy()
        dumped = request.model_dump(mode="json")
        body_hash = request_hash(dumped)
        if idempotency_key:
            stored = self._replay(idempotency_key, body_hash)
            if stored is not None:
                return stored
        now = self.clock()
        notices.check_notice(self.policy, request.notice_version)
        record = customer_record_of(request)
        checked = check_record(record, now.date(), self.bin_table)
        if request.reseller_account_id is not None:
            self._check_reseller(request.reseller_account_id)
        brought = evidence_checks.signup_evidence(request, checked, now.date())
        assessment = assess(applicant_of(request), checked, self.screening, self.ip_lookup, now.date(),
                            brought.citizenship)
        exempting = self.exemptions is not None and self.policy.exemptions.apply  # F1: as the policy in force says
        # the reads before the write transaction (links, exemptions) share one connection, and the
        # write transaction is begun on it once they are done (one connection checked out, not two)
        with self._reading(self.signup_links is not None or exempting) as conn:
            links = self._links(record, request, conn)
            facts = self.facts(request.account.type, request.account.channel, request.kind, assessment,
                               fields_present=frozenset(present_fields(request, dumped)),
                               notice_version=request.notice_version, satisfied=brought.satisfied(),
                               problems=tuple(brought.problems), links=links)
            if exempting and self.exemptions is not None and conn is not None:
                context = SignupContext(request.account.type, request.kind, request.reseller_account_id is not None)
                facts = replace(facts, exemptions=tuple(self.exemptions.applying(conn, context, now)))
            return self._decide_and_store(request, actor, idempotency_key, now, record, body_hash, brought,
                                          assessment, facts, links, conn)

    def _decide_and_store(self, request: ApplicationInput, actor: Actor, idempotency_key: str | None,
                          now: datetime, record: CustomerRecord, body_hash: str,
                          brought: evidence_checks.SignupEvidence, assessment: Assessment,
                          facts: ApplicationFacts, links: Sequence[SignupLink],
                          conn: Connection | None) -> dict[str, Any]:
        """The signup's decision, its case and answer, stored in one transaction (begun on ``conn``,
        the connection of the signup's reads, when there is one)."""
        decided = decide(facts, self.policy, now)
        decision = self.gated(decided, facts)
        application_id = str(uuid.uuid4())
        case = open_case(application_id, facts, decision, now, actor=actor.name)
        for item in brought.records(now):
            if item.outcome != "verified":
                case.record_evidence(item)
        answer = self._answer(application_id, case, decision, assessment)
        answer["fields_present"] = sorted(facts.fields_present)  # what a later re-evaluation starts from
        answer["links"] = [link.as_json() for link in links]
        if decision is not decided:  # H1: held by the certification gate until a certification is filed
            answer[certification_gate.HELD] = decision.reasons[-1]
        # sealed and laid out before the write transaction: the one writer is held only to insert
        rows = prepare_signup(self, case, request, record, decision, assessment, answer, body_hash,
                              idempotency_key, now)
        try:
            with self.services.ledger.unit_of_work(conn) as work:
                store_signup(self, work, rows, case, request, record, decision, assessment, answer, actor, now,
                             brought)
        except IntegrityError:
            # a concurrent retry with the same key won the race: answer as it was answered
            if idempotency_key:
                stored = self._replay(idempotency_key, body_hash)
                if stored is not None:
                    return stored
            raise
        return answer

    def facts(self, account_type: str, channel: str, customer_kind: str, assessment: Assessment, *,
              fields_present: frozenset[str], notice_version: str | None,
              satisfied: dict[str, frozenset[str]] | None = None, problems: tuple[str, ...] = (),
              links: Sequence[SignupLink] = ()) -> ApplicationFacts:
        """The facts ``decide`` takes, from an assessment (signup, re-evaluation, re-verification)."""
        subjects = [SubjectFacts(p.subject, p.status.status, p.status.basis,
                                 (satisfied or {}).get(p.subject, frozenset())) for p in assessment.persons]
        measures, notes = measure_facts([m.as_json() for m in assessment.measures])
        return ApplicationFacts(
            account_type=account_type, channel=channel,
            customer_kind="entity" if customer_kind == "entity" else "individual",
            risk_tier=assessment.risk.tier, fields_present=fields_present, customer=subjects[0],
            beneficial_owners=tuple(subjects[1:]), screening_band=assessment.band,  # type: ignore[arg-type]
            measures=measures, validation_problems=problems, notice_version=notice_version,
            notes=(*notes, *link_notes(links), *assessment.risk.reasons), links=review_reasons(links),
        )

    @contextmanager
    def _reading(self, needed: bool) -> Iterator[Connection | None]:
        """One connection for the signup's reads before its write transaction (None when none is needed)."""
        with self.services.database.engine.connect() if needed else nullcontext() as conn:
            yield conn

    def _links(self, record: CustomerRecord, request: ApplicationInput,
               conn: Connection | None) -> Sequence[SignupLink]:
        """G1: the signup's links to flagged accounts (none without the hook, which comes with ``conn``)."""
        if self.signup_links is None or conn is None:
            return ()
        return self.signup_links.check(conn, record, signup_ip=request.signup_ip, device_id=request.device_id)

    def _gate_reason(self, subjects: list[str]) -> str | None:
        """Why a foreign customer may not be granted access now (H1 certification gate), or None."""
        if self.approval_gate is None or all(status == "us_person" for status in subjects):
            return None
        return self.approval_gate()

    def gated(self, decision: Decision, facts: ApplicationFacts) -> Decision:
        """H1: an approval of a foreign customer becomes ``pending_evidence`` (no deadline, the gate's
        reason last) while the certification gate holds; any other decision is returned as it is."""
        if decision.decision != "approved":
            return decision
        reason = self._gate_reason([s.status for s in facts.subjects])
        if reason is None:
            return decision
        rule = self.policy.rule_by_id(decision.policy_rule) if decision.policy_rule != "none" else None
        return replace(decision, decision="pending_evidence", reasons=[*decision.reasons, reason], deadline=None,
                       restrictions=list(rule.pending.restrictions) if rule is not None else decision.restrictions)

    def _check_reseller(self, reseller_account_id: str) -> None:
        """A sub-lessee's account hangs under an existing Reseller Account (E2)."""
        from cloudcip.errors import InvalidInput

        with self.services.database.engine.connect() as conn:
            kind = conn.execute(select(account.c.type).where(account.c.id == reseller_account_id)).scalar_one_or_none()
        if kind != "reseller":
            raise InvalidInput.field("reseller_account_id", "no such Reseller Account")

    def _replay(self, idempotency_key: str, body_hash: str) -> dict[str, Any] | None:
        with self.services.database.engine.connect() as conn:
            row = _BY_IDEMPOTENCY_KEY.first(conn, {"key": idempotency_key})
        if row is None:
            return None
        request_hash, response_json = row
        if request_hash != body_hash:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
        stored: dict[str, Any] = json.loads(response_json)
        stored["replayed"] = True
        return stored

    def _answer(self, application_id: str, case: VerificationCase, decision: Decision,
                assessment: Assessment) -> dict[str, Any]:
        owed = case_owed(case, self.policy) if case.state in OPEN_STATES else []
        restrictions: list[Restriction] = list(decision.restrictions)
        labels = [item.label for item in owed]
        labels += [item.label for item in decision.evidence_owed if item.label not in labels]
        customer_location = assessment.persons[0].location
        return {
            "id": application_id,
            "decision": DECISION_OF_STATE.get(case.state.value, "in_review"),
            "state": case.state.value,
            "person_status": person_status_json(assessment.statuses),
            "restrictions": [r.label for r in restrictions],
            "deadline": clock.iso(case.deadline) if case.state is CaseState.pending_evidence else None,
            "evidence_required": labels if case.state in OPEN_STATES else [],
            "reasons": list(decision.reasons),
            "policy_rule": case.policy_rule,
            "notice_version": decision.notice_version,
            "risk_tier": assessment.risk.tier,
            "risk": assessment.risk.as_json(),
            "location": customer_location.codes,
            "located_in": customer_location.located_in,
            "location_decisions": {p.subject: p.location.as_json() for p in assessment.persons},
            "screening": {"band": assessment.band, "hits": assessment.hits_json(),
                          "measures": [m.as_json() for m in assessment.measures]},
            "exemption_applied": decision.exemption_applied,
            "exempted_steps": dict(decision.exempted_steps),
            "replayed": False,
        }

    def sealer(self, conn: Connection, customer_id: str) -> FieldSealer:
        return self.services.customers.sealer_in(conn, customer_id)

    # -- the case, loaded and saved --------------------------------------------------------------
    def load(self, conn: Connection, application_id: str) -> tuple[Any, VerificationCase]:
        return load_case(conn, application_id)

    def save(self, work: UnitOfWork, row: Any, case: VerificationCase, moves: list[CaseTransition],
             actor: Actor, now: datetime, note: str, answer: dict[str, Any] | None = None,
             keep_reasons: bool = False) -> dict[str, Any]:
        """Store the case's new transitions, the account's state, the answer; webhook and ledger."""
        return save_case(work, row, case, moves, self.policy, actor, now, note, answer, keep_reasons)

    # -- read ----------------------------------------------------------------------------------
    def show(self, application_id: str, actor: Actor, purpose: str | None = None) -> dict[str, Any]:
        self.follow_policy()
        with self.services.ledger.unit_of_work() as work:
            row, case = self.load(work.conn, application_id)
            answer: dict[str, Any] = json.loads(row.response_json)
            answer["state"] = case.state.value
            answer["history"] = [{"from": m.from_state.value, "to": m.to_state.value, "reason": m.reason,
                                  "actor": m.actor, "at": clock.iso(m.at)} for m in case.history]
            answer["evidence"] = [{"subject": e.subject, "method": e.method, "outcome": e.outcome,
                                   "at": clock.iso(e.at)} for e in case.evidence]
            answer["resolution"] = row.resolution
            answer["replayed"] = False
            answer["customer_id"] = row.customer_id
            answer["account_id"] = row.account_id
            work.log(LedgerAction(actor.name, actor.role, "read", "application", application_id, purpose=purpose))
        return answer

    # -- evidence ------------------------------------------------------------------------------
    def add_evidence(self, application_id: str, method: str, outcome: str, actor: Actor, *,
                     subject: str = "customer", detail: dict[str, Any] | None = None,
                     reference: str | None = None, document: evidence_checks.DocumentClaim | None = None
                     ) -> dict[str, Any]:
        """Record one piece of evidence and move the case along its state machine (A4, A5): a document
        is compared field by field with the application (a mismatch sends the case to review naming
        the field; an expired document fails), its MRZ parsed and checked; verified citizenship
        evidence decides the person's U.S./foreign status again (A2)."""
        self.follow_policy()
        now = self.clock()
        with self.services.ledger.unit_of_work() as work:
            conn = work.conn
            row, case = self.load(conn, application_id)
            if subject not in case.subjects:
                raise EvidenceRefused(f"the case has no subject {subject}")
            checked = evidence_checks.check_claim(self, conn, row, subject, method, outcome, document, now.date())
            evidence_id = str(uuid.uuid4())
            kept = dict(detail or {})
            if document is not None:
                kept["document"] = document.as_json()
            if checked.mismatches:
                kept["mismatches"] = checked.mismatches
            if checked.problems:
                kept["problems"] = checked.problems
            sealed = self.sealer(conn, row.customer_id).seal(
                json.dumps(kept), table="evidence", column="detail", row_id=evidence_id) if kept else None
            insert_rows(conn, evidence, [dict(
                id=evidence_id, customer_id=row.customer_id, application_id=application_id, subject=subject,
                method=method, result=checked.outcome, vendor_reference=reference, received_at=now,
                detail_sealed=sealed)])
            codes.mark_contact_verified(conn, row.customer_id, method, checked.outcome, now)
            answer = None
            if checked.citizenship is not None and checked.outcome == "verified":
                answer = successors.redetermine(self, work, row, case, subject, checked.citizenship, actor, now)
            moves = apply_evidence(case, method, checked.outcome, self.policy, now,  # type: ignore[arg-type]
                                   subject=subject, actor=actor.name, reference=reference, why=checked.why)
            gate = self._gate_reason(list(case.subjects.values())) if case.state is CaseState.approved else None
            if gate is not None:  # H1: the evidence is kept, the case waits for the certification
                row, case = self.load(conn, application_id)
                return certification_gate.hold(self, work, row, case, gate, actor, now, answer,
                                               f"verification evidence {method}: {checked.outcome}; approval waits "
                                               "for the CIP certification")
            return self.save(work, row, case, moves, actor, now, f"verification evidence {method}: {checked.outcome}",
                             answer=answer)

    def add_vendor_result(self, application_id: str, result: VendorResult, actor: Actor,
                          subject: str = "customer") -> dict[str, Any]:
        """A vendor's document-and-selfie result becomes ``vendor_idv`` evidence; its reference is kept,
        and the document and person it read are compared with the application (A5)."""
        self.follow_policy()
        detail = {k: v for k, v in {"vendor": result.vendor, "reason": result.reason}.items() if v is not None}
        return self.add_evidence(application_id, "vendor_idv", result.outcome, actor, subject=subject, detail=detail,
                                 reference=f"{result.vendor}:{result.reference}",
                                 document=evidence_checks.claim_of_vendor(result))

    def review(self, application_id: str, to_state: str, reason: str, actor: Actor) -> dict[str, Any]:
        """A person decides a case in review: approve, refuse or ask for more evidence (A6). A settled
        case is left only through redress (``redress``), never here; approving an account a special
        measure in force prohibits is refused."""
        self.follow_policy()
        now = self.clock()
        with self.services.ledger.unit_of_work() as work:
            row, case = self.load(work.conn, application_id)
            if case.is_settled or case.state is CaseState.failed:
                raise CaseStateConflict(f"the case is {case.state.value}; a settled case is re-opened only through "
                                        "redress")
            if to_state == "approved" and prohibited(work.conn, row.account_id, now.date()):
                raise CaseStateConflict("a special measure in force prohibits this account; it cannot be approved")
            try:
                moves = [case.transition(to_state, reason, actor.name, now)]
            except IllegalTransition as exc:
                raise CaseStateConflict(f"the case is {case.state.value}; it cannot go to {to_state}") from exc
            if case.is_settled:
                case.resolve(f"decided by a reviewer: {reason}", actor.name, now)
            return self.save(work, row, case, moves, actor, now, "case review")

    def redress(self, application_id: str, reason: str, actor: Actor) -> dict[str, Any]:
        self.follow_policy()
        from cloudcip.verification.redress import redress

        return redress(self, application_id, reason, actor)

    def measure_acted(self, work: UnitOfWork, account_id: str, measure: Measure, action: str) -> None:
        """D1, D4: a prohibition closed the account: its current case is closed too (the ``measure``
        re-opening), so the case and the account agree and only redress re-opens it. Conditions
        restrict the account and leave the case as it is."""
        if action != "closed":
            return
        row = work.conn.execute(select(application.c.id).where(application.c.account_id == account_id)
                                .order_by(application.c.created_at.desc(), application.c.id).limit(1)).first()
        if row is None:
            return
        now = self.clock()
        stored, case = self.load(work.conn, row.id)
        if case.state is CaseState.closed:
            return
        move = case.reopen("measure", CaseState.closed, f"special measure {measure.id} prohibits the account",
                           "job:rescreen", max(now, case.history[-1].at) if case.history else now)
        case.resolve(f"closed by special measure {measure.id}", "job:rescreen", move.at)
        self.save(work, stored, case, [move], Actor("job:rescreen", "admin"), now, "special measure")

    def hit_decided(self, work: UnitOfWork, hit: StoredHit, actor: Actor) -> None:
        """D5: a person decided a hit; a signup application it refused is decided again when cleared."""
        signup_hits.hit_decided(self, work, hit, actor)

    def release_held_cases(self, actor: Actor) -> int:
        """H1: once a certification is filed, the cases the gate held proceed (``certification_gate``)."""
        self.follow_policy()
        return certification_gate.release(self, actor)

    # -- one-time codes ------------------------------------------------------------------------
    def issue_otp(self, application_id: str, channel: str, actor: Actor) -> dict[str, Any]:
        self.follow_policy()
        return codes.issue_otp(self, application_id, channel, actor)

    def confirm_otp(self, application_id: str, channel: str, code: str, actor: Actor) -> dict[str, Any]:
        self.follow_policy()
        return codes.confirm_otp(self, application_id, channel, code, actor)

    # -- jobs ----------------------------------------------------------------------------------
    def enforce_deadlines(self, now: datetime, actor: Actor | None = None) -> int:
        """Cases pending past their deadline fail, then take the policy's failure action (A6)."""
        self.follow_policy()
        actor = actor or Actor("job:deadlines", "admin")
        with self.services.database.engine.connect() as conn:
            due = list(conn.execute(select(application.c.id).where(
                application.c.state == "pending_evidence", application.c.deadline <= now)).scalars())
        for application_id in due:
            with self.services.ledger.unit_of_work() as work:
                row, case = self.load(work.conn, application_id)
                moves = enforce_deadline(case, now, self.policy, actor=actor.name)
                self.save(work, row, case, moves, actor, now, "verification deadline")
        return len(due)

    def reverifications_due(self, now: datetime) -> list[str]:
        """Approved cases whose re-verification date has come, on accounts not closed or refused (A7)."""
        return successors.reverifications_due(self, now)

    def reverify_due_cases(self, now: datetime) -> int:
        """The periodic re-verification job (A7, see ``successors.reverify``)."""
        self.follow_policy()
        return successors.reverify_due_cases(self, now)

    def add_beneficial_owner(self, application_id: str, owner: BeneficialOwnerInput, actor: Actor) -> dict[str, Any]:
        """A7: the customer notifies a new beneficial owner; the case is re-evaluated with it."""
        self.follow_policy()
        return successors.add_beneficial_owner(self, application_id, owner, actor)

    def reopen(self, application_id: str, reason: str, actor: Actor, *, carry_evidence: bool) -> dict[str, Any]:
        """Re-evaluate a case under the policy (see ``successors.reevaluate``)."""
        self.follow_policy()
        with self.services.ledger.unit_of_work() as work:
            return successors.reevaluate(self, work, application_id, reason, actor, carry_evidence=carry_evidence)


def build_application_service(services: Services, *, screening: ScreeningService | None = None,
                              ip_lookup: SignupIpLookup | None = None) -> ApplicationService:
    """The application service of a process: the policy in force, screening against in-force lists
    (the process's one screening service, ``runtime.application_service`` passes it; a new one for a
    caller without one), and (where the wiring passes it) the IP intelligence of signup addresses."""
    from cloudcip.verification.policy_store import PolicyWatch, policy_in_force

    policy = policy_in_force(services.database, services.settings.policy_path).policy
    return ApplicationService(services=services, policy=policy, screening=screening or ScreeningService(services),
                              ip_lookup=ip_lookup,
                              policy_watch=PolicyWatch(services.database, services.settings.policy_path))


__all__ = ["ACCOUNT_STATE", "DECISION_OF_STATE", "ApplicationService", "build_application_service", "request_hash"]
