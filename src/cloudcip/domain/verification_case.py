"""The verification case of one account opening: an explicit state machine (A4, A5, A6, A7).

States and the only transitions allowed::

    submitted        -> approved | pending_evidence | in_review | refused
    pending_evidence -> approved | in_review | failed
    in_review        -> approved | refused | pending_evidence
    failed           -> refused | closed | restricted      (the policy's failure action)

``refused``, ``closed`` and ``restricted`` are settled: they are left only through a named
**re-opening**, never by an ordinary transition:

- ``redress`` (A6): a compliance officer re-opens a refused, closed or restricted case (or a failed
  one) to ``in_review``, with a reason;
- ``hit_cleared`` (D5): a person cleared as a false positive the designated-person match that
  refused the application; the application is decided again (``in_review``, ``pending_evidence`` or
  ``approved``);
- ``measure`` (D1, D4): a special measure closes (prohibition) or restricts (conditions) the account,
  from any state but ``closed``.

Every transition is kept with its reason, actor and time (the caller stores them and appends them to
the ledger). A case that was ever doubtful (pending evidence, in review, failed) keeps a
:class:`CaseResolution` saying how it was resolved (A6). Plain types only; no I/O, no clock: every
moment is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from cloudcip import clock
from cloudcip.errors import Conflict


class CaseState(StrEnum):
    submitted = "submitted"
    approved = "approved"
    pending_evidence = "pending_evidence"
    in_review = "in_review"
    refused = "refused"
    failed = "failed"
    closed = "closed"
    restricted = "restricted"


#: The failure action of the policy (``refuse``, ``close``, ``restrict``) and the state it leads to.
FAILURE_ACTION_STATES: dict[str, CaseState] = {
    "refuse": CaseState.refused,
    "close": CaseState.closed,
    "restrict": CaseState.restricted,
}

_S = CaseState
ALLOWED_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    _S.submitted: frozenset({_S.approved, _S.pending_evidence, _S.in_review, _S.refused}),
    _S.pending_evidence: frozenset({_S.approved, _S.in_review, _S.failed}),
    _S.in_review: frozenset({_S.approved, _S.refused, _S.pending_evidence}),
    _S.failed: frozenset({_S.refused, _S.closed, _S.restricted}),
    _S.refused: frozenset(),
    _S.closed: frozenset(),
    _S.restricted: frozenset(),
    _S.approved: frozenset(),
}
#: The re-openings: the only ways out of a settled state, each by its own path (``reopen``).
REOPENINGS: dict[str, dict[CaseState, frozenset[CaseState]]] = {
    "redress": {state: frozenset({_S.in_review}) for state in (_S.refused, _S.closed, _S.restricted, _S.failed)},
    "hit_cleared": {_S.refused: frozenset({_S.in_review, _S.pending_evidence, _S.approved})},
    "measure": {state: frozenset({_S.closed, _S.restricted}) for state in
                (_S.submitted, _S.approved, _S.pending_evidence, _S.in_review, _S.failed, _S.refused, _S.restricted)},
}
#: States a redress request re-opens (to ``in_review``).
REDRESS_STATES: frozenset[CaseState] = frozenset(REOPENINGS["redress"])
#: States in which a case waits on nobody (until redress).
SETTLED_STATES: frozenset[CaseState] = frozenset({_S.approved, _S.refused, _S.closed, _S.restricted})
#: States that make a case doubtful, so that its resolution must be recorded (A6).
DOUBTFUL_STATES: frozenset[CaseState] = frozenset({_S.pending_evidence, _S.in_review, _S.failed})


class IllegalTransition(Conflict, ValueError):
    """A transition the state machine does not allow (409: the case is not in a state that allows it)."""

    def __init__(self, from_state: CaseState | str, to_state: CaseState | str, why: str = "") -> None:
        self.from_state = from_state
        self.to_state = to_state
        super().__init__(f"a case may not go from {from_state} to {to_state}" + (f": {why}" if why else ""))


@dataclass(frozen=True)
class CaseTransition:
    """One move of the case: from where to where, why (a reason code and short text), who, when."""

    from_state: CaseState
    to_state: CaseState
    reason: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class CaseResolution:
    """A6: how a doubtful or unverifiable case ended: its outcome state, how, by whom, when."""

    outcome: CaseState
    how: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class EvidenceRecord:
    """One piece of evidence that arrived: which subject, which method, with what outcome, when;
    ``reference`` is the vendor's or the OTP challenge's id (A5)."""

    subject: str
    method: str
    outcome: str  # verified | failed | inconclusive
    at: datetime
    reference: str | None = None


@dataclass
class VerificationCase:
    """The case of one application.

    ``subjects`` maps ``customer`` and each ``beneficial_owner:<id>`` to ``us_person`` or
    ``foreign_person``; ``policy_rule`` is the id of the rule that applied; ``failure_action`` is the
    rule's (``refuse``, ``close`` or ``restrict``) and, when set, the only way out of ``failed`` besides
    redress; ``deadline`` bounds ``pending_evidence``.
    """

    case_id: str
    opened_at: datetime
    policy_rule: str | None = None
    failure_action: str | None = None
    deadline: datetime | None = None
    subjects: dict[str, str] = field(default_factory=lambda: {"customer": "foreign_person"})
    state: CaseState = CaseState.submitted
    history: list[CaseTransition] = field(default_factory=list)
    evidence: list[EvidenceRecord] = field(default_factory=list)
    resolution: CaseResolution | None = None
    #: F1: the steps an exemption in force skips for this case (``identity_verification``, ...)
    exempt_steps: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        clock.require_aware(self.opened_at, "case times")
        if self.failure_action is not None and self.failure_action not in FAILURE_ACTION_STATES:
            raise ValueError(f"unknown failure action {self.failure_action!r}")

    # ---- the state machine -----------------------------------------------------------------------

    def can_transition(self, to_state: CaseState | str) -> bool:
        """Whether ``to_state`` may follow the current state."""
        try:
            self._check(CaseState(to_state))
        except (IllegalTransition, ValueError):
            return False
        return True

    def _check(self, to_state: CaseState) -> None:
        if to_state not in ALLOWED_TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, to_state)
        if self.state is CaseState.failed and self.failure_action:
            required = FAILURE_ACTION_STATES[self.failure_action]
            if to_state is not required:
                raise IllegalTransition(self.state, to_state, f"the policy's failure action is {self.failure_action}")

    def transition(self, to_state: CaseState | str, reason: str, actor: str, at: datetime) -> CaseTransition:
        """Move the case to ``to_state``; :class:`IllegalTransition` if the machine forbids it. The
        transition is appended to ``history`` and returned for the caller to store."""
        try:
            target = CaseState(to_state)
        except ValueError:
            raise IllegalTransition(self.state, to_state, "no such state") from None
        self._check(target)
        return self._move(target, reason, actor, at)

    def _move(self, target: CaseState, reason: str, actor: str, at: datetime) -> CaseTransition:
        if not reason.strip() or not actor.strip():
            raise ValueError("a transition needs a reason and an actor")
        clock.require_aware(at, "case times")
        if self.history and at < self.history[-1].at:
            raise ValueError("a transition cannot be earlier than the one before it")
        move = CaseTransition(self.state, target, reason, actor, at)
        self.history.append(move)
        self.state = target
        if move.from_state in REDRESS_STATES and target not in SETTLED_STATES:
            self.resolution = None  # re-opened: the earlier resolution no longer stands
        return move

    def reopen(self, via: str, to_state: CaseState | str, reason: str, actor: str, at: datetime) -> CaseTransition:
        """A re-opening (``redress``, ``hit_cleared`` or ``measure``, see the module docstring): the only
        way out of a settled state; :class:`IllegalTransition` when ``via`` does not lead from here there."""
        try:
            target = CaseState(to_state)
        except ValueError:
            raise IllegalTransition(self.state, to_state, "no such state") from None
        allowed = REOPENINGS.get(via, {}).get(self.state, frozenset())
        if target not in allowed:
            raise IllegalTransition(self.state, target, f"{via} does not lead from {self.state} to {target}")
        return self._move(target, f"{via}: {reason}", actor, at)

    def redress(self, reason: str, actor: str, at: datetime) -> CaseTransition:
        """A6: the customer seeks redress; a refused, closed, restricted or failed case re-opens to
        ``in_review``."""
        if self.state not in REDRESS_STATES:
            raise IllegalTransition(self.state, CaseState.in_review, "redress re-opens refused, closed, "
                                    "restricted or failed cases only")
        return self.reopen("redress", CaseState.in_review, reason, actor, at)

    # ---- evidence and resolution -----------------------------------------------------------------

    def record_evidence(self, record: EvidenceRecord) -> None:
        clock.require_aware(record.at, "case times")
        self.evidence.append(record)

    def satisfied_methods(self, subject: str = "customer") -> frozenset[str]:
        """The methods that verified for ``subject`` (a later failure of a method does not undo it)."""
        return frozenset(record.method for record in self.evidence
                         if record.subject == subject and record.outcome == "verified")

    @property
    def was_doubtful(self) -> bool:
        """Whether the case was ever pending evidence, in review or failed (A6)."""
        return self.state in DOUBTFUL_STATES or any(move.to_state in DOUBTFUL_STATES for move in self.history)

    @property
    def is_settled(self) -> bool:
        return self.state in SETTLED_STATES

    def resolve(self, how: str, actor: str, at: datetime) -> CaseResolution:
        """A6: record how a doubtful case was resolved; the case must be settled (approved, refused,
        closed or restricted)."""
        if not self.is_settled:
            raise ValueError(f"a case in state {self.state} is not resolved yet")
        if not how.strip():
            raise ValueError("say how the case was resolved")
        self.resolution = CaseResolution(self.state, how, actor, clock.require_aware(at, "case times"))
        return self.resolution
