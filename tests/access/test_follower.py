"""The signal follower (C4): signals raised from the stored events in id order, whatever wrote
them; the cursor and the signals move in one transaction, so a failed round raises them later and a
repeated one raises nothing new; on PostgreSQL, a transaction adding events holds the lock under
which the follower reads the newest id."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from cloudcip.access import follower as follower_module
from cloudcip.access.backends.postgresql import EVENTS_LOCK_KEY
from cloudcip.access.events import AccessEvent
from cloudcip.access.follower import (
    SignalFollower,
    catch_up,
    cursor_position,
    follow_round,
    newest_event_id,
)
from cloudcip.access.schema import access_signal_cursor
from cloudcip.access.signals import (
    IMPOSSIBLE_TRAVEL,
    INCONSISTENT_COUNTRY,
    NEW_ADMIN_PRINCIPAL,
    SPECIAL_MEASURE,
    SignalPolicy,
    account_signals,
)
from cloudcip.access.store import ingest
from cloudcip.storage.database import Database

T0 = datetime(2026, 5, 1, tzinfo=UTC)
POLICY = SignalPolicy(special_measure_countries={"AU"}, identity_countries=lambda _a: {"US"})
EXPECTED = sorted([SPECIAL_MEASURE, INCONSISTENT_COUNTRY, IMPOSSIBLE_TRAVEL, IMPOSSIBLE_TRAVEL, NEW_ADMIN_PRINCIPAL])


def ev(n: int, minutes: float, ip: str, kind: str = "access", principal: str = "p",
       account: str = "acct") -> AccessEvent:
    return AccessEvent(account_id=account, principal=principal, time=T0 + timedelta(minutes=minutes),
                       ip=ipaddress.ip_address(ip), action="x", kind=kind, id=f"f-{n}")  # type: ignore[arg-type]


FIRST = [ev(1, 0, "8.8.8.8", "admin", "root"), ev(2, 1, "8.8.8.8")]
SECOND = [ev(3, 30, "1.1.1.1"), ev(4, 40, "8.8.8.8", "admin", "newcomer")]  # AU (a measure), back to US


def kinds(database: Database, account: str = "acct") -> list[str]:
    return sorted(s.kind for s in account_signals(database, account))


def test_rounds_follow_the_events_and_move_the_cursor(db: Database) -> None:
    ingest(db, FIRST)
    assert cursor_position(db) == 0
    first = follow_round(db, POLICY)
    assert (first.events, first.accounts, first.raised) == (2, 1, [])
    assert cursor_position(db) == newest_event_id(db) == 2
    ingest(db, SECOND)
    ingest(db, [ev(5, 50, "8.8.8.8", account="other")])
    second = follow_round(db, POLICY)
    assert (second.from_id, second.to_id, second.accounts) == (2, 5, 2)
    assert sorted(s.kind for s in second.raised if s.account_id == "acct") == EXPECTED
    assert kinds(db) == EXPECTED and kinds(db, "other") == []
    assert follow_round(db, POLICY).events == 0  # caught up: nothing read, nothing raised
    ingest(db, SECOND)  # a redelivery stores nothing: no event, no round
    assert follow_round(db, POLICY).events == 0 and kinds(db) == EXPECTED


def test_small_rounds_raise_what_one_round_raises(db: Database) -> None:
    ingest(db, FIRST + SECOND)
    rounds = catch_up(db, POLICY, max_events=1)
    assert [r.events for r in rounds] == [1, 1, 1, 1]
    assert kinds(db) == EXPECTED


def test_a_failed_round_moves_nothing_and_is_raised_later(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(db, FIRST + SECOND)

    def broken(*_args: object) -> list[object]:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(follower_module, "store_signals_with", broken)
    with pytest.raises(RuntimeError):
        follow_round(db, POLICY)
    assert cursor_position(db) == 0 and kinds(db) == []
    monkeypatch.undo()
    assert follow_round(db, POLICY).events == 4
    assert kinds(db) == EXPECTED


def test_a_stale_follower_yields_its_round(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two followers on one database: the one whose cursor moved under it stores nothing."""
    ingest(db, FIRST + SECOND)
    follow_round(db, POLICY, max_events=2)
    monkeypatch.setattr(follower_module, "cursor_position", lambda _database: 0)  # read before the other moved
    stale = follow_round(db, POLICY)
    assert stale.events == 0 and stale.raised == []
    monkeypatch.undo()
    with db.engine.connect() as connection:
        assert connection.execute(select(access_signal_cursor.c.last_event_id)).scalar_one() == 2
    assert follow_round(db, POLICY).events == 2 and kinds(db) == EXPECTED


def test_the_follower_thread_raises_signals(db: Database) -> None:
    follower = SignalFollower(db, POLICY, idle_seconds=0.05)
    follower.start()
    try:
        ingest(db, FIRST + SECOND)
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while cursor_position(db) < 4 and datetime.now(UTC) < deadline:
            follower._stop.wait(0.05)
    finally:
        follower.stop()
    assert cursor_position(db) == 4 and kinds(db) == EXPECTED and follower.raised == len(EXPECTED)


def test_postgres_intake_holds_the_lock_the_follower_reads_under(postgres_db: Database) -> None:
    """An uncommitted transaction adding events holds the shared lock: the follower's exclusive
    lock (under which it reads the newest id) cannot be had until it ends."""
    from cloudcip.access.batch import prepare_rows
    from cloudcip.access.ipintel import default_intel
    from cloudcip.access.store import write_batch

    # the lock modes the writer's own session holds on the key (pg_locks: a bigint key is split into
    # classid, its high half, and objid, its low half): asked of the writer's session rather than
    # tried, since tests running beside this one on the same database take the lock too
    held = ("SELECT array_agg(mode ORDER BY mode) FROM pg_locks WHERE locktype = 'advisory' AND pid = {pid}"
            f" AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = {EVENTS_LOCK_KEY}")
    with postgres_db.engine.connect() as writer:
        pid = writer.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        writer.commit()
        transaction = writer.begin()
        write_batch(writer, postgres_db, prepare_rows([e.to_row() for e in FIRST], default_intel()), default_intel())
        with postgres_db.engine.connect() as other:
            assert other.exec_driver_sql(f"SELECT pg_try_advisory_lock({EVENTS_LOCK_KEY})").scalar() is False
            assert other.exec_driver_sql(held.format(pid=pid)).scalar() == ["ShareLock"]
        transaction.commit()
        with postgres_db.engine.connect() as other:
            assert other.exec_driver_sql(held.format(pid=pid)).scalar() is None  # released with the commit
    assert newest_event_id(postgres_db) >= 2


def test_migration_0010_starts_the_cursor_after_the_stored_events(tmp_path: object) -> None:
    """Events stored before 0010 were evaluated at intake: the follower starts after them."""
    from cloudcip.storage.database import open_database
    from cloudcip.storage.migrate import upgrade

    database = open_database(f"sqlite:///{tmp_path}/old.db")
    upgrade(database, "0009")
    ingest(database, FIRST + SECOND)
    upgrade(database)
    assert cursor_position(database) == 4
    assert follow_round(database, POLICY).events == 0 and kinds(database) == []
    ingest(database, [ev(9, 60, "1.1.1.1")])
    assert follow_round(database, POLICY).events == 1  # only the new event, against the one before it
    assert kinds(database) == sorted([SPECIAL_MEASURE, INCONSISTENT_COUNTRY, IMPOSSIBLE_TRAVEL])
    database.dispose()


def test_a_late_event_is_paired_with_the_accesses_on_both_sides(db: Database) -> None:
    """An event stored late, between two stored accesses: the round that reads it evaluates the
    pair before it and the pair after it (its window ends at its own time)."""
    ingest(db, [ev(1, 0, "8.8.8.8"), ev(2, 20, "8.8.8.8"), ev(3, 600, "8.8.8.8")])  # US, US, US
    assert catch_up(db, POLICY) and kinds(db) == []
    ingest(db, [ev(4, 10, "81.2.69.160")])  # GB, ten minutes after the first and before the second
    late = follow_round(db, POLICY)
    assert late.events == 1
    travel = sorted((s.detail["from_event_row"], s.detail["to_event_row"]) for s in late.raised
                    if s.kind == IMPOSSIBLE_TRAVEL)
    assert travel == [(1, 4), (4, 2)]
