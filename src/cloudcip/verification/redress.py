"""Redress (A6): the one way out of a refused, closed or restricted case.

A compliance officer re-opens the case to ``in_review`` with a reason; the move is a case transition
and a ``redress`` ledger entry, and the provider is told through the webhook. A case in any other state
is a conflict (409) naming its state. Redress re-opens the *case*: an account a special measure in
force closed stays closed while the measure stands (``measures_in_force.account_state``), and a
reviewer cannot approve it (``ApplicationService.review``); an account the provider closed stays
closed, its closure time unchanged (B1, ``verification.account_moves``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudcip.domain.verification_case import CaseState
from cloudcip.errors import InvalidInput
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.verification.errors import CaseStateConflict

if TYPE_CHECKING:
    from cloudcip.verification.applications import ApplicationService

REDRESSABLE = (CaseState.refused, CaseState.closed, CaseState.restricted)
MAX_REASON = 500


def redress(service: ApplicationService, application_id: str, reason: str, actor: Actor) -> dict[str, Any]:
    """Re-open a refused, closed or restricted case for review (A6); 409 naming the state otherwise."""
    text = (reason or "").strip()
    if len(text) < 3 or len(text) > MAX_REASON or not text.isprintable():
        raise InvalidInput.field("reason", f"a reason of 3 to {MAX_REASON} printable characters is required")
    now = service.clock()
    with service.services.ledger.unit_of_work() as work:
        row, case = service.load(work.conn, application_id)
        if case.state not in REDRESSABLE:
            raise CaseStateConflict(f"the case is {case.state.value}; redress re-opens refused, closed or "
                                    "restricted cases only")
        previous = case.state.value
        move = case.redress(text, actor.name, now)
        work.log(LedgerAction(actor.name, actor.role, "redress", "application", row.id, purpose="redress",
                              detail={"from": previous, "to": move.to_state.value}))
        return service.save(work, row, case, [move], actor, now, "redress")
