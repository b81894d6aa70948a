"""The account lifecycle: closure, and the retention clock each account carries (B1).

The provider tells cloudcip that an account closed through the API, the CLI, or an event in the
access-event stream whose action is ``account.closed`` (CloudTrail and OCSF records: ``CloseAccount``),
which is stored as access history like any administrative action and closes the account when the
closure follower reaches it (a job of ``cloudcip serve``). An account's retention ends the profile's
retention period (default two years) after the later of its closure and its last access; an open
account's records are kept while it is open. A refused opening counts as closed when it was refused.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, insert, select, update

from cloudcip import clock
from cloudcip.access.events import ms_to_datetime
from cloudcip.access.follower import newest_event_id
from cloudcip.access.schema import access_account_activity, access_event, access_signal_cursor
from cloudcip.errors import Conflict, Forbidden, InvalidInput, NotFound
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.holds import holds_on_account
from cloudcip.records.roles import Actor, may
from cloudcip.storage.database import Database
from cloudcip.storage.schema import account

#: actions of an access event that closes its account
CLOSURE_ACTIONS: tuple[str, ...] = ("account.closed", "CloseAccount")
CLOSURE_CURSOR = "account-closures"
CLOSURE_ACTOR = Actor("access-events:closure", "event-ingest")
#: account states that mean the account never opened or no longer runs
ENDED_STATES = frozenset({"closed", "refused"})


def add_years(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` later (29 February becomes 28 February where needed)."""
    year = moment.year + years
    return moment.replace(year=year, day=min(moment.day, calendar.monthrange(year, moment.month)[1]))


def closure_of(state: str, opened_at: datetime, closed_at: datetime | None) -> datetime | None:
    """When the account closed: its closure, or its opening for a refused opening never closed."""
    if closed_at is not None:
        return clock.utc(closed_at)
    if state in ENDED_STATES:
        return clock.utc(opened_at)
    return None


def retention_end(closed_at: datetime | None, last_access: datetime | None, years: int) -> datetime | None:
    """B1: ``years`` after the later of closure and last access; ``None`` while the account is open."""
    if closed_at is None:
        return None
    anchor = max(closed_at, last_access) if last_access is not None else closed_at
    return add_years(anchor, years)


@dataclass(frozen=True)
class AccountRecord:
    """An account as its record shows it, with its retention clock and the holds that stand on it."""

    id: str
    customer_id: str
    type: str
    channel: str
    state: str
    parent_account_id: str | None
    opened_at: datetime
    closed_at: datetime | None
    last_access: datetime | None
    retention_ends: datetime | None
    holds: list[str] = field(default_factory=list)


class AccountNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such account")


@dataclass
class AccountLifecycle:
    """Closes accounts and shows their lifecycle (B1)."""

    database: Database
    ledger: Ledger
    retention_years: int
    clock: Callable[[], datetime] = clock.now

    def close(self, account_id: str, actor: Actor, at: datetime | None = None) -> AccountRecord:
        """Record that the provider closed the account at ``at`` (default: now; never in the future)."""
        if not may(actor.role, "account:close"):
            raise Forbidden(f"role {actor.role} may not close accounts")
        now = self.clock()
        moment = clock.utc(at) if at is not None else now
        if moment > now:
            raise InvalidInput.field("at", "a closure cannot be in the future")
        with self.ledger.unit_of_work() as work:
            row = work.conn.execute(select(account.c.closed_at, account.c.opened_at)
                                    .where(account.c.id == account_id)).first()
            if row is None:
                raise AccountNotFound()
            if row.closed_at is not None:
                raise Conflict("the account is already closed")
            if moment < clock.utc(row.opened_at).replace(microsecond=0):  # the same second is fine
                raise InvalidInput.field("at", "is before the account was opened")
            work.conn.execute(update(account).where(account.c.id == account_id)
                              .values(closed_at=moment, state="closed", closed_by="provider"))
            work.log(LedgerAction(actor.name, actor.role, "close", "account", account_id,
                                  purpose="account closed by the provider", detail={"at": clock.iso(moment)}))
            return self._record(work.conn, account_id)

    def show(self, account_id: str, actor: Actor, purpose: str | None = None) -> AccountRecord:
        if not may(actor.role, "account:read"):
            raise Forbidden(f"role {actor.role} may not read accounts")
        with self.ledger.unit_of_work() as work:
            record = self._record(work.conn, account_id)
            work.log(LedgerAction(actor.name, actor.role, "read", "account", account_id, purpose=purpose))
        return record

    def _record(self, conn: Connection, account_id: str) -> AccountRecord:
        row = conn.execute(select(account, access_account_activity.c.last_access_ms)
                           .select_from(account.outerjoin(access_account_activity,
                                                          access_account_activity.c.account_id == account.c.id))
                           .where(account.c.id == account_id)).first()
        if row is None:
            raise AccountNotFound()
        last = ms_to_datetime(int(row.last_access_ms)) if row.last_access_ms is not None else None
        closed = closure_of(row.state, row.opened_at, row.closed_at)
        return AccountRecord(
            id=row.id, customer_id=row.customer_id, type=row.type, channel=row.channel, state=row.state,
            parent_account_id=row.parent_account_id, opened_at=clock.utc(row.opened_at),
            closed_at=clock.utc_or_none(row.closed_at), last_access=last,
            retention_ends=retention_end(closed, last, self.retention_years),
            holds=holds_on_account(conn, account_id))

    # -- closures in the access-event stream -----------------------------------------------------
    def follow_closures(self, *, max_events: int = 200_000) -> int:
        """Close the accounts whose ``account.closed`` events arrived since the last call; the number
        closed. The cursor moves in the same transaction as the closures (compare and set)."""
        closed = 0
        while True:
            with self.database.engine.connect() as conn:
                start = conn.execute(select(access_signal_cursor.c.last_event_id)
                                     .where(access_signal_cursor.c.name == CLOSURE_CURSOR)).scalar_one_or_none()
            position = int(start or 0)
            newest = newest_event_id(self.database)
            if newest <= position:
                return closed
            upto = min(newest, position + max_events)
            with self.database.engine.connect() as conn:
                closures = dict(conn.execute(
                    select(access_event.c.account_id, func.min(access_event.c.time_ms))
                    .where(access_event.c.id > position, access_event.c.id <= upto,
                           access_event.c.action.in_(CLOSURE_ACTIONS))
                    .group_by(access_event.c.account_id)).all())
            with self.ledger.unit_of_work() as work:
                conn = work.conn
                if start is None:
                    conn.execute(insert(access_signal_cursor).values(
                        name=CLOSURE_CURSOR, last_event_id=0, updated_at=self.clock()))
                moved = conn.execute(update(access_signal_cursor).where(
                    access_signal_cursor.c.name == CLOSURE_CURSOR, access_signal_cursor.c.last_event_id == position)
                    .values(last_event_id=upto, updated_at=self.clock())).rowcount
                if not moved:  # another process took this round
                    conn.rollback()
                    return closed
                ids = sorted(closures)
                for begin in range(0, len(ids), 500):
                    chunk = ids[begin:begin + 500]
                    open_ones = conn.execute(select(account.c.id, account.c.opened_at).where(
                        account.c.id.in_(chunk), account.c.closed_at.is_(None))).all()
                    for account_id, opened_at in open_ones:
                        moment = max(ms_to_datetime(int(closures[account_id])), clock.utc(opened_at))
                        conn.execute(update(account).where(account.c.id == account_id)
                                     .values(closed_at=moment, state="closed", closed_by="provider"))
                        work.log(LedgerAction(CLOSURE_ACTOR.name, CLOSURE_ACTOR.role, "close", "account", account_id,
                                              purpose="account.closed event", detail={"at": clock.iso(moment)}))
                        closed += 1


__all__ = ["CLOSURE_ACTIONS", "AccountLifecycle", "AccountNotFound", "AccountRecord", "add_years", "closure_of",
           "retention_end"]
