"""Four eyes (maker-checker): propose a change, then a second person approves or rejects it (B4, D1, A6).

A change is one of a few **kinds**, each with the permission both people must hold
(``measure.record`` and ``measure.revoke``: ``measures:write``; ``case.redress``:
``application:redress``; ``policy.change``: ``policy:write``). The maker proposes it with a reason;
it stays ``pending``, visible to
everyone who holds the permission, until a different person approves (the change is then carried
out by the service that owns it, through the ``executors`` the wiring passes in) or rejects it with a
reason. Nobody approves or rejects their own proposal; the maker may withdraw it. Each step is a
ledger entry. A change whose execution is refused (the service names the field) stays pending.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from cloudcip import clock
from cloudcip.approvals.schema import pending_change
from cloudcip.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.roles import Actor, Permission, may
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.database import Database

#: the permission both the maker and the checker of each kind of change must hold
KINDS: dict[str, Permission] = {
    "measure.record": "measures:write",
    "measure.revoke": "measures:write",
    "case.redress": "application:redress",
    "policy.change": "policy:write",
}
MAX_TEXT = 500

#: carries out an approved change (``payload``, the approving actor, the maker's name); returns a
#: reference to what it made or changed
Executor = Callable[[dict[str, Any], Actor, str], str]


class ChangeNotFound(NotFound):
    """No such pending change."""


@dataclass(frozen=True)
class PendingChange:
    id: str
    kind: str
    subject: str | None
    summary: str
    payload: dict[str, Any]
    reason: str
    state: str
    proposed_by: str
    proposed_role: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_reason: str | None
    result_ref: str | None


def _change(row: Any) -> PendingChange:
    return PendingChange(row.id, row.kind, row.subject, row.summary, json.loads(row.payload_json), row.reason,
                         row.state, row.proposed_by, row.proposed_role, clock.utc(row.proposed_at), row.decided_by,
                         clock.utc_or_none(row.decided_at), row.decision_reason, row.result_ref)


def _text(value: str | None, field: str) -> str:
    clean = (value or "").strip()
    if not clean:
        raise InvalidInput.field(field, "required")
    if len(clean) > MAX_TEXT or not clean.isprintable():
        raise InvalidInput.field(field, f"at most {MAX_TEXT} printable characters")
    return clean


@dataclass
class FourEyes:
    """Pending changes of one database; ``executors`` carry out each kind once approved."""

    database: Database
    ledger: Ledger
    executors: Mapping[str, Executor]

    def _check_role(self, kind: str, actor: Actor) -> None:
        if kind not in KINDS:
            raise InvalidInput.field("kind", f"one of {', '.join(KINDS)}")
        if not may(actor.role, KINDS[kind]):
            raise Forbidden(f"role {actor.role} may not propose or approve a {kind}")

    def propose(self, kind: str, summary: str, payload: dict[str, Any], reason: str, actor: Actor, *,
                subject: str | None = None) -> PendingChange:
        self._check_role(kind, actor)
        clean_reason = _text(reason, "reason")
        change_id = str(uuid.uuid4())
        with self.ledger.unit_of_work() as work:
            if subject is not None and work.conn.execute(select(pending_change.c.id).where(
                    pending_change.c.kind == kind, pending_change.c.subject == subject,
                    pending_change.c.state == "pending")).first():
                raise Conflict(f"a {kind} of this record is already waiting for approval")
            insert_rows(work.conn, pending_change, [dict(
                id=change_id, kind=kind, subject=subject, summary=_text(summary, "summary"),
                payload_json=json.dumps(payload, sort_keys=True, default=str), reason=clean_reason, state="pending",
                proposed_by=actor.name, proposed_role=actor.role, proposed_at=clock.now(), decided_by=None,
                decided_role=None, decided_at=None, decision_reason=None, result_ref=None)])
            work.log(LedgerAction(actor.name, actor.role, "propose", "pending_change", change_id,
                                  purpose="four eyes", detail={"kind": kind, "subject": subject}))
        return self.get(change_id)

    def get(self, change_id: str) -> PendingChange:
        with self.database.engine.connect() as conn:
            row = conn.execute(select(pending_change).where(pending_change.c.id == change_id)).first()
        if row is None:
            raise ChangeNotFound("no such pending change")
        return _change(row)

    def changes(self, *, state: str | None = "pending", limit: int = 100) -> list[PendingChange]:
        query = select(pending_change).order_by(pending_change.c.proposed_at.desc()).limit(limit)
        if state is not None:
            query = query.where(pending_change.c.state == state)
        with self.database.engine.connect() as conn:
            return [_change(r) for r in conn.execute(query)]

    def _decide(self, change_id: str, actor: Actor, to_state: str, reason: str | None) -> PendingChange:
        """Move a pending change to ``to_state`` (conditionally: two checkers cannot both win)."""
        change = self.get(change_id)
        self._check_role(change.kind, actor)
        if change.state != "pending":
            raise Conflict(f"the change is {change.state}")
        if to_state in ("approved", "rejected") and change.proposed_by == actor.name:
            raise Forbidden("nobody approves or rejects their own proposal: a second person must")
        if to_state == "withdrawn" and change.proposed_by != actor.name:
            raise Forbidden("only the person who proposed a change may withdraw it")
        with self.ledger.unit_of_work() as work:
            moved = work.conn.execute(update(pending_change).where(
                pending_change.c.id == change_id, pending_change.c.state == "pending").values(
                state="executing" if to_state == "approved" else to_state, decided_by=actor.name,
                decided_role=actor.role, decided_at=clock.now(), decision_reason=reason)).rowcount
            if not moved:
                raise Conflict("the change was decided meanwhile")
            if to_state != "approved":
                action = {"rejected": "reject", "withdrawn": "withdraw"}[to_state]
                work.log(LedgerAction(actor.name, actor.role, action, "pending_change", change_id, purpose="four eyes",
                                      detail={"kind": change.kind, "subject": change.subject}))
        return self.get(change_id)

    def approve(self, change_id: str, actor: Actor, reason: str | None = None) -> PendingChange:
        """A second person approves: the change is carried out, then recorded as approved."""
        note = _text(reason, "reason") if reason and reason.strip() else None
        change = self._decide(change_id, actor, "approved", note)
        try:
            result = self.executors[change.kind](change.payload, actor, change.proposed_by)
        except Exception:
            with self.database.write_gate(), self.database.engine.begin() as conn:
                conn.execute(update(pending_change).where(pending_change.c.id == change_id).values(
                    state="pending", decided_by=None, decided_role=None, decided_at=None, decision_reason=None))
            raise
        with self.ledger.unit_of_work() as work:
            work.conn.execute(update(pending_change).where(pending_change.c.id == change_id).values(
                state="approved", result_ref=result[:64]))
            work.log(LedgerAction(actor.name, actor.role, "approve", "pending_change", change_id,
                                  purpose="four eyes", detail={"kind": change.kind, "subject": change.subject,
                                                               "proposed_by": change.proposed_by,
                                                               "result": result[:64]}))
        return self.get(change_id)

    def reject(self, change_id: str, actor: Actor, reason: str) -> PendingChange:
        return self._decide(change_id, actor, "rejected", _text(reason, "reason"))

    def withdraw(self, change_id: str, actor: Actor) -> PendingChange:
        return self._decide(change_id, actor, "withdrawn", None)
