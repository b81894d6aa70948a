"""The signup decision table and evidence moves (A2, A4, A5, A6, A7, A8), pure with an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudcip.domain.verification_case import CaseState, VerificationCase
from cloudcip.verification.decision import (
    ApplicationFacts,
    MeasureInForce,
    SubjectFacts,
    apply_evidence,
    case_owed,
    decide,
    open_case,
)
from cloudcip.verification.policy import Restriction, default_policy, policy_from_mapping
from cloudcip.verification.policy_terms import ACCOUNT_TYPES, CHANNELS, FIELDS, METHODS, RISK_TIERS

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
POLICY = default_policy()
INDIVIDUAL_FIELDS = frozenset({"name", "address", "national_id", "birth_date", "payment_means", "email", "phone"})
ENTITY_FIELDS = frozenset({"name", "address", "registration", "payment_means", "email", "phone", "beneficial_owners"})



def state_of(case: VerificationCase) -> CaseState:
    """The case's state, read afresh (the case moves under the test's feet)."""
    return case.state

def foreign(subject: str = "customer", *evidence: str) -> SubjectFacts:
    return SubjectFacts(subject, "foreign_person", "foreign", frozenset(evidence))


def us(subject: str = "customer", *evidence: str, basis: str = "us_citizen") -> SubjectFacts:
    return SubjectFacts(subject, "us_person", basis, frozenset(evidence))


def individual(**changes: object) -> ApplicationFacts:
    facts = ApplicationFacts(account_type="standard", channel="self_serve", customer_kind="individual",
                             risk_tier="standard", fields_present=INDIVIDUAL_FIELDS, customer=foreign(),
                             notice_version="notice-2024-01")
    return replace(facts, **changes)  # type: ignore[arg-type]


def entity(**changes: object) -> ApplicationFacts:
    facts = ApplicationFacts(account_type="standard", channel="sales_assisted", customer_kind="entity",
                             risk_tier="low", fields_present=ENTITY_FIELDS, customer=foreign(),
                             beneficial_owners=(foreign("beneficial_owner:bo1"), us("beneficial_owner:bo2")),
                             notice_version="notice-2024-01")
    return replace(facts, **changes)  # type: ignore[arg-type]


def codes(reasons: list[str]) -> list[str]:
    return [reason.split(": ", 1)[0] for reason in reasons]


def test_foreign_individual_self_serve_is_pending_with_restrictions_and_deadline() -> None:
    decision = decide(individual(), POLICY, NOW)
    assert decision.decision == "pending_evidence"
    assert decision.policy_rule == "standard-individual"
    assert decision.deadline == NOW + timedelta(days=14)
    labels = {item.label for item in decision.restrictions}
    assert {"no_gpu", "no_outbound_smtp", "max_instances=2", "spend_limit_usd=50", "enhanced_monitoring"} <= labels
    assert decision.evidence_required == [
        "customer:1_of:passport|national_id_card|vendor_idv",
        "customer:2_of:vendor_idv|email_otp|phone_otp|payment_check",
    ]
    assert "evidence_owed:customer" in codes(decision.reasons)
    assert decision.notice_version == "notice-2024-01"
    assert decision.failure_action == "close" and decision.reverify_due is None


def test_evidence_already_satisfied_is_approved_without_restrictions() -> None:
    decision = decide(individual(customer=foreign("customer", "passport", "email_otp", "phone_otp")), POLICY, NOW)
    assert decision.decision == "approved"
    assert decision.restrictions == [] and decision.deadline is None and decision.evidence_required == []
    assert decision.reverify_due == NOW + timedelta(days=365)
    assert "verified" in codes(decision.reasons)


@pytest.mark.requirement("A4", "A5")
def test_evidence_partly_satisfied_owes_the_rest() -> None:
    decision = decide(individual(customer=foreign("customer", "email_otp", "vendor_idv")), POLICY, NOW)
    # the vendor's check fills the documentary place; it is not also a second non-documentary check (A4)
    assert decision.decision == "pending_evidence"
    assert decision.evidence_required == ["customer:1_of:phone_otp|payment_check"]
    decision = decide(individual(customer=foreign("customer", "vendor_idv", "payment_check")), POLICY, NOW)
    assert decision.decision == "pending_evidence"
    decision = decide(individual(customer=foreign("customer", "passport", "vendor_idv", "payment_check")), POLICY, NOW)
    assert decision.decision == "approved"  # with a passport for the document, the vendor counts as non-documentary
    decision = decide(individual(customer=foreign("customer", "email_otp")), POLICY, NOW)
    assert decision.evidence_required == ["customer:1_of:passport|national_id_card|vendor_idv",
                                          "customer:1_of:vendor_idv|phone_otp|payment_check"]


def test_methods_the_rule_does_not_accept_do_not_count() -> None:
    decision = decide(individual(customer=foreign("customer", "registration_document", "email_otp", "phone_otp")),
                      POLICY, NOW)
    assert decision.decision == "pending_evidence"
    assert decision.evidence_required == ["customer:1_of:passport|national_id_card|vendor_idv"]


def test_us_person_owes_only_the_baseline() -> None:
    decision = decide(individual(customer=us()), POLICY, NOW)
    assert decision.decision == "pending_evidence"
    assert decision.evidence_required == ["customer:email_otp"]
    assert "us_person:customer" in codes(decision.reasons)
    approved = decide(individual(customer=us("customer", "email_otp", basis="located_in_us")), POLICY, NOW)
    assert approved.decision == "approved"
    assert any("located_in_us" in reason for reason in approved.reasons)


def test_us_person_with_no_baseline_is_approved_at_once() -> None:
    data = POLICY.model_dump(mode="json")
    for rule in data["rules"]:
        rule["verification"]["us_person_baseline"] = []
    relaxed = policy_from_mapping(data)
    assert decide(individual(customer=us()), relaxed, NOW).decision == "approved"


def test_entity_owes_per_beneficial_owner() -> None:
    decision = decide(entity(), POLICY, NOW)
    assert decision.decision == "pending_evidence"
    assert decision.policy_rule == "standard-entity"
    assert decision.evidence_required == [
        "customer:registration_document",
        "customer:1_of:email_otp|phone_otp|payment_check",
        "beneficial_owner:bo1:1_of:passport|national_id_card|vendor_idv",
    ]
    assert not any(item.startswith("beneficial_owner:bo2") for item in decision.evidence_required)
    done = entity(customer=foreign("customer", "registration_document", "email_otp"),
                  beneficial_owners=(foreign("beneficial_owner:bo1", "passport"), us("beneficial_owner:bo2")))
    assert decide(done, POLICY, NOW).decision == "approved"


def test_entity_registration_stands_for_national_id() -> None:
    decision = decide(replace(entity(), risk_tier="high"), POLICY, NOW)
    assert decision.policy_rule == "high-risk"
    assert codes(decision.reasons).count("missing_field:national_id") == 0
    assert "missing_field:source_of_funds" in codes(decision.reasons)  # high-risk asks for it
    decision = decide(replace(entity(), risk_tier="high", fields_present=ENTITY_FIELDS | {"source_of_funds"}),
                      POLICY, NOW)
    assert not any(code.startswith("missing_field") for code in codes(decision.reasons))


def test_screening_block_is_refused() -> None:
    decision = decide(individual(screening_band="block"), POLICY, NOW)
    assert decision.decision == "refused"
    assert "screening_block" in codes(decision.reasons)
    assert decision.restrictions == [] and decision.evidence_required == [] and decision.deadline is None


def test_screening_review_goes_to_review() -> None:
    decision = decide(individual(screening_band="review"), POLICY, NOW)
    assert decision.decision == "in_review"
    assert "screening_review" in codes(decision.reasons)


def test_prohibit_measure_is_refused() -> None:
    decision = decide(individual(customer=foreign("customer", "passport", "email_otp", "phone_otp"),
                                 measures=(MeasureInForce("m-2026-01", "prohibit"),)), POLICY, NOW)
    assert decision.decision == "refused"
    assert "measure_prohibits:m-2026-01" in codes(decision.reasons)


def test_conditions_measure_adds_restrictions_and_review() -> None:
    measure = MeasureInForce("m-2026-02", "conditions",
                             (Restriction(name="max_instances", value=1), Restriction(name="no_bare_metal")))
    decision = decide(individual(measures=(measure,)), POLICY, NOW)
    assert decision.decision == "in_review"
    labels = [item.label for item in decision.restrictions]
    assert "max_instances=1" in labels and "max_instances=2" not in labels and "no_bare_metal" in labels
    data = POLICY.model_dump(mode="json")
    data["review_triggers"]["measure_conditions"] = "proceed"
    proceeding = policy_from_mapping(data)
    verified = individual(customer=foreign("customer", "passport", "email_otp", "phone_otp"), measures=(measure,))
    approved = decide(verified, proceeding, NOW)
    assert approved.decision == "approved"
    assert [item.label for item in approved.restrictions] == ["max_instances=1", "no_bare_metal"]


def test_high_risk_goes_to_review() -> None:
    decision = decide(individual(risk_tier="high"), POLICY, NOW)
    assert decision.decision == "in_review"
    assert decision.policy_rule == "high-risk"
    assert "risk_tier_high" in codes(decision.reasons)
    assert decision.deadline is None


def test_validation_problems_and_missing_fields_go_to_review() -> None:
    decision = decide(individual(validation_problems=("national_id.number",)), POLICY, NOW)
    assert decision.decision == "in_review" and "validation_problems" in codes(decision.reasons)
    decision = decide(individual(fields_present=INDIVIDUAL_FIELDS - {"phone"}), POLICY, NOW)
    assert decision.decision == "in_review" and "missing_field:phone" in codes(decision.reasons)


def test_notice_version_recorded_or_flagged() -> None:
    assert "notice_not_recorded" in codes(decide(individual(notice_version=None), POLICY, NOW).reasons)
    decision = decide(individual(notice_version="notice-2024-06"), POLICY, NOW)
    assert decision.notice_version == "notice-2024-06"
    assert "notice_version_differs" in codes(decision.reasons)


def test_decide_is_pure_and_needs_an_aware_clock() -> None:
    facts = individual()
    assert decide(facts, POLICY, NOW) == decide(facts, POLICY, NOW)
    with pytest.raises(ValueError):
        decide(facts, POLICY, datetime(2026, 5, 4, 12, 0))


def test_as_dict_is_json_ready() -> None:
    body = decide(individual(), POLICY, NOW).as_dict()
    assert body["decision"] == "pending_evidence"
    assert body["restrictions"]["max_instances"] == 2 and body["restrictions"]["no_gpu"] is True
    assert body["deadline"] == (NOW + timedelta(days=14)).isoformat()


def test_evidence_moves_a_pending_case_to_approved() -> None:
    facts = individual()
    case = open_case("app-1", facts, decide(facts, POLICY, NOW), NOW)
    assert case.state is CaseState.pending_evidence and len(case.history) == 1
    assert apply_evidence(case, "email_otp", "verified", POLICY, NOW + timedelta(minutes=1)) == []
    assert apply_evidence(case, "phone_otp", "inconclusive", POLICY, NOW + timedelta(minutes=2)) == []
    assert apply_evidence(case, "phone_otp", "verified", POLICY, NOW + timedelta(minutes=3)) == []
    assert [item.label for item in case_owed(case, POLICY)] == ["customer:1_of:passport|national_id_card|vendor_idv"]
    moves = apply_evidence(case, "vendor_idv", "verified", POLICY, NOW + timedelta(hours=1), reference="veriff-123")
    assert [(m.from_state, m.to_state) for m in moves] == [(CaseState.pending_evidence, CaseState.approved)]
    assert state_of(case) is CaseState.approved
    assert case.resolution is not None and "vendor_idv" in case.resolution.how
    assert case.evidence[-1].reference == "veriff-123"
    # Evidence after settlement is kept but moves nothing.
    assert apply_evidence(case, "passport", "failed", POLICY, NOW + timedelta(hours=2)) == []
    assert len(case.evidence) == 5


def test_failed_evidence_sends_to_review_or_refuses_per_policy() -> None:
    facts = individual()
    case = open_case("app-2", facts, decide(facts, POLICY, NOW), NOW)
    moves = apply_evidence(case, "passport", "failed", POLICY, NOW + timedelta(minutes=5))
    assert [(m.to_state, m.reason) for m in moves] == [(CaseState.in_review, "evidence_failed:customer:passport")]

    data = POLICY.model_dump(mode="json")
    data["review_triggers"]["evidence_failed"] = "refused"
    strict = policy_from_mapping(data)
    case = open_case("app-3", facts, decide(facts, strict, NOW), NOW)
    moves = apply_evidence(case, "passport", "failed", strict, NOW + timedelta(minutes=5))
    assert [m.to_state for m in moves] == [CaseState.failed, CaseState.closed]
    assert case.resolution is not None


def test_evidence_for_a_beneficial_owner() -> None:
    facts = entity(customer=foreign("customer", "registration_document", "email_otp"))
    case = open_case("app-4", facts, decide(facts, POLICY, NOW), NOW)
    assert case.state is CaseState.pending_evidence
    with pytest.raises(ValueError, match="no subject"):
        apply_evidence(case, "passport", "verified", POLICY, NOW, subject="beneficial_owner:nobody")
    with pytest.raises(ValueError, match="unknown method"):
        apply_evidence(case, "fax", "verified", POLICY, NOW)
    moves = apply_evidence(case, "passport", "verified", POLICY, NOW + timedelta(days=1),
                           subject="beneficial_owner:bo1")
    assert [m.to_state for m in moves] == [CaseState.approved]


# --------------------------------------------------------------------------------------------------
# Properties over the whole decision space (hypothesis).

_subjects = st.builds(
    SubjectFacts,
    subject=st.just("customer"),
    status=st.sampled_from(["us_person", "foreign_person"]),
    basis=st.sampled_from(["us_citizen", "foreign", "undetermined"]),
    evidence_satisfied=st.frozensets(st.sampled_from(METHODS)),
)
_owners = st.lists(
    st.builds(SubjectFacts, subject=st.sampled_from([f"beneficial_owner:{n}" for n in range(4)]),
              status=st.sampled_from(["us_person", "foreign_person"]), basis=st.just("foreign"),
              evidence_satisfied=st.frozensets(st.sampled_from(METHODS))),
    max_size=3, unique_by=lambda owner: owner.subject,
).map(tuple)
_facts = st.builds(
    ApplicationFacts,
    account_type=st.sampled_from(ACCOUNT_TYPES),
    channel=st.sampled_from(CHANNELS),
    customer_kind=st.sampled_from(["individual", "entity"]),
    risk_tier=st.sampled_from(RISK_TIERS),
    fields_present=st.frozensets(st.sampled_from(FIELDS)),
    customer=_subjects,
    beneficial_owners=_owners,
    screening_band=st.sampled_from(["clear", "review", "block"]),
    measures=st.lists(st.builds(MeasureInForce, measure_id=st.just("m-1"),
                                effect=st.sampled_from(["prohibit", "conditions"]),
                                restrictions=st.just((Restriction(name="no_gpu"),))), max_size=2).map(tuple),
    validation_problems=st.lists(st.just("email"), max_size=1).map(tuple),
    notice_version=st.sampled_from([None, "notice-2024-01", "notice-2024-06"]),
)


@settings(max_examples=300, deadline=None)
@given(_facts)
def test_decision_invariants(facts: ApplicationFacts) -> None:
    decision = decide(facts, POLICY, NOW)
    assert decision.policy_rule == POLICY.rule_for(facts.account_type, facts.channel, facts.risk_tier,
                                                   facts.customer_kind).id
    assert decision.reasons
    if facts.screening_band == "block" or any(m.effect == "prohibit" for m in facts.measures):
        assert decision.decision == "refused"
    if decision.decision == "refused":
        assert decision.restrictions == [] and decision.evidence_required == [] and decision.deadline is None
    if decision.decision == "pending_evidence":
        assert decision.deadline is not None and decision.deadline > NOW and decision.evidence_required
    if decision.decision == "approved":
        assert decision.evidence_required == [] and decision.reverify_due is not None
        assert facts.risk_tier != "high" and facts.screening_band == "clear"
    if decision.decision != "refused" and any(m.effect == "conditions" for m in facts.measures):
        assert "no_gpu" in {item.name for item in decision.restrictions}
    case = open_case("app-h", facts, decision, NOW)
    assert case.state.value == decision.decision
