"""Signals follow the event log (C4).

The follower reads the stored events in the order of their ids, from where it last stopped (the
``access_signal_cursor`` row ``signals``), a round of up to ``ROUND_EVENTS`` at a time; evaluates
every account a round touches over the window of its new events (from the earliest to the latest,
with the located accesses just before and just after: ``signals.evaluate_accounts``, set-based
reads on SQLite); and stores the new signals and the advanced cursor in one transaction.
A crash between or inside rounds thus loses no evaluation, and a repeated round raises nothing new
(signals are unique per account, kind and dedupe key). Whatever wrote the events (the API, a file
import, the NATS consumer) is evaluated the same way, and intake never waits for the rules.

The cursor is safe because no event with a smaller id can still commit after the follower read
the newest id: SQLite has one writer at a time, and on PostgreSQL every transaction adding events
holds a shared advisory lock (``backends.postgresql.EVENTS_LOCK_KEY``) that the follower takes
exclusively for the instant it reads the newest id (``AccessBackend.newest_event_id``). Two
followers on one database each advance the cursor only from the value they read (compare and set);
the loser's round is rolled back.

``cloudcip serve`` runs one follower in its main process (apart from the API workers);
``cloudcip access signals`` runs rounds until it has caught up (``--follow``: keeps following).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update

from cloudcip import clock
from cloudcip.access.backends import backend_for
from cloudcip.access.schema import access_event, access_signal_cursor
from cloudcip.access.signals import Signal, SignalPolicy, evaluate_accounts, store_signals_with
from cloudcip.storage.database import Database

CURSOR = "signals"
ROUND_EVENTS = 100_000  # events per round: a few set-based reads and one write transaction


@dataclass(frozen=True)
class FollowRound:
    """One round: the events read (ids after ``from_id`` up to ``to_id``), the accounts evaluated,
    and the signals stored."""

    from_id: int
    to_id: int
    accounts: int
    raised: list[Signal]

    @property
    def events(self) -> int:
        return self.to_id - self.from_id


def cursor_position(database: Database) -> int:
    """The id of the last event evaluated (0: none yet)."""
    with database.engine.connect() as connection:
        return cursor_position_in(connection) or 0


def newest_event_id(database: Database) -> int:
    """The highest event id below which every event is committed (see the module's docstring)."""
    with database.engine.begin() as connection:
        return backend_for(database).newest_event_id(connection)


def follow_round(database: Database, policy: SignalPolicy, *, max_events: int = ROUND_EVENTS) -> FollowRound:
    """Evaluate the next events after the cursor (up to ``max_events`` ids) and move the cursor."""
    start = cursor_position(database)
    newest = newest_event_id(database)
    if newest <= start:
        return FollowRound(start, start, 0, [])
    upto = min(newest, start + max_events)
    with database.engine.connect() as connection:
        windows: dict[str, tuple[int, int | None]] = {account: (int(first), int(last)) for account, first, last in
                                                      connection.execute(
            select(access_event.c.account_id, func.min(access_event.c.time_ms), func.max(access_event.c.time_ms))
            .where(access_event.c.id > start, access_event.c.id <= upto)
            .group_by(access_event.c.account_id))}
    found = evaluate_accounts(database, windows, policy) if windows else []
    now = clock.now()
    with database.write_gate(), database.engine.begin() as connection:
        if start == 0 and cursor_position_in(connection) is None:
            connection.execute(insert(access_signal_cursor).values(name=CURSOR, last_event_id=0, updated_at=now))
        moved = connection.execute(update(access_signal_cursor).where(
            access_signal_cursor.c.name == CURSOR, access_signal_cursor.c.last_event_id == start)
            .values(last_event_id=upto, updated_at=now)).rowcount
        if not moved:  # another follower took this round: leave it to it
            connection.rollback()
            return FollowRound(start, start, 0, [])
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            raised = store_signals_with(cursor, backend_for(database), found)
        finally:
            cursor.close()
    return FollowRound(start, upto, len(windows), raised)


def cursor_position_in(connection: Connection) -> int | None:
    """The cursor as ``connection`` sees it (``None``: no row yet)."""
    value = connection.execute(select(access_signal_cursor.c.last_event_id)
                               .where(access_signal_cursor.c.name == CURSOR)).scalar_one_or_none()
    return None if value is None else int(value)


def catch_up(database: Database, policy: SignalPolicy, *, max_events: int = ROUND_EVENTS,
             progress: Callable[[FollowRound], None] | None = None) -> list[FollowRound]:
    """Run rounds until the cursor reaches the newest event."""
    rounds: list[FollowRound] = []
    while True:
        done = follow_round(database, policy, max_events=max_events)
        if not done.events:
            return rounds
        rounds.append(done)
        if progress is not None:
            progress(done)


class SignalFollower:
    """A daemon thread that follows the event log: a round as soon as the last one found events,
    else a pause of ``idle_seconds``. A failed round is logged (its exception class only) and
    retried after a second; the cursor has not moved."""

    def __init__(self, database: Database, policy: SignalPolicy, *, idle_seconds: float = 0.25,
                 max_events: int = ROUND_EVENTS, may_run: Callable[[], bool] | None = None) -> None:
        self.database = database
        self.may_run = may_run  # several nodes: rounds only on the one that leads the jobs
        self.policy = policy
        self.idle_seconds = idle_seconds
        self.max_events = max_events
        self.raised = 0
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cloudcip-signal-follower", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        import structlog

        log = structlog.get_logger("cloudcip.access")
        while not self._stop.is_set():
            if self.may_run is not None and not self.may_run():
                self._stop.wait(1.0)
                continue
            try:
                done = follow_round(self.database, self.policy, max_events=self.max_events)
            except Exception as exc:  # the thread must outlive a failed round; the cursor did not move
                log.warning("signal round failed", error=type(exc).__name__)
                self._stop.wait(1.0)
                continue
            self.rounds += 1
            self.raised += len(done.raised)
            if not done.events:
                self._stop.wait(self.idle_seconds)
