"""The certification gate as the verification workflow applies it: hold, then release (H1, A4, A6).

While no CIP certification is filed (``reports.certification.certification_gate``, wired by
``runtime.gate_applications``), a foreign customer whose case would be approved is not granted
access: the case stays in ``pending_evidence`` with the gate's reason, and its answer keeps the
reason under ``held_by_gate``. A held case has no deadline: the customer has given everything the
policy asks, and what is missing is the provider's filing, so no deadline may fail it.

When a certification is filed, :func:`release` re-evaluates every held case at once (no manual
step): a case whose evidence is still complete under the policy in force is approved (the move
names the filing), one that now owes more evidence waits for it under its rule's deadline. A case
that moved in the meantime (to review, refused) is no longer held (``ApplicationService.save``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from cloudcip.domain.verification_case import CaseState, VerificationCase
from cloudcip.ledger.store import UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.verification.decision import case_owed
from cloudcip.verification.schema import application

if TYPE_CHECKING:
    from cloudcip.verification.applications import ApplicationService

#: the key of a held case's answer; its value is the gate's reason
HELD = "held_by_gate"
RELEASED = ("certification_filed: a CIP certification is filed (H1); the evidence the policy asks for is complete, "
            "so the held case is approved")


def hold(service: ApplicationService, work: UnitOfWork, row: Any, case: VerificationCase, reason: str, actor: Actor,
         now: datetime, answer: dict[str, Any] | None, note: str) -> dict[str, Any]:
    """Keep a case whose evidence is complete in ``pending_evidence`` for the gate's ``reason``."""
    held = answer if answer is not None else json.loads(row.response_json)
    held[HELD] = reason
    held["reasons"] = [*(r for r in held.get("reasons", []) if r != reason), reason]
    case.deadline = None
    return service.save(work, row, case, [], actor, now, note, answer=held)


def held_case_ids(service: ApplicationService) -> list[str]:
    """The cases the gate holds (a text filter first, each confirmed from its answer on release)."""
    with service.services.database.engine.connect() as conn:
        return list(conn.execute(select(application.c.id).where(
            application.c.state == CaseState.pending_evidence.value,
            application.c.response_json.contains(f'"{HELD}": ')).order_by(application.c.created_at)).scalars())


def release(service: ApplicationService, actor: Actor) -> int:
    """Re-evaluate every held case now that the gate opens; the number approved. Nothing moves while
    the gate still holds (no certification is filed)."""
    if service.approval_gate is not None and service.approval_gate() is not None:
        return 0
    approved = 0
    for application_id in held_case_ids(service):
        now = service.clock()
        with service.services.ledger.unit_of_work() as work:
            row, case = service.load(work.conn, application_id)
            answer: dict[str, Any] = json.loads(row.response_json)
            reason = answer.pop(HELD, None)
            if case.state is not CaseState.pending_evidence or reason is None:
                continue
            answer["reasons"] = [r for r in answer.get("reasons", []) if r != reason]
            if case_owed(case, service.policy) or case.policy_rule is None:
                # the policy in force asks for more than the case has: it waits for it, on the rule's clock
                if case.policy_rule is not None:
                    case.deadline = now + service.policy.rule_by_id(case.policy_rule).pending.deadline
                service.save(work, row, case, [], actor, now, "certification filed: evidence still owed",
                             answer=answer)
                continue
            move = case.transition(CaseState.approved, RELEASED, actor.name, now)
            case.resolve("verified by evidence; approved when the CIP certification was filed", actor.name, now)
            service.save(work, row, case, [move], actor, now, "certification filed", answer=answer)
            approved += 1
    return approved


__all__ = ["HELD", "RELEASED", "held_case_ids", "hold", "release"]
