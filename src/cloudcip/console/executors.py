"""What each kind of four-eyes change does once approved: the owning service carries it out
(``screening.measures`` for measures, the application service for redress, ``verification.policy_store``
for the CIP policy in force) (B4, D1, A6, A8)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from cloudcip.approvals.service import Executor
from cloudcip.records.roles import Actor
from cloudcip.screening import measures as register
from cloudcip.verification import policy_store
from cloudcip.verification.policy import CipPolicy

if TYPE_CHECKING:
    from cloudcip.console.web import Console


def for_console(console: Console) -> dict[str, Executor]:
    services = console.services

    def record_measure(payload: dict[str, Any], actor: Actor, maker: str) -> str:
        created = register.add_measure(
            services, actor, kind=payload["kind"], target=payload["target"], measure=payload["measure"],
            determination_date=date.fromisoformat(payload["determination_date"]),
            conditions=payload.get("conditions") or [],
            effective_date=date.fromisoformat(payload["effective_date"]) if payload.get("effective_date") else None,
            duration_days=payload.get("duration_days"), covers_resellers=bool(payload.get("covers_resellers", True)),
            description=payload.get("description"))
        console.screening.invalidate()
        return created.id

    def revoke_measure(payload: dict[str, Any], actor: Actor, maker: str) -> str:
        changed = register.revoke_measure(services, actor, payload["measure_id"], payload["reason"])
        console.screening.invalidate()
        return changed.id

    def redress(payload: dict[str, Any], actor: Actor, maker: str) -> str:
        answer = console.applications.redress(payload["application_id"], payload["reason"], actor)
        return str(answer.get("state", "in_review"))

    def adopted(policy: CipPolicy) -> None:
        console.applications.policy = policy  # this process decides under it at once

    return {"measure.record": record_measure, "measure.revoke": revoke_measure, "case.redress": redress,
            "policy.change": policy_store.change_executor(services.database, services.ledger, adopted)}
