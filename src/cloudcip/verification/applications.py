"""The verification workflow of account openings: submit, decide, take evidence, move the case
(A2, A4, A5, A6, A7, A8, B3, D2, D3).

One application is one verification case (``cloudcip.domain.verification_case``). Submitting
validates every field (one error naming each bad field), decides U.S./foreign status for the customer
and every beneficial owner, locates them from all evidence, screens names and identifiers against the
in-force lists and measures, applies the CIP policy (``decide``), and stores the sealed record, the
account, the case with its first transition, the determinations and an outbox webhook, in one
transaction with its ledger entries. Evidence, one-time codes, reviewers and deadlines move the case
through the same state machine; each move is stored, on the ledger, and sent as a webhook.
A retried request with the same ``Idempotency-Key`` returns the stored answer; the same key with
another body is a conflict.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from cloudcip import clock
from cloudcip.crypto.envelope import FieldSealer
from cloudcip.domain.application import EntityApplication, IndividualApplication, customer_record_of
from cloudcip.domain.customer import (
    BankAccount,
    BeneficialOwnerInput,
    Card,
    CryptoWallet,
    CustomerRecord,
    IndividualCustomer,
)
from cloudcip.domain.verification_case import (
    CaseResolution,
    CaseState,
    CaseTransition,
    EvidenceRecord,
    IllegalTransition,
    VerificationCase,
)
from cloudcip.identity.payment import BinTable
from cloudcip.identity.problems import IdentityFieldError
from cloudcip.identity.us_person import (
    CitizenshipEvidence,
    LocationEvidence,
    PersonFacts,
    PersonStatus,
    determine_person_status,
)
from cloudcip.jobs.webhooks import enqueue
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.screening import location
from cloudcip.screening.service import ScreeningService
from cloudcip.services import Services
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.schema import account, contact, evidence
from cloudcip.verification import otp
from cloudcip.verification.decision import (
    ApplicationFacts,
    Decision,
    MeasureInForce,
    SubjectFacts,
    apply_evidence,
    case_owed,
    decide,
    enforce_deadline,
    open_case,
    reverification_due,
)
from cloudcip.verification.errors import ApplicationNotFound, EvidenceRefused, IdempotencyConflict
from cloudcip.verification.policy import CipPolicy, Restriction, default_policy, load_policy
from cloudcip.verification.schema import application, case_transition, otp_challenge, person_determination
from cloudcip.verification.validation import CheckedRecord, PersonFields, check_record, check_record_owner
from cloudcip.verification.vendors import VendorResult

ApplicationInput = IndividualApplication | EntityApplication

# the account's state for each state of its case
ACCOUNT_STATE: dict[str, str] = {
    "approved": "active",
    "pending_evidence": "restricted_pending",
    "in_review": "pending_review",
    "refused": "refused",
    "failed": "restricted",
    "closed": "closed",
    "restricted": "restricted",
    "submitted": "pending_review",
}
DECISION_OF_STATE: dict[str, str] = {
    "approved": "approved", "pending_evidence": "pending_evidence", "in_review": "in_review",
    "refused": "refused", "failed": "refused", "closed": "refused", "restricted": "refused",
}


def request_hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _person_facts(person: PersonFields, checked: CheckedRecord, signup_country: str | None) -> PersonFacts:
    citizenship: list[CitizenshipEvidence] = []
    if person.us_passport:
        # a passport number stated at signup is a claim; a document or vendor check verifies it
        citizenship.append(CitizenshipEvidence("us_passport", verified=False, country="US"))
    if person.permanent_resident_card:
        citizenship.append(CitizenshipEvidence("permanent_resident_card", verified=False, country="US"))
    evidence_items: list[LocationEvidence] = []
    if person.address_country:
        evidence_items.append(LocationEvidence("address", person.address_country))
    if person.subject == "customer":
        if checked.phone_country:
            evidence_items.append(LocationEvidence("phone", checked.phone_country))
        evidence_items += [LocationEvidence("payment", c) for c in checked.card_countries]
        evidence_items += [LocationEvidence("bank_account", c) for c in checked.iban_countries]
        if signup_country:
            evidence_items.append(LocationEvidence("ip", signup_country))
    return PersonFacts(
        kind="entity" if person.kind == "entity" else "individual",
        nationality=person.nationality,
        citizenship_evidence=citizenship,
        ein_valid=person.ein_valid,
        formation_country=person.formation_country,
        address_country=person.address_country,
        location_evidence=evidence_items,
    )


@dataclass
class Screened:
    """What screening found for the application's people and where they are (D2, D3, D1)."""

    band: str = "clear"
    hits: list[dict[str, Any]] = field(default_factory=list)
    measures: list[dict[str, Any]] = field(default_factory=list)
    jurisdictions: list[str] = field(default_factory=list)
    signup_country: str | None = None  # where the signup IP is registered: location evidence, never decisive


@dataclass
class ApplicationService:
    """Submits applications and moves their cases; one per process."""

    services: Services
    policy: CipPolicy
    screening: ScreeningService | None = None
    bin_table: BinTable | None = None

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.services.ledger.clock

    # -- submit --------------------------------------------------------------------------------
    def submit(self, request: ApplicationInput, actor: Actor, idempotency_key: str | None = None) -> dict[str, Any]:
        body_hash = request_hash(request.model_dump(mode="json"))
        if idempotency_key:
            stored = self._replay(idempotency_key, body_hash)
            if stored is not None:
                return stored
        now = self.clock()
        record = customer_record_of(request)
        checked = check_record(record, now.date(), self.bin_table)
        if request.reseller_account_id is not None:
            self._check_reseller(request.reseller_account_id)
        screened = self._screen(request, checked)
        statuses = [(person.subject, determine_person_status(_person_facts(person, checked, screened.signup_country)))
                    for person in checked.persons]
        facts = ApplicationFacts(
            account_type=request.account.type,
            channel=request.account.channel,
            customer_kind=request.kind,
            risk_tier=request.account.risk_tier or _risk_tier(checked, screened.band, request),
            fields_present=frozenset(_present_fields(request)),
            customer=SubjectFacts("customer", statuses[0][1].status, statuses[0][1].basis),
            beneficial_owners=tuple(SubjectFacts(subject, status.status, status.basis)
                                    for subject, status in statuses[1:]),
            screening_band=screened.band,  # type: ignore[arg-type]
            measures=tuple(_measure_in_force(m) for m in screened.measures if m["status"] == "in_force"),
            notice_version=request.notice_version,
        )
        decision = decide(facts, self.policy, now)
        application_id = str(uuid.uuid4())
        case = open_case(application_id, facts, decision, now, actor=actor.name)
        answer = self._answer(application_id, case, decision.reasons, statuses, screened, decision)
        answer["fields_present"] = sorted(facts.fields_present)  # what a later re-evaluation starts from
        try:
            with self.services.ledger.unit_of_work() as work:
                self._store(work, case, request, record, decision, statuses, answer, body_hash, idempotency_key,
                            actor, now)
        except IntegrityError:
            # a concurrent retry with the same key won the race: answer as it was answered
            if idempotency_key:
                stored = self._replay(idempotency_key, body_hash)
                if stored is not None:
                    return stored
            raise
        return answer

    def _screen(self, request: ApplicationInput, checked: CheckedRecord) -> Screened:
        """Names and identifiers of the customer and every beneficial owner, with their locations."""
        jurisdictions = location.locate(location.LocationEvidence(
            address_country=request.address.country,
            address_subdivision=request.address.subdivision,
            document_countries=checked.persons[0].document_countries,
            nationalities=[n for n in [checked.persons[0].nationality] if n],
            phone_number=request.phone,
            signup_ip=request.signup_ip,
            card_issuer_countries=checked.card_countries,
            ibans=[m.iban for m in request.payment_means if isinstance(m, BankAccount) and m.iban],
        ))
        screened = Screened(jurisdictions=[j.code for j in jurisdictions], signup_country=next(
            (j.country for j in jurisdictions if j.kind == "country" and "signup_ip" in j.evidence), None))
        if self.screening is None:
            return screened
        people: list[tuple[str, str, str | None, str | None, list[str]]] = []
        wallets = [m.address for m in request.payment_means if isinstance(m, CryptoWallet)]
        if isinstance(request, IndividualApplication):
            name = " ".join(p for p in (request.name.given, request.name.middle, request.name.family) if p)
            numbers = [d.number for d in ([request.national_id] if request.national_id else []) + request.documents]
            people.append(("customer", name, request.birth_date.isoformat(), request.nationality, numbers))
        else:
            people.append(("customer", request.legal_name, None, None, [request.registration.number]))
            for position, owner in enumerate(request.beneficial_owners):
                owner_name = " ".join(p for p in (owner.name.given, owner.name.middle, owner.name.family) if p)
                people.append((f"beneficial_owner:{position}", owner_name,
                               owner.birth_date.isoformat() if owner.birth_date else None, owner.nationality,
                               [owner.national_id.number] if owner.national_id else []))
        seen_measures: dict[str, dict[str, Any]] = {}
        order = {"clear": 0, "review": 1, "block": 2}
        for subject, name, birth, nationality, numbers in people:
            if len(name) > 300:
                field_name = "legal_name" if subject == "customer" and request.kind == "entity" else (
                    "name" if subject == "customer" else f"beneficial_owners.{subject.split(':')[1]}.name")
                raise IdentityFieldError.single(field_name, "longer than the 300 characters a name can be screened at")
            result = self.screening.screen_person(
                name, birth, nationality, schema="Organization" if subject == "customer" and request.kind == "entity"
                else "Person", document_numbers=numbers, emails=[request.email] if subject == "customer" else [],
                wallets=wallets if subject == "customer" else [], jurisdictions=screened.jurisdictions)
            if order[result.band] > order[screened.band]:
                screened.band = result.band
            for hit in result.hits:
                if hit.band != "clear":
                    screened.hits.append({"subject": subject, "list_source": hit.party_source,
                                          "list_source_id": hit.party_id, "score": round(hit.score, 3),
                                          "band": hit.band})
            for applying in result.measures_applying:
                seen_measures[applying.measure.id] = applying.as_json()
        screened.measures = list(seen_measures.values())
        return screened

    def _check_reseller(self, reseller_account_id: str) -> None:
        """A sub-lessee's account hangs under an existing Reseller Account (E2)."""
        with self.services.database.engine.connect() as conn:
            kind = conn.execute(select(account.c.type).where(account.c.id == reseller_account_id)).scalar_one_or_none()
        if kind != "reseller":
            raise IdentityFieldError.single("reseller_account_id", "no such Reseller Account")

    def _replay(self, idempotency_key: str, body_hash: str) -> dict[str, Any] | None:
        with self.services.database.engine.connect() as conn:
            row = conn.execute(
                select(application.c.request_hash, application.c.response_json)
                .where(application.c.idempotency_key == idempotency_key)
            ).first()
        if row is None:
            return None
        if row.request_hash != body_hash:
            raise IdempotencyConflict("this Idempotency-Key was used with a different request body")
        stored: dict[str, Any] = json.loads(row.response_json)
        stored["replayed"] = True
        return stored

    def _answer(self, application_id: str, case: VerificationCase, reasons: list[str],
                statuses: list[tuple[str, PersonStatus]], screened: Screened,
                decision: Decision | None = None) -> dict[str, Any]:
        owed = case_owed(case, self.policy) if case.state in (CaseState.pending_evidence, CaseState.in_review) \
            else []
        restrictions: list[Restriction] = list(decision.restrictions) if decision else []
        return {
            "id": application_id,
            "decision": DECISION_OF_STATE.get(case.state.value, "in_review"),
            "state": case.state.value,
            "person_status": [
                {"subject": subject, "status": status.status, "basis": status.basis, "evidence": status.evidence}
                for subject, status in statuses
            ],
            "restrictions": [r.label for r in restrictions],
            "deadline": clock.iso(case.deadline) if case.state is CaseState.pending_evidence else None,
            "evidence_required": [item.label for item in owed],
            "reasons": list(reasons),
            "policy_rule": case.policy_rule,
            "notice_version": decision.notice_version if decision else None,
            "location": screened.jurisdictions,
            "screening": {"band": screened.band, "hits": screened.hits, "measures": screened.measures},
            "replayed": False,
        }

    def _store(self, work: UnitOfWork, case: VerificationCase, request: ApplicationInput, record: CustomerRecord,
               decision: Decision, statuses: list[tuple[str, PersonStatus]], answer: dict[str, Any], body_hash: str,
               idempotency_key: str | None, actor: Actor, now: datetime) -> None:
        conn = work.conn
        sealers: dict[str, FieldSealer] = {}
        [customer_id] = self.services.customers.create_in(work, [record], actor,
                                                          purpose="account opening", sealers=sealers)
        account_id = str(uuid.uuid4())
        insert_rows(conn, account, [dict(
            id=account_id, customer_id=customer_id, type=request.account.type, channel=request.account.channel,
            state=ACCOUNT_STATE[case.state.value], parent_account_id=request.reseller_account_id,
            external_ref=request.account.external_ref, opened_at=now, closed_at=None)])
        answer["customer_id"] = customer_id
        answer["account_id"] = account_id
        sealer = sealers[customer_id]
        insert_rows(conn, application, [dict(
            id=case.case_id, customer_id=customer_id, account_id=account_id, idempotency_key=idempotency_key,
            request_hash=body_hash, account_type=request.account.type, channel=request.account.channel,
            risk_tier=request.account.risk_tier or "standard", state=case.state.value,
            decision=answer["decision"], policy_rule=case.policy_rule or "none",
            failure_action=case.failure_action, notice_version=request.notice_version,
            deadline=case.deadline, reverify_due=decision.reverify_due, resolution=None,
            signup_ip_sealed=sealer.seal(request.signup_ip, table="application", column="signup_ip",
                                         row_id=case.case_id),
            response_json=json.dumps(answer), created_at=now, updated_at=now)])
        insert_rows(conn, person_determination, [
            {"application_id": case.case_id, "subject": subject, "status": status.status, "basis": status.basis,
             "evidence_json": json.dumps(status.evidence), "decided_at": now}
            for subject, status in statuses
        ])
        self._store_transitions(conn, case.case_id, case.history)
        enqueue(conn, "application.decision", {"application_id": case.case_id, "account_id": account_id,
                                               "decision": answer["decision"]})
        work.log(LedgerAction(actor.name, actor.role, "create", "application", case.case_id,
                              purpose="account opening", detail={"decision": answer["decision"]}))

    @staticmethod
    def _store_transitions(conn: Connection, application_id: str, moves: list[CaseTransition]) -> None:
        insert_rows(conn, case_transition, [
            {"application_id": application_id, "from_state": m.from_state.value, "to_state": m.to_state.value,
             "reason": m.reason, "actor": m.actor, "at": m.at} for m in moves])

    def _sealer(self, conn: Connection, customer_id: str) -> FieldSealer:
        return self.services.customers.sealer_in(conn, customer_id)

    # -- the case, loaded and saved --------------------------------------------------------------
    def _load(self, conn: Connection, application_id: str) -> tuple[Any, VerificationCase]:
        row = conn.execute(select(application).where(application.c.id == application_id)).first()
        if row is None:
            raise ApplicationNotFound(application_id)
        subjects = {d.subject: d.status for d in conn.execute(
            select(person_determination).where(person_determination.c.application_id == application_id))}
        history = [CaseTransition(CaseState(t.from_state), CaseState(t.to_state), t.reason, t.actor, clock.utc(t.at))
                   for t in conn.execute(select(case_transition).where(
                       case_transition.c.application_id == application_id).order_by(case_transition.c.id))]
        records = [EvidenceRecord(e.subject or "customer", e.method, e.result, clock.utc(e.received_at),
                                  e.vendor_reference)
                   for e in conn.execute(select(evidence).where(evidence.c.application_id == application_id)
                                         .order_by(evidence.c.received_at))]
        case = VerificationCase(
            case_id=row.id, opened_at=clock.utc(row.created_at),
            policy_rule=None if row.policy_rule == "none" else row.policy_rule,
            failure_action=row.failure_action, deadline=clock.utc(row.deadline) if row.deadline else None,
            subjects=subjects or {"customer": "foreign_person"}, state=CaseState(row.state), history=history,
            evidence=records,
        )
        if row.resolution:
            case.resolution = CaseResolution(case.state, row.resolution, "stored", clock.utc(row.updated_at))
        return row, case

    def _save(self, work: UnitOfWork, row: Any, case: VerificationCase, moves: list[CaseTransition],
              actor: Actor, now: datetime, note: str) -> dict[str, Any]:
        """Store the case's new transitions, the account's state, the answer; webhook and ledger."""
        conn = work.conn
        answer: dict[str, Any] = json.loads(row.response_json)
        self._store_transitions(conn, row.id, moves)
        if case.state is CaseState.approved:
            answer["restrictions"] = []
            answer["deadline"] = None
        owed = case_owed(case, self.policy) if case.state in (CaseState.pending_evidence, CaseState.in_review) \
            else []
        answer.update({
            "decision": DECISION_OF_STATE[case.state.value], "state": case.state.value,
            "evidence_required": [item.label for item in owed], "replayed": False,
        })
        if moves:
            answer["reasons"] = [m.reason for m in moves]
        values: dict[str, Any] = {"state": case.state.value, "decision": answer["decision"], "updated_at": now,
                                  "response_json": json.dumps(answer)}
        if case.resolution is not None:
            values["resolution"] = case.resolution.how
        due = reverification_due(case, self.policy)
        if due is not None:
            values["reverify_due"] = due
        conn.execute(update(application).where(application.c.id == row.id).values(**values))
        if moves:
            conn.execute(update(account).where(account.c.id == row.account_id).values(
                state=ACCOUNT_STATE[case.state.value],
                closed_at=now if case.state in (CaseState.closed, CaseState.refused) else None))
            enqueue(conn, "application.decision", {"application_id": row.id, "account_id": row.account_id,
                                                   "decision": answer["decision"], "state": case.state.value})
            for move in moves:
                work.log(LedgerAction(actor.name, actor.role, "transition", "application", row.id,
                                      purpose="verification workflow",
                                      detail={"from": move.from_state.value, "to": move.to_state.value}))
        work.log(LedgerAction(actor.name, actor.role, "update", "application", row.id, purpose=note))
        answer["customer_id"] = row.customer_id
        answer["account_id"] = row.account_id
        return answer

    # -- read ----------------------------------------------------------------------------------
    def show(self, application_id: str, actor: Actor, purpose: str | None = None) -> dict[str, Any]:
        with self.services.ledger.unit_of_work() as work:
            row, case = self._load(work.conn, application_id)
            answer: dict[str, Any] = json.loads(row.response_json)
            answer["state"] = case.state.value
            answer["history"] = [{"from": m.from_state.value, "to": m.to_state.value, "reason": m.reason,
                                  "actor": m.actor, "at": clock.iso(m.at)} for m in case.history]
            answer["evidence"] = [{"subject": e.subject, "method": e.method, "outcome": e.outcome,
                                   "at": clock.iso(e.at)} for e in case.evidence]
            answer["resolution"] = row.resolution
            answer["replayed"] = False
            work.log(LedgerAction(actor.name, actor.role, "read", "application", application_id, purpose=purpose))
        return answer

    # -- evidence ------------------------------------------------------------------------------
    def add_evidence(self, application_id: str, method: str, outcome: str, actor: Actor, *,
                     subject: str = "customer", detail: dict[str, Any] | None = None,
                     reference: str | None = None) -> dict[str, Any]:
        """Record one piece of evidence and move the case along its state machine (A4, A5)."""
        now = self.clock()
        with self.services.ledger.unit_of_work() as work:
            conn = work.conn
            row, case = self._load(conn, application_id)
            if subject not in case.subjects:
                raise EvidenceRefused(f"the case has no subject {subject}")
            evidence_id = str(uuid.uuid4())
            sealed = self._sealer(conn, row.customer_id).seal(
                json.dumps(detail), table="evidence", column="detail", row_id=evidence_id) if detail else None
            conn.execute(insert(evidence), dict(
                id=evidence_id, customer_id=row.customer_id, application_id=application_id, subject=subject,
                method=method, result=outcome, vendor_reference=reference, received_at=now, detail_sealed=sealed))
            if method in ("email_otp", "phone_otp") and outcome == "verified":
                conn.execute(update(contact).where(contact.c.customer_id == row.customer_id,
                                                   contact.c.kind == method.split("_")[0])
                             .values(verification_state="verified", verified_at=now))
            moves = apply_evidence(case, method, outcome, self.policy, now, subject=subject,  # type: ignore[arg-type]
                                   actor=actor.name, reference=reference)
            return self._save(work, row, case, moves, actor, now, f"verification evidence {method}: {outcome}")

    def add_vendor_result(self, application_id: str, result: VendorResult, actor: Actor) -> dict[str, Any]:
        """A vendor's document-and-selfie result becomes ``vendor_idv`` evidence; its reference is kept (A5)."""
        detail = {k: v for k, v in {
            "vendor": result.vendor, "reason": result.reason, "document_type": result.document_type,
            "document_country": result.document_country, "document_number": result.document_number,
            "document_expiry": result.document_expiry}.items() if v is not None}
        return self.add_evidence(application_id, "vendor_idv", result.outcome, actor, detail=detail,
                                 reference=f"{result.vendor}:{result.reference}")

    def review(self, application_id: str, to_state: str, reason: str, actor: Actor) -> dict[str, Any]:
        """A person decides a case in review (approve, refuse, ask for more evidence), or re-opens a
        settled one on redress (A6)."""
        now = self.clock()
        with self.services.ledger.unit_of_work() as work:
            row, case = self._load(work.conn, application_id)
            try:
                if to_state == "redress":
                    moves = [case.redress(reason, actor.name, now)]
                else:
                    moves = [case.transition(to_state, reason, actor.name, now)]
                    if case.is_settled:
                        case.resolve(f"decided by a reviewer: {reason}", actor.name, now)
            except IllegalTransition as exc:
                raise EvidenceRefused(str(exc)) from exc
            return self._save(work, row, case, moves, actor, now, "case review")

    # -- one-time codes ------------------------------------------------------------------------
    def issue_otp(self, application_id: str, channel: str, actor: Actor) -> dict[str, Any]:
        """Issue a code: stored hashed; it leaves only once, through the provider's webhook."""
        now = self.clock()
        code = otp.new_code()
        challenge_id = str(uuid.uuid4())
        expires = now + otp.DEFAULT_TTL
        with self.services.ledger.unit_of_work() as work:
            row = work.conn.execute(select(application.c.id, application.c.state).where(
                application.c.id == application_id)).first()
            if row is None:
                raise ApplicationNotFound(application_id)
            if row.state not in ("pending_evidence", "in_review"):
                raise EvidenceRefused(f"the case is {row.state}; no code is needed")
            work.conn.execute(insert(otp_challenge), dict(
                id=challenge_id, application_id=application_id, channel=channel,
                code_hash=otp.hash_code(challenge_id, code), created_at=now, expires_at=expires, attempts=0,
                max_attempts=otp.DEFAULT_MAX_ATTEMPTS))
            enqueue(work.conn, "otp.deliver", {"application_id": application_id, "channel": channel,
                                               "challenge_id": challenge_id, "code": code,
                                               "expires_at": clock.iso(expires)})
            work.log(LedgerAction(actor.name, actor.role, "issue_otp", "application", application_id,
                                  purpose="verification", detail={"channel": channel}))
        return {"challenge_id": challenge_id, "channel": channel, "expires_at": clock.iso(expires)}

    def confirm_otp(self, application_id: str, channel: str, code: str, actor: Actor) -> dict[str, Any]:
        now = self.clock()
        with self.services.database.engine.begin() as conn:
            challenge = conn.execute(
                select(otp_challenge).where(otp_challenge.c.application_id == application_id,
                                            otp_challenge.c.channel == channel)
                .order_by(otp_challenge.c.created_at.desc()).limit(1)
            ).first()
            if challenge is None:
                raise EvidenceRefused(f"no {channel} code was issued for this application")
            result = otp.check_code(challenge_id=challenge.id, code_hash=challenge.code_hash, presented=code,
                                    expires_at=clock.utc(challenge.expires_at), attempts=challenge.attempts,
                                    max_attempts=challenge.max_attempts, verified_at=challenge.verified_at,
                                    now=now)
            if result.reason != "already_used":
                conn.execute(update(otp_challenge).where(otp_challenge.c.id == challenge.id).values(
                    attempts=otp_challenge.c.attempts + 1, verified_at=now if result.verified else None))
        if not result.verified:
            raise EvidenceRefused(f"{channel} code not accepted: {result.reason.replace('_', ' ')}")
        return self.add_evidence(application_id, f"{channel}_otp", "verified", actor, reference=challenge.id)

    # -- jobs ----------------------------------------------------------------------------------
    def enforce_deadlines(self, now: datetime, actor: Actor | None = None) -> int:
        """Cases pending past their deadline fail, then take the policy's failure action (A6)."""
        actor = actor or Actor("job:deadlines", "admin")
        with self.services.database.engine.connect() as conn:
            due = list(conn.execute(select(application.c.id).where(
                application.c.state == "pending_evidence", application.c.deadline <= now)).scalars())
        for application_id in due:
            with self.services.ledger.unit_of_work() as work:
                row, case = self._load(work.conn, application_id)
                moves = enforce_deadline(case, now, self.policy, actor=actor.name)
                self._save(work, row, case, moves, actor, now, "verification deadline")
        return len(due)

    def reverifications_due(self, now: datetime) -> list[str]:
        """Approved cases whose re-verification date has come (A7)."""
        with self.services.database.engine.connect() as conn:
            return list(conn.execute(select(application.c.id).where(
                application.c.state == "approved", application.c.reverify_due <= now)).scalars())

    def reverify_due_cases(self, now: datetime) -> int:
        """The periodic re-verification job (A7): each due case is succeeded by a new one that owes
        the policy's evidence again; the account is restricted while it is pending."""
        due = self.reverifications_due(now)
        for application_id in due:
            self.reopen(application_id, "periodic re-verification", Actor("job:reverification", "admin"),
                        carry_evidence=False)
        return len(due)

    def add_beneficial_owner(self, application_id: str, owner: BeneficialOwnerInput, actor: Actor) -> dict[str, Any]:
        """A7: the customer notifies a new beneficial owner; the case is re-evaluated with it."""
        now = self.clock()
        checked = check_record_owner(owner, now.date())
        status = determine_person_status(_person_facts(checked, _EMPTY_CHECK, None))
        screened = Screened()
        if self.screening is not None:
            name = " ".join(p for p in (owner.name.given, owner.name.middle, owner.name.family) if p)
            if len(name) > 300:
                raise IdentityFieldError.single("name", "longer than the 300 characters a name can be screened at")
            result = self.screening.screen_person(
                name, owner.birth_date.isoformat() if owner.birth_date else None, owner.nationality,
                schema="Person", document_numbers=[owner.national_id.number] if owner.national_id else [])
            screened.band = result.band
            screened.hits = [{"subject": "new beneficial owner", "list_source": h.party_source,
                              "list_source_id": h.party_id, "score": round(h.score, 3), "band": h.band}
                             for h in result.hits if h.band != "clear"]
            screened.measures = [m.as_json() for m in result.measures_applying]
        with self.services.ledger.unit_of_work() as work:  # the owner and the re-evaluation commit together
            row, _case = self._load(work.conn, application_id)
            _owner_id, position = self.services.customers.add_beneficial_owner(work, row.customer_id, owner, actor)
            subject = f"beneficial_owner:{position}"
            return self._reopen_in(work, application_id, f"beneficial owner added ({subject})", actor,
                                   carry_evidence=True, new_subject=(subject, status), screened=screened)

    def reopen(self, application_id: str, reason: str, actor: Actor, *, carry_evidence: bool,
               new_subject: tuple[str, PersonStatus] | None = None, screened: Screened | None = None
               ) -> dict[str, Any]:
        """Re-evaluate a case under the policy. An open case (pending or in review) takes the change
        in place; a settled one is succeeded by a new case on the same account (A7: the CIP applies to
        existing accounts)."""
        with self.services.ledger.unit_of_work() as work:
            return self._reopen_in(work, application_id, reason, actor, carry_evidence=carry_evidence,
                                   new_subject=new_subject, screened=screened)

    def _reopen_in(self, work: UnitOfWork, application_id: str, reason: str, actor: Actor, *,
                   carry_evidence: bool, new_subject: tuple[str, PersonStatus] | None = None,
                   screened: Screened | None = None) -> dict[str, Any]:
        """``reopen`` inside the caller's unit of work."""
        now = self.clock()
        conn = work.conn
        row, case = self._load(conn, application_id)
        answer: dict[str, Any] = json.loads(row.response_json)
        if new_subject is not None:
            subject, status = new_subject
            conn.execute(insert(person_determination), [{
                "application_id": row.id, "subject": subject, "status": status.status, "basis": status.basis,
                "evidence_json": json.dumps(status.evidence), "decided_at": now}])
            answer["person_status"].append({"subject": subject, "status": status.status, "basis": status.basis,
                                            "evidence": status.evidence})
            case.subjects[subject] = status.status
        if screened is not None and screened.band != "clear":
            answer["screening"]["hits"] += screened.hits
            answer["screening"]["band"] = screened.band
        bases = {p["subject"]: p["basis"] for p in answer["person_status"]}
        subjects = [SubjectFacts(s, "us_person" if st == "us_person" else "foreign_person",
                                 bases.get(s, "undetermined"),
                                 case.satisfied_methods(s) if carry_evidence else frozenset())
                    for s, st in case.subjects.items()]
        facts = ApplicationFacts(
            account_type=row.account_type, channel=row.channel,
            customer_kind="entity" if len(subjects) > 1 or any(
                s.subject.startswith("beneficial_owner") for s in subjects) else "individual",
            risk_tier=row.risk_tier,
            fields_present=frozenset(answer.get("fields_present", [])) or frozenset(_ALL_FIELDS),
            customer=next(s for s in subjects if s.subject == "customer"),
            beneficial_owners=tuple(s for s in subjects if s.subject != "customer"),
            screening_band=answer["screening"]["band"],
            measures=tuple(_measure_in_force(m) for m in answer["screening"]["measures"]
                           if m.get("status") == "in_force"),
            notice_version=row.notice_version,
        )
        decision = decide(facts, self.policy, now)
        if case.state in (CaseState.pending_evidence, CaseState.in_review):
            moves: list[CaseTransition] = []
            if decision.decision != case.state.value and case.can_transition(decision.decision):
                moves.append(case.transition(decision.decision, reason, actor.name, now))
            if decision.deadline is not None:
                conn.execute(update(application).where(application.c.id == row.id).values(
                    deadline=decision.deadline))
                case.deadline = decision.deadline
            conn.execute(update(application).where(application.c.id == row.id).values(
                response_json=json.dumps(answer)))
            row = conn.execute(select(application).where(application.c.id == row.id)).one()
            return self._save(work, row, case, moves, actor, now, reason)
        successor_id = str(uuid.uuid4())
        successor = open_case(successor_id, facts, decision, now, actor=actor.name)
        for record in case.evidence if carry_evidence else []:
            successor.record_evidence(record)
        answer.update({"id": successor_id, "decision": DECISION_OF_STATE[successor.state.value],
                       "state": successor.state.value, "restrictions": [r.label for r in decision.restrictions],
                       "deadline": clock.iso(successor.deadline) if successor.state is CaseState.pending_evidence
                       else None,
                       "evidence_required": list(decision.evidence_required),
                       "reasons": [reason, *decision.reasons],
                       "predecessor": row.id, "replayed": False})
        conn.execute(insert(application), dict(
            id=successor_id, customer_id=row.customer_id, account_id=row.account_id, idempotency_key=None,
            request_hash=row.request_hash, account_type=row.account_type, channel=row.channel,
            risk_tier=row.risk_tier, state=successor.state.value, decision=answer["decision"],
            policy_rule=successor.policy_rule or "none", failure_action=successor.failure_action,
            notice_version=row.notice_version, deadline=successor.deadline, reverify_due=decision.reverify_due,
            resolution=None, signup_ip_sealed=None, response_json=json.dumps(answer), created_at=now,
            updated_at=now))
        conn.execute(insert(person_determination), [
            {"application_id": successor_id, "subject": p["subject"], "status": p["status"], "basis": p["basis"],
             "evidence_json": json.dumps(p["evidence"]), "decided_at": now} for p in answer["person_status"]])
        if carry_evidence and case.evidence:
            conn.execute(update(evidence).where(evidence.c.application_id == row.id).values(
                application_id=successor_id))
        self._store_transitions(conn, successor_id, successor.history)
        conn.execute(update(application).where(application.c.id == row.id).values(
            reverify_due=None, updated_at=now))
        conn.execute(update(account).where(account.c.id == row.account_id).values(
            state=ACCOUNT_STATE[successor.state.value]))
        enqueue(conn, "application.decision", {"application_id": successor_id, "account_id": row.account_id,
                                               "decision": answer["decision"], "state": successor.state.value})
        work.log(LedgerAction(actor.name, actor.role, "create", "application", successor_id, purpose=reason,
                              detail={"predecessor": row.id}))
        answer["customer_id"] = row.customer_id
        answer["account_id"] = row.account_id
        return answer


_ALL_FIELDS = ("name", "address", "national_id", "birth_date", "payment_means", "email", "phone", "registration",
               "beneficial_owners", "source_of_funds", "nationality")
_EMPTY_CHECK = CheckedRecord(persons=[], phone_country=None, email_flags=[], card_countries=[], iban_countries=[],
                             payment_types=[], flags=[])


def _measure_in_force(measure: dict[str, Any]) -> MeasureInForce:
    restrictions = tuple(Restriction(name=str(name)) for name in measure.get("conditions") or [])
    return MeasureInForce(measure_id=str(measure["id"]), effect=measure["measure"], restrictions=restrictions)


def _risk_tier(checked: CheckedRecord, band: str, request: ApplicationInput) -> str:
    """A first risk tier from what the application shows (G2 refines it)."""
    if band in ("block", "review") or "disposable_domain" in checked.email_flags:
        return "high"
    if request.account.type == "trial" and "crypto_wallet" in checked.payment_types:
        return "high"
    return "standard"


def _present_fields(request: ApplicationInput) -> set[str]:
    present = {name for name, value in request.model_dump().items() if value not in (None, [], {}, "")}
    if isinstance(request, IndividualCustomer) and (request.national_id or request.documents):
        present.add("national_id")
    if any(isinstance(m, Card) for m in request.payment_means):
        present.add("payment_means")
    present.add("name")
    return present


def build_application_service(services: Services) -> ApplicationService:
    """The application service of a process: the policy in force, screening against in-force lists."""
    policy = load_policy(services.settings.policy_path) if services.settings.policy_path else default_policy()
    return ApplicationService(services=services, policy=policy, screening=ScreeningService(services))
