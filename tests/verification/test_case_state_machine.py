"""The verification case state machine (A4, A6, A7): every allowed transition works, every other pair
is refused, history and resolution are kept, deadlines follow an injected clock."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from cloudcip.domain.verification_case import (
    ALLOWED_TRANSITIONS,
    REOPENINGS,
    CaseState,
    IllegalTransition,
    VerificationCase,
)
from cloudcip.verification.decision import (
    ApplicationFacts,
    SubjectFacts,
    decide,
    enforce_deadline,
    open_case,
    reverification_due,
)
from cloudcip.verification.policy import default_policy

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
S = CaseState

EXPECTED = {
    (S.submitted, S.approved), (S.submitted, S.pending_evidence), (S.submitted, S.in_review),
    (S.submitted, S.refused),
    (S.pending_evidence, S.approved), (S.pending_evidence, S.in_review), (S.pending_evidence, S.failed),
    (S.in_review, S.approved), (S.in_review, S.refused), (S.in_review, S.pending_evidence),
    (S.failed, S.refused), (S.failed, S.closed), (S.failed, S.restricted),
}
# refused, closed and restricted are left only by a named re-opening (A6 redress, D5 hit cleared, D1 measure)
EXPECTED_REOPENINGS = {
    ("redress", S.refused, S.in_review), ("redress", S.closed, S.in_review), ("redress", S.restricted, S.in_review),
    ("redress", S.failed, S.in_review),
    ("hit_cleared", S.refused, S.in_review), ("hit_cleared", S.refused, S.pending_evidence),
    ("hit_cleared", S.refused, S.approved),
    *{("measure", source, target) for source in (S.submitted, S.approved, S.pending_evidence, S.in_review, S.failed,
                                                 S.refused, S.restricted) for target in (S.closed, S.restricted)},
}

# A path from ``submitted`` to each state, so any state can be set up through legal moves only.
PATHS: dict[CaseState, list[CaseState]] = {
    S.submitted: [],
    S.approved: [S.approved],
    S.pending_evidence: [S.pending_evidence],
    S.in_review: [S.in_review],
    S.refused: [S.refused],
    S.failed: [S.pending_evidence, S.failed],
    S.closed: [S.pending_evidence, S.failed, S.closed],
    S.restricted: [S.pending_evidence, S.failed, S.restricted],
}



def state_of(case: VerificationCase) -> CaseState:
    """The case's state, read afresh (the case moves under the test's feet)."""
    return case.state

def _case_in(state: CaseState) -> VerificationCase:
    case = VerificationCase(case_id="case-1", opened_at=T0)
    for step, target in enumerate(PATHS[state]):
        case.transition(target, "setup", "test", T0 + timedelta(minutes=step))
    assert case.state is state
    return case


def test_the_table_is_exactly_the_specified_one() -> None:
    table = {(source, target) for source, targets in ALLOWED_TRANSITIONS.items() for target in targets}
    assert table == EXPECTED


@pytest.mark.parametrize(("source", "target"), list(itertools.product(CaseState, CaseState)))
def test_every_pair(source: CaseState, target: CaseState) -> None:
    case = _case_in(source)
    at = T0 + timedelta(hours=1)
    if (source, target) in EXPECTED:
        move = case.transition(target, "because", "analyst:7", at)
        assert (move.from_state, move.to_state, move.reason, move.actor, move.at) == (
            source, target, "because", "analyst:7", at)
        assert case.state is target and case.history[-1] == move
    else:
        length = len(case.history)
        with pytest.raises(IllegalTransition):
            case.transition(target, "because", "analyst:7", at)
        assert case.state is source and len(case.history) == length
        assert not case.can_transition(target)


@pytest.mark.requirement("A6", "D5", "D1")
@pytest.mark.parametrize(("via", "source", "target"),
                         list(itertools.product(("redress", "hit_cleared", "measure", "other"), CaseState, CaseState)))
def test_every_reopening(via: str, source: CaseState, target: CaseState) -> None:
    """Settled states are left only through the named re-openings, each exactly as specified."""
    table = {(v, a, b) for v, moves in REOPENINGS.items() for a, targets in moves.items() for b in targets}
    assert table == EXPECTED_REOPENINGS
    case = _case_in(source)
    at = T0 + timedelta(hours=1)
    if (via, source, target) in EXPECTED_REOPENINGS:
        move = case.reopen(via, target, "because", "officer:1", at)
        assert move.reason == f"{via}: because" and case.state is target
    else:
        with pytest.raises(IllegalTransition):
            case.reopen(via, target, "because", "officer:1", at)
        assert case.state is source


@pytest.mark.parametrize("settled", [S.refused, S.closed, S.restricted])
def test_no_ordinary_transition_leaves_a_settled_case(settled: CaseState) -> None:
    case = _case_in(settled)
    for target in CaseState:
        assert not case.can_transition(target)


def test_unknown_state_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        _case_in(S.submitted).transition("archived", "x", "y", T0)


def test_failed_goes_only_to_the_policy_failure_action() -> None:
    case = VerificationCase(case_id="c", opened_at=T0, failure_action="close")
    case.transition(S.pending_evidence, "owed", "system", T0)
    case.transition(S.failed, "deadline", "system", T0)
    with pytest.raises(IllegalTransition, match="failure action is close"):
        case.transition(S.refused, "x", "system", T0)
    with pytest.raises(IllegalTransition):
        case.transition(S.restricted, "x", "system", T0)
    case.transition(S.closed, "failure_action:close", "system", T0)
    assert case.state is S.closed


def test_redress_reopens_and_clears_the_resolution() -> None:
    case = _case_in(S.refused)
    case.resolve("refused after review", "analyst:1", T0 + timedelta(hours=1))
    assert case.resolution is not None
    case.redress("customer asked for review", "customer", T0 + timedelta(days=2))
    assert case.state is S.in_review and case.resolution is None
    with pytest.raises(IllegalTransition):
        case.redress("again", "customer", T0 + timedelta(days=3))


def test_history_times_are_aware_and_ordered_and_need_reason_and_actor() -> None:
    case = _case_in(S.submitted)
    with pytest.raises(ValueError, match="timezone-aware"):
        case.transition(S.in_review, "x", "y", datetime(2026, 3, 1, 10, 0))
    with pytest.raises(ValueError, match="reason and an actor"):
        case.transition(S.in_review, " ", "y", T0)
    case.transition(S.in_review, "x", "y", T0 + timedelta(hours=1))
    with pytest.raises(ValueError, match="earlier"):
        case.transition(S.approved, "x", "y", T0)


def test_resolution_only_when_settled_and_doubtful_flag() -> None:
    case = _case_in(S.pending_evidence)
    assert case.was_doubtful
    with pytest.raises(ValueError, match="not resolved yet"):
        case.resolve("n/a", "a", T0)
    case.transition(S.approved, "verified", "system", T0 + timedelta(minutes=1))
    resolution = case.resolve("verified by passport after phone check", "analyst:2", T0 + timedelta(minutes=2))
    assert resolution.outcome is S.approved and resolution.actor == "analyst:2"
    assert not _case_in(S.approved).was_doubtful


def _pending_case() -> VerificationCase:
    policy = default_policy()
    facts = ApplicationFacts(
        account_type="standard", channel="self_serve", customer_kind="individual", risk_tier="standard",
        fields_present=frozenset({"name", "address", "national_id", "birth_date", "payment_means", "email", "phone"}),
        customer=SubjectFacts("customer", "foreign_person", "foreign"), notice_version="notice-2024-01")
    decision = decide(facts, policy, T0)
    assert decision.decision == "pending_evidence"
    return open_case("case-9", facts, decision, T0)


def test_deadline_with_an_injected_clock() -> None:
    policy = default_policy()
    case = _pending_case()
    assert case.deadline == T0 + timedelta(days=14)
    assert enforce_deadline(case, T0 + timedelta(days=13, hours=23, minutes=59), policy) == []
    assert case.state is S.pending_evidence
    moves = enforce_deadline(case, T0 + timedelta(days=14), policy)
    assert [(m.from_state, m.to_state) for m in moves] == [(S.pending_evidence, S.failed), (S.failed, S.closed)]
    assert moves[0].reason.startswith("deadline_passed") and moves[1].reason == "failure_action:close"
    assert all(m.actor == "system:deadline" and m.at == T0 + timedelta(days=14) for m in moves)
    assert state_of(case) is S.closed
    assert case.resolution is not None and "still owed" in case.resolution.how
    assert enforce_deadline(case, T0 + timedelta(days=30), policy) == []  # settled: nothing more


def test_deadline_restrict_action() -> None:
    policy = default_policy()
    facts = ApplicationFacts(
        account_type="standard", channel="self_serve", customer_kind="entity", risk_tier="low",
        fields_present=frozenset({"name", "address", "registration", "payment_means", "email", "phone",
                                  "beneficial_owners"}),
        customer=SubjectFacts("customer", "foreign_person", "foreign"), notice_version="notice-2024-01")
    case = open_case("case-e", facts, decide(facts, policy, T0), T0)
    moves = enforce_deadline(case, T0 + timedelta(days=15), policy)
    assert moves[-1].to_state is S.restricted


def test_reverification_due_after_approval() -> None:
    policy = default_policy()
    case = _pending_case()
    case.transition(S.in_review, "x", "a", T0 + timedelta(days=1))
    case.transition(S.approved, "documents checked", "analyst:1", T0 + timedelta(days=2))
    assert reverification_due(case, policy) == T0 + timedelta(days=2 + 365)
