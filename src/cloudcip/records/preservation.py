"""Preservation holds: place one under a legal process (quick freeze), release it with a reason (B1, B5).

Placing a hold resolves the process's scope and freezes, in one transaction, every customer and
account in it: from then on neither the retention purge nor an administrator's purge touches their
records or access history. A hold is released only with a stated reason; a released hold stays in
the register. Several holds may cover the same records; each holds until it is itself released.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from cloudcip import clock
from cloudcip.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.legal_process import process_row, resolve_scope
from cloudcip.records.roles import Actor, may
from cloudcip.records.schema import legal_hold, legal_hold_subject
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.database import Database


@dataclass(frozen=True)
class HoldRecord:
    id: str
    process_id: str
    placed_at: datetime
    placed_by: str
    released_at: datetime | None
    release_reason: str | None
    customers: int
    accounts: int

    @property
    def standing(self) -> bool:
        return self.released_at is None


class HoldNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such legal hold")


@dataclass
class HoldService:
    database: Database
    ledger: Ledger
    clock: Callable[[], datetime] = clock.now

    def place(self, process_id: str, actor: Actor) -> HoldRecord:
        """Freeze what the process covers now (B5: quick freeze)."""
        if not may(actor.role, "legal_hold:place"):
            raise Forbidden(f"role {actor.role} may not place legal holds")
        now = self.clock()
        hold_id = str(uuid.uuid4())
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            row = process_row(conn, process_id)
            if row.state != "open":
                raise Conflict("the legal process is closed; no hold can be placed under it")
            scope = resolve_scope(conn, process_id)
            conn.execute(insert(legal_hold).values(id=hold_id, process_id=process_id, placed_at=now,
                                                   placed_by=actor.name, released_at=None, released_by=None,
                                                   release_reason=None))
            insert_rows(conn, legal_hold_subject,
                        [{"hold_id": hold_id, "subject_type": "customer", "subject_id": c}
                         for c in sorted(scope.customers)]
                        + [{"hold_id": hold_id, "subject_type": "account", "subject_id": a}
                           for a in sorted(scope.accounts)])
            work.log(LedgerAction(actor.name, actor.role, "place_hold", "legal_hold", hold_id,
                                  purpose="preservation hold", legal_basis=process_id,
                                  detail={"customers": len(scope.customers), "accounts": len(scope.accounts)}))
            return _record(conn, hold_id)

    def release(self, hold_id: str, reason: str, actor: Actor) -> HoldRecord:
        if not may(actor.role, "legal_hold:release"):
            raise Forbidden(f"role {actor.role} may not release legal holds")
        reason = reason.strip()
        if not reason:
            raise InvalidInput.field("reason", "a hold is released only with a reason")
        if len(reason) > 500:
            raise InvalidInput.field("reason", "at most 500 characters")
        with self.ledger.unit_of_work() as work:
            row = work.conn.execute(select(legal_hold).where(legal_hold.c.id == hold_id)).first()
            if row is None:
                raise HoldNotFound()
            if row.released_at is not None:
                raise Conflict("the legal hold is already released")
            work.conn.execute(update(legal_hold).where(legal_hold.c.id == hold_id).values(
                released_at=self.clock(), released_by=actor.name, release_reason=reason))
            work.log(LedgerAction(actor.name, actor.role, "release_hold", "legal_hold", hold_id,
                                  purpose=reason, legal_basis=row.process_id))
            return _record(work.conn, hold_id)

    def show(self, hold_id: str, actor: Actor) -> HoldRecord:
        if not may(actor.role, "legal_process:read"):
            raise Forbidden(f"role {actor.role} may not read legal holds")
        with self.database.engine.connect() as conn:
            return _record(conn, hold_id)

    def list(self, actor: Actor, *, process_id: str | None = None, standing: bool | None = None) -> list[HoldRecord]:
        if not may(actor.role, "legal_process:read"):
            raise Forbidden(f"role {actor.role} may not read legal holds")
        query = select(legal_hold.c.id).order_by(legal_hold.c.placed_at, legal_hold.c.id)
        if process_id is not None:
            query = query.where(legal_hold.c.process_id == process_id)
        if standing is not None:
            query = query.where(legal_hold.c.released_at.is_(None) if standing
                                else legal_hold.c.released_at.is_not(None))
        with self.database.engine.connect() as conn:
            return [_record(conn, str(h)) for h in conn.execute(query).scalars()]


def _record(conn: Connection, hold_id: str) -> HoldRecord:
    row = conn.execute(select(legal_hold).where(legal_hold.c.id == hold_id)).first()
    if row is None:
        raise HoldNotFound()
    counts: dict[str, int] = dict(conn.execute(select(legal_hold_subject.c.subject_type, func.count())
                               .where(legal_hold_subject.c.hold_id == hold_id)
                               .group_by(legal_hold_subject.c.subject_type)).all())
    return HoldRecord(id=row.id, process_id=row.process_id, placed_at=clock.utc(row.placed_at),
                      placed_by=row.placed_by, released_at=clock.utc_or_none(row.released_at),
                      release_reason=row.release_reason, customers=int(counts.get("customer", 0)),
                      accounts=int(counts.get("account", 0)))


__all__ = ["HoldNotFound", "HoldRecord", "HoldService"]
