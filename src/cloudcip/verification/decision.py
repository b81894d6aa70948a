"""The signup decision and the moves of a verification case, as pure functions of the facts, the
CIP policy and an injected clock (A1, A4, A5, A6, A7, A8).

:func:`decide` takes what the other capabilities found about an application (:class:`ApplicationFacts`:
account type, channel, customer kind, risk tier, which fields are present, the U.S./foreign status of
the customer and each beneficial owner with its basis, the evidence already verified, the screening
band, the special measures in force, validation problems, the notice the customer saw) and answers
with a :class:`Decision`: ``approved``, ``pending_evidence`` (open with the rule's restrictions until
the deadline), ``in_review`` or ``refused``, with the restrictions, the deadline, the evidence still
owed per person, machine-friendly reasons, the rule applied and the notice version (A8).

Foreign customers and foreign beneficial owners owe the verification of the rule (A4, A5: the
vendor's check is the method ``vendor_idv``); a U.S. person owes only the rule's baseline checks.
:func:`apply_evidence` and :func:`enforce_deadline` move a case along its state machine (A6) and
record how a doubtful case was resolved; the re-verification date follows the rule's interval (A7).

An exemption in force (F1, ``verification.signup_exemptions``) skips exactly the steps it names: the
customer's verification, the beneficial owners' verification, the periodic re-verification. The
decision says so (``exemption_applied:<id>`` among the reasons, ``exemption_applied`` and
``exempted_steps`` on the answer); screening and special measures run as always, and the enhanced
verification a special measure asks for is still owed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from cloudcip import clock
from cloudcip.domain.verification_case import (
    FAILURE_ACTION_STATES,
    CaseState,
    CaseTransition,
    EvidenceRecord,
    VerificationCase,
)
from cloudcip.verification.policy import (
    CipPolicy,
    NoPolicyRule,
    PolicyRule,
    Requirement,
    Restriction,
    merge_restrictions,
)
from cloudcip.verification.policy_terms import METHODS
from cloudcip.verification.signup_exemptions import (
    BENEFICIAL_OWNER_VERIFICATION,
    IDENTITY_VERIFICATION,
    PERIODIC_REVERIFICATION,
    ExemptionInForce,
    step_map,
)

DecisionKind = Literal["approved", "pending_evidence", "in_review", "refused"]
PersonStatus = Literal["us_person", "foreign_person"]
ScreeningBand = Literal["clear", "review", "block"]
EvidenceOutcome = Literal["verified", "failed", "inconclusive", "mismatch"]

CUSTOMER = "customer"
#: enhanced verification (D2: weak or conflicting location evidence): one of these documentary checks
ENHANCED_METHODS: tuple[str, ...] = ("passport", "national_id_card", "vendor_idv")
_OUTCOME_RANK = {"proceed": 0, "in_review": 1, "refused": 2}


@dataclass(frozen=True)
class SubjectFacts:
    """The customer or one beneficial owner (``subject`` is ``customer`` or ``beneficial_owner:<id>``):
    U.S./foreign status with its basis (A2), and the methods that already verified for it."""

    subject: str
    status: PersonStatus
    basis: str
    evidence_satisfied: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MeasureInForce:
    """A special measure in force that reaches this application (``outcome`` ``applies``: a
    prohibition, or conditions), or whose reach a person must settle (``review``: weak or conflicting
    location evidence, D2); ``reason`` names the measure, the evidence and the determination (D1)."""

    measure_id: str
    effect: Literal["prohibit", "conditions"]
    restrictions: tuple[Restriction, ...] = ()
    outcome: Literal["applies", "review"] = "applies"
    reason: str = ""


@dataclass(frozen=True)
class ApplicationFacts:
    """What the other capabilities found about one application; no personal data beyond statuses."""

    account_type: str
    channel: str
    customer_kind: Literal["individual", "entity"]
    risk_tier: str
    fields_present: frozenset[str]
    customer: SubjectFacts
    beneficial_owners: tuple[SubjectFacts, ...] = ()
    screening_band: ScreeningBand = "clear"
    measures: tuple[MeasureInForce, ...] = ()
    validation_problems: tuple[str, ...] = ()
    notice_version: str | None = None  # the version the customer saw (A8)
    notes: tuple[str, ...] = ()  # reasons that explain without deciding (measures not applied, risk factors)
    #: G1: the reasons of strong links to flagged accounts (ban evasion), each naming the link, masked;
    #: the policy's ``ban_evasion_link`` trigger decides what they do (review by default, never a refusal)
    links: tuple[str, ...] = ()
    exemptions: tuple[ExemptionInForce, ...] = ()  # F1: the exemptions in force for this application

    @property
    def subjects(self) -> tuple[SubjectFacts, ...]:
        return (self.customer, *self.beneficial_owners)


@dataclass(frozen=True)
class EvidenceOwed:
    """``count`` more of ``methods`` still owed by ``subject``."""

    subject: str
    count: int
    methods: tuple[str, ...]

    @property
    def label(self) -> str:
        """``customer:email_otp`` for one exact method, else ``customer:2_of:email_otp|phone_otp|...``."""
        if len(self.methods) == 1:
            return f"{self.subject}:{self.methods[0]}"
        return f"{self.subject}:{self.count}_of:{'|'.join(self.methods)}"


@dataclass(frozen=True)
class Decision:
    """The answer to an application."""

    decision: DecisionKind
    restrictions: list[Restriction]
    deadline: datetime | None
    evidence_required: list[str]
    reasons: list[str]
    policy_rule: str
    notice_version: str
    failure_action: str | None = None
    reverify_due: datetime | None = None
    evidence_owed: list[EvidenceOwed] = field(default_factory=list)
    exempted_steps: dict[str, str] = field(default_factory=dict)  # F1: {step: exemption id}

    @property
    def exemption_applied(self) -> str | None:
        """The id of the exemption applied (the first by id when several exempt different steps)."""
        return min(self.exempted_steps.values()) if self.exempted_steps else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (times as ISO-8601, restrictions as ``{name: value or true}``)."""
        return {
            "decision": self.decision,
            "restrictions": {item.name: True if item.value is None else item.value for item in self.restrictions},
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "evidence_required": list(self.evidence_required),
            "reasons": list(self.reasons),
            "policy_rule": self.policy_rule,
            "notice_version": self.notice_version,
            "failure_action": self.failure_action,
            "reverify_due": self.reverify_due.isoformat() if self.reverify_due else None,
            "exemption_applied": self.exemption_applied,
            "exempted_steps": dict(self.exempted_steps),
        }


def requirement_for(rule: PolicyRule, subject: str, status: str) -> Requirement | list[str] | None:
    """What ``subject`` owes under ``rule``: the foreign-person requirement, the U.S.-person baseline
    (a list of methods, all owed), or ``None`` (a U.S. beneficial owner owes nothing)."""
    verification = rule.verification
    if subject == CUSTOMER:
        return list(verification.us_person_baseline) if status == "us_person" else verification
    if status == "us_person":
        return None
    return verification.beneficial_owners


def step_of(subject: str) -> str:
    """The exemptable step that verifying ``subject`` is (F1)."""
    return IDENTITY_VERIFICATION if subject == CUSTOMER else BENEFICIAL_OWNER_VERIFICATION


def owed_by(rule: PolicyRule, subject: str, status: str, satisfied: Iterable[str]) -> list[EvidenceOwed]:
    """The evidence ``subject`` still owes under ``rule`` given the methods that verified."""
    requirement = requirement_for(rule, subject, status)
    done = set(satisfied)
    if requirement is None:
        return []
    if isinstance(requirement, list):
        return [EvidenceOwed(subject, 1, (method,)) for method in requirement if method not in done]
    return [EvidenceOwed(subject, count, methods) for count, methods in requirement.owed(done)]


def decide(application: ApplicationFacts, policy: CipPolicy, now: datetime) -> Decision:
    """The decision on ``application`` under ``policy`` at ``now`` (pure: same inputs, same answer)."""
    clock.require_aware(now, "now")
    triggers = policy.review_triggers
    try:
        rule = policy.rule_for(application.account_type, application.channel, application.risk_tier,
                               application.customer_kind)
    except NoPolicyRule:
        return Decision("in_review", [], None, [], ["no_policy_rule: no rule of the CIP covers this application"],
                        "none", application.notice_version or policy.notice_version)

    outcome = "proceed"
    reasons: list[str] = []

    def escalate(to: str, reason: str) -> None:
        nonlocal outcome
        reasons.append(reason)
        if _OUTCOME_RANK[to] > _OUTCOME_RANK[outcome]:
            outcome = to

    # Special measures (D1 via A6): a prohibition refuses; conditions add restrictions; a measure whose
    # reach the location evidence leaves open goes to a person, with enhanced verification (D2).
    conditions: list[Restriction] = []
    enhanced = False
    for measure in application.measures:
        detail = f" ({measure.reason})" if measure.reason else ""
        if measure.outcome == "review":
            enhanced = True
            escalate("in_review", f"measure_review:{measure.measure_id}: whether the special measure reaches this "
                     f"person needs review with enhanced verification{detail}")
        elif measure.effect == "prohibit":
            escalate("refused", f"measure_prohibits:{measure.measure_id}: a special measure prohibits this "
                     f"account{detail}")
        else:
            conditions.extend(measure.restrictions)
            escalate(triggers.measure_conditions,
                     f"measure_conditions:{measure.measure_id}: a special measure sets conditions on this "
                     f"account{detail}")
    if enhanced:
        conditions.append(Restriction(name="enhanced_monitoring"))

    if application.screening_band == "block":
        escalate(triggers.screening_block, "screening_block: a designated-person match blocks this application")
    elif application.screening_band == "review":
        escalate(triggers.screening_review, "screening_review: a possible designated-person match awaits review")

    for link in application.links:
        escalate(triggers.ban_evasion_link, link)

    if application.validation_problems:
        escalate(triggers.validation_problems, f"validation_problems: {len(application.validation_problems)} "
                 f"field check(s) failed: {', '.join(sorted(set(application.validation_problems)))}")

    present = set(application.fields_present)
    if application.customer_kind == "entity" and "registration" in present:
        present.add("national_id")  # an entity's identification number is its registration number
    for missing in (name for name in rule.required_fields if name not in present):
        escalate(triggers.missing_fields, f"missing_field:{missing}: the policy requires it")

    if application.risk_tier == "high":
        escalate(triggers.risk_tier_high, "risk_tier_high: the risk tier is high")

    exempted = step_map(application.exemptions)
    for exemption in application.exemptions:
        reasons.append(f"exemption_applied:{exemption.exemption_id}: the exemption skips "
                       f"{', '.join(sorted(exemption.steps))}; screening and special measures still apply")
    owed: list[EvidenceOwed] = []
    for subject in application.subjects:
        subject_owed = [] if step_of(subject.subject) in exempted else \
            owed_by(rule, subject.subject, subject.status, subject.evidence_satisfied)
        if enhanced and subject.subject == CUSTOMER and not any(
                set(item.methods) & set(ENHANCED_METHODS) for item in subject_owed) and not (
                set(subject.evidence_satisfied) & set(ENHANCED_METHODS)):
            subject_owed.append(EvidenceOwed(subject.subject, 1, ENHANCED_METHODS))
        owed.extend(subject_owed)
        if subject.status == "us_person":
            reasons.append(f"us_person:{subject.subject}: U.S. person ({subject.basis}); foreign-person "
                           "verification not required")
        if subject_owed:
            reasons.append(f"evidence_owed:{subject.subject}: " + ", ".join(item.label for item in subject_owed))

    notice_version = application.notice_version or policy.notice_version_for(rule)
    if application.notice_version is None:
        reasons.append(f"notice_not_recorded: the customer must be shown notice {notice_version} before opening")
    elif application.notice_version != policy.notice_version_for(rule):
        reasons.append(f"notice_version_differs: the customer saw {application.notice_version}, the policy's "
                       f"is {policy.notice_version_for(rule)}")

    reasons.extend(application.notes)
    pending_restrictions = merge_restrictions(rule.pending.restrictions, conditions) if owed else \
        merge_restrictions(conditions)
    deadline: datetime | None = None
    reverify_due: datetime | None = None
    kind: DecisionKind
    if outcome == "refused":
        kind = "refused"
        restrictions: list[Restriction] = []
    elif outcome == "in_review":
        kind = "in_review"
        restrictions = pending_restrictions
    elif owed:
        kind = "pending_evidence"
        restrictions = pending_restrictions
        deadline = now + rule.pending.deadline
        reasons.append(f"pending_evidence: open with restrictions until {deadline.isoformat()}")
    else:
        kind = "approved"
        restrictions = merge_restrictions(conditions)
        reverify_due = None if PERIODIC_REVERIFICATION in exempted else \
            now + timedelta(days=rule.reverification_interval_days)
        reasons.append("verified: every check the policy asks for has passed" if not exempted else
                       "verified: every check the policy asks for and the exemption leaves has passed")
    return Decision(
        decision=kind,
        restrictions=restrictions,
        deadline=deadline,
        evidence_required=[item.label for item in owed] if kind != "refused" else [],
        reasons=reasons,
        policy_rule=rule.id,
        notice_version=notice_version,
        failure_action=rule.failure_action,
        reverify_due=reverify_due,
        evidence_owed=owed if kind != "refused" else [],
        exempted_steps=exempted,
    )


# --------------------------------------------------------------------------------------------------
# The case.


def open_case(case_id: str, application: ApplicationFacts, decision: Decision, now: datetime,
              actor: str = "system:decision") -> VerificationCase:
    """A new case for ``application``, its known evidence recorded and moved from ``submitted`` to
    the decision's state (the transition is in ``history`` for the caller to store)."""
    clock.require_aware(now, "now")
    case = VerificationCase(
        case_id=case_id,
        opened_at=now,
        policy_rule=decision.policy_rule if decision.policy_rule != "none" else None,
        failure_action=decision.failure_action,
        deadline=decision.deadline,
        subjects={subject.subject: subject.status for subject in application.subjects},
        exempt_steps=frozenset(step_map(application.exemptions)),
    )
    for subject in application.subjects:
        for method in sorted(subject.evidence_satisfied):
            case.record_evidence(EvidenceRecord(subject.subject, method, "verified", now))
    summary = "; ".join(reason.split(": ", 1)[0] for reason in decision.reasons) or decision.decision
    case.transition(decision.decision, summary, actor, now)
    return case


def case_owed(case: VerificationCase, policy: CipPolicy) -> list[EvidenceOwed]:
    """The evidence the case still owes under its rule."""
    if case.policy_rule is None:
        return []
    rule = policy.rule_by_id(case.policy_rule)
    owed: list[EvidenceOwed] = []
    for subject, status in case.subjects.items():
        if step_of(subject) not in case.exempt_steps:
            owed.extend(owed_by(rule, subject, status, case.satisfied_methods(subject)))
    return owed


def apply_evidence(case: VerificationCase, evidence_method: str, outcome: EvidenceOutcome, policy: CipPolicy,
                   now: datetime, *, subject: str = CUSTOMER, actor: str = "system:evidence",
                   reference: str | None = None, why: str | None = None) -> list[CaseTransition]:
    """Record evidence for ``subject`` and make the transitions it causes; returns them (to store).

    A pending case whose last owed method verifies is approved (and its resolution recorded). A failed
    method follows the policy's ``evidence_failed`` trigger: to review, or refusal (pending cases go
    through ``failed`` to the rule's failure action). A document that disagrees with the application
    (``mismatch``, ``why`` names the fields) sends a pending case to review. Inconclusive results and
    evidence arriving for a settled case are kept and move nothing; a case in review waits for its
    analyst.
    """
    clock.require_aware(now, "now")
    if evidence_method not in METHODS:
        raise ValueError(f"unknown method {evidence_method!r}")
    if subject not in case.subjects:
        raise ValueError(f"the case has no subject {subject!r}")
    case.record_evidence(EvidenceRecord(subject, evidence_method, outcome, now, reference))
    if case.is_settled or case.state is CaseState.failed or outcome == "inconclusive":
        return []
    made: list[CaseTransition] = []
    if outcome == "mismatch":
        if case.state in (CaseState.pending_evidence, CaseState.submitted):
            made.append(case.transition(CaseState.in_review, f"evidence_mismatch:{subject}:{evidence_method}: "
                                        f"{(why or 'fields disagree').split(': ', 1)[-1]}", actor, now))
        return made
    if outcome == "verified":
        if case.state in (CaseState.pending_evidence, CaseState.submitted) and not case_owed(case, policy):
            made.append(case.transition(CaseState.approved, f"verified: {evidence_method} completed the evidence "
                                        "the policy asks for", actor, now))
            case.resolve(f"verified by evidence ({', '.join(sorted(case.satisfied_methods(CUSTOMER)))})",
                         actor, now)
        return made
    trigger = policy.review_triggers.evidence_failed
    reason = f"evidence_failed:{subject}:{evidence_method}" + (f" ({why})" if why else "")
    if trigger == "in_review" and case.state is not CaseState.in_review:
        made.append(case.transition(CaseState.in_review, reason, actor, now))
    elif trigger == "refused":
        if case.state is CaseState.pending_evidence:
            made.append(case.transition(CaseState.failed, reason, actor, now))
            made.append(_failure_action(case, policy, actor, now))
        else:
            made.append(case.transition(CaseState.refused, reason, actor, now))
            case.resolve(f"refused after {evidence_method} failed", actor, now)
    return made


def _failure_action(case: VerificationCase, policy: CipPolicy, actor: str, now: datetime) -> CaseTransition:
    action = case.failure_action
    if action is None and case.policy_rule is not None:
        action = policy.rule_by_id(case.policy_rule).failure_action
    target = FAILURE_ACTION_STATES[action or "refuse"]
    move = case.transition(target, f"failure_action:{action or 'refuse'}", actor, now)
    owed = ", ".join(item.label for item in case_owed(case, policy)) or "nothing"
    case.resolve(f"unverified ({move.from_state}); policy failure action {action or 'refuse'}; still owed: {owed}",
                 actor, now)
    return move


def enforce_deadline(case: VerificationCase, now: datetime, policy: CipPolicy,
                     actor: str = "system:deadline") -> list[CaseTransition]:
    """A pending case past its deadline fails and takes the policy's failure action; returns the
    transitions made (none when the deadline has not passed or the case is not pending)."""
    clock.require_aware(now, "now")
    if case.state is not CaseState.pending_evidence or case.deadline is None or now < case.deadline:
        return []
    failed = case.transition(CaseState.failed, f"deadline_passed: evidence not complete by "
                             f"{case.deadline.isoformat()}", actor, now)
    return [failed, _failure_action(case, policy, actor, now)]


def reverification_due(case: VerificationCase, policy: CipPolicy) -> datetime | None:
    """A7: when an approved case is due for re-verification (its approval plus the rule's interval)."""
    if case.state is not CaseState.approved or case.policy_rule is None or \
            PERIODIC_REVERIFICATION in case.exempt_steps:
        return None
    approved_at = next(move.at for move in reversed(case.history) if move.to_state is CaseState.approved)
    return approved_at + timedelta(days=policy.rule_by_id(case.policy_rule).reverification_interval_days)


__all__ = [
    "ApplicationFacts",
    "Decision",
    "EvidenceOwed",
    "MeasureInForce",
    "SubjectFacts",
    "apply_evidence",
    "case_owed",
    "decide",
    "enforce_deadline",
    "open_case",
    "owed_by",
    "requirement_for",
    "reverification_due",
]
