"""The SQLite event index led by the 30-day period (C1, C3; migration 0009): reads seek it instead of
scanning the table, windows across periods answer exactly, paging crosses periods, the dedupe key is
the event's account, time, address and id, and the importer's line spans cover a file exactly."""

from __future__ import annotations

import io
import json
import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from tests.access.signal_reference import _inputs_for_account

from cloudcip.access.backends import backend_for
from cloudcip.access.backends.sqlite import activity_spans
from cloudcip.access.events import format_time_ms, ms_to_datetime
from cloudcip.access.formats import parse_rows
from cloudcip.access.importer import import_file, line_spans
from cloudcip.access.queries import account_events, account_ips, accounts_from
from cloudcip.access.retention import delete_access_history
from cloudcip.access.schema import BUCKET_MS, access_event, bucket_of, buckets_between
from cloudcip.access.signals import SignalPolicy, raise_signals_for_accounts
from cloudcip.access.store import ingest
from cloudcip.storage.database import Database, open_database

BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000


def _line(n: int, account: str, when: int, ip: str, *, kind: str = "access") -> str:
    return json.dumps({"id": f"p-{n}", "account_id": account, "principal": f"user-{n % 2}",
                       "time": format_time_ms(when), "ip": ip, "action": "api.call", "kind": kind})


def _spread(database: Database) -> list[tuple[str, int, str]]:
    """120 days of events of three accounts (five periods), two addresses each."""
    events = []
    lines = []
    for n in range(360):
        account = f"acct-{n % 3}"
        when = BASE_MS + (n // 3) * DAY + (n % 3) * 1000
        ip = f"203.0.113.{n % 3 * 10 + n % 2}"
        events.append((account, when, ip))
        lines.append(_line(n, account, when, ip, kind="admin" if n % 50 == 0 else "access"))
    ingest(database, parse_rows("\n".join(lines)))
    return events


def test_buckets_follow_sqlite_integer_division() -> None:
    assert bucket_of(0) == 0
    assert bucket_of(BUCKET_MS - 1) == 0
    assert bucket_of(BUCKET_MS) == 1
    assert buckets_between(BUCKET_MS - 1, 2 * BUCKET_MS) == [0, 1, 2]
    assert buckets_between(5, 4) == []
    with sqlite3.connect(":memory:") as connection:
        for value in (0, 1, BUCKET_MS - 1, BUCKET_MS, BASE_MS, BASE_MS + 123_456_789):
            assert connection.execute(f"SELECT ? / {BUCKET_MS}", (value,)).fetchone()[0] == bucket_of(value)


def test_windows_across_periods_are_exact(db: Database) -> None:
    events = _spread(db)
    low, high = BASE_MS + 17 * DAY + 500, BASE_MS + 95 * DAY
    assert len(buckets_between(low, high)) >= 3
    start, end = ms_to_datetime(low), ms_to_datetime(high)
    for account in ("acct-0", "acct-1", "acct-2"):
        expected: dict[str, list[int]] = {}
        for who, when, ip in events:
            if who == account and low <= when <= high:
                expected.setdefault(ip, []).append(when)
        got = {str(item.ip): (item.count, item.first_seen, item.last_seen)
               for item in account_ips(db, account, start, end)}
        assert got == {ip: (len(times), ms_to_datetime(min(times)), ms_to_datetime(max(times)))
                       for ip, times in expected.items()}
    seen = accounts_from(db, "203.0.113.0/24", start, end)
    expected_pairs = {(who, ip): 0 for who, when, ip in events if low <= when <= high}
    for who, when, ip in events:
        if low <= when <= high:
            expected_pairs[(who, ip)] += 1
    assert {(item.account_id, str(item.ip)): item.count for item in seen} == expected_pairs


def test_paging_crosses_periods_once_each(db: Database) -> None:
    events = _spread(db)
    low, high = BASE_MS + 10 * DAY, BASE_MS + 100 * DAY
    expected = sorted(when for who, when, _ip in events if who == "acct-1" and low <= when <= high)
    collected: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = account_events(db, "acct-1", ms_to_datetime(low), ms_to_datetime(high), limit=7, cursor=cursor)
        collected.extend(stored.event.time_ms for stored in page.events)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert collected == expected
    assert pages == -(-len(expected) // 7)


def test_dedupe_key_is_account_time_address_and_id(db: Database) -> None:
    original = _line(1, "acct-a", BASE_MS, "198.51.100.7")
    assert ingest(db, parse_rows(original)).accepted == 1
    assert ingest(db, parse_rows(original)).duplicates == 1  # redelivery
    assert ingest(db, parse_rows(original + "\n" + original)).duplicates == 2  # repeated in a batch
    with db.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(access_event)).scalar_one() == 1


def _plans_of_statements(database: Database, run: object) -> list[str]:
    """Run ``run()`` and return SQLite's query plan of every statement it sent about access_event."""
    statements: list[str] = []
    database.engine.dispose()

    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(statements.append)

    event.listen(database.engine, "connect", trace)
    try:
        run()  # type: ignore[operator]
    finally:
        event.remove(database.engine, "connect", trace)
        database.engine.dispose()
    plans = []
    with database.engine.connect() as connection:
        for statement in statements:
            upper = statement.lstrip().upper()
            if "ACCESS_EVENT " not in upper + " " or not upper.startswith(("SELECT", "DELETE")):
                continue
            detail = " | ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement))
            plans.append(detail)
    return plans


def test_sqlite_reads_seek_the_period_index(sqlite_db: Database) -> None:
    _spread(sqlite_db)
    _located(sqlite_db, random.Random(5))
    low, high = ms_to_datetime(BASE_MS + 20 * DAY), ms_to_datetime(BASE_MS + 90 * DAY)
    policy = SignalPolicy(new_admin_principal=True)

    def reads() -> None:
        account_ips(sqlite_db, "acct-0", low, high)
        account_events(sqlite_db, "acct-0", low, high, limit=5)
        accounts_from(sqlite_db, "203.0.113.0/24", low, high)
        raise_signals_for_accounts(sqlite_db, {"acct-0": BASE_MS + 60 * DAY, "geo-1": BASE_MS + 70 * DAY,
                                               "geo-2": BASE_MS + 100 * DAY}, policy)

    plans = _plans_of_statements(sqlite_db, reads)
    assert len(plans) >= 7
    assert any("USING INTEGER PRIMARY KEY" in plan for plan in plans)  # the previous accesses, by row id
    for plan in plans:
        assert "uq_access_event_period_account" in plan or "SEARCH e USING INTEGER PRIMARY KEY" in plan, plan
        assert "SCAN access_event" not in plan and "SCAN e" not in plan, plan


GEO_ADDRESSES = ["8.8.8.8", "1.1.1.1", "193.0.6.139", "200.160.2.3", "196.216.2.6", "2001:67c:2e8::1",
                 "81.2.69.142", "203.0.113.9"]  # US AU NL BR ZA NL GB and one without a country


def _located(database: Database, rng: random.Random) -> None:
    """Four accounts over five periods, arriving in three shuffled batches: countries, admins,
    events at the same millisecond, gaps of more than a period."""
    lines = []
    for n in range(400):
        account = f"geo-{n % 4}"
        when = BASE_MS + rng.randrange(150) * DAY // (1 if n % 4 else 3) + rng.choice([0, 0, 7, rng.randrange(DAY)])
        kind = "admin" if rng.random() < 0.15 else "access"
        lines.append(json.dumps({"id": f"g-{n}", "account_id": account, "principal": f"root-{rng.randrange(4)}",
                                 "time": format_time_ms(when), "ip": rng.choice(GEO_ADDRESSES),
                                 "action": "api.call", "kind": kind}))
    rng.shuffle(lines)
    for start in range(0, len(lines), 140):
        ingest(database, parse_rows("\n".join(lines[start:start + 140])))


def test_set_based_signal_inputs_equal_the_per_account_reads(sqlite_db: Database) -> None:
    """C4: the rules' inputs read for many accounts at once (SQLite) are, account by account, what
    the per-account reads give: accesses in the window (and the next located one after it),
    previous located access, known admin principals."""
    rng = random.Random(11)
    _located(sqlite_db, rng)
    policy = SignalPolicy(new_admin_principal=True)
    accounts = ["geo-0", "geo-1", "geo-2", "geo-3", "nobody"]
    with sqlite_db.engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        spans = activity_spans(cursor, accounts)
        assert set(spans) == set(accounts) - {"nobody"}
        compared = 0
        for _round in range(40):
            windows: dict[str, tuple[int, int | None]] = {}
            for account in accounts:
                since = BASE_MS + rng.randrange(-10, 160) * DAY + rng.randrange(DAY)
                windows[account] = (since, None if rng.random() < 0.4 else since + rng.randrange(0, 60) * DAY)
            many = backend_for(sqlite_db).signal_inputs(cursor, windows, policy)
            for account in accounts:
                since, until = windows[account]
                one = (_inputs_for_account(cursor, "?", account, since, policy, spans[account], until_ms=until)
                       if account in spans else None)
                assert many.get(account) == one, (account, windows[account])
                compared += one is not None and one[1] is not None and bool(one[2])
        assert compared > 10  # the rounds did find previous accesses and known admins


def test_set_based_signal_inputs_on_postgres_equal_the_per_account_reads(postgres_db: Database) -> None:
    """C4: the same on PostgreSQL: four statements for all the accounts (arrays, LATERAL joins)
    give, account by account, what the per-account reads give."""
    rng = random.Random(12)
    _located(postgres_db, rng)
    policy = SignalPolicy(new_admin_principal=True)
    accounts = ["geo-0", "geo-1", "geo-2", "geo-3", "nobody"]
    with postgres_db.engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        compared = 0
        for _round in range(25):
            windows: dict[str, tuple[int, int | None]] = {}
            for account in accounts:
                since = BASE_MS + rng.randrange(-10, 160) * DAY + rng.randrange(DAY)
                windows[account] = (since, None if rng.random() < 0.4 else since + rng.randrange(0, 60) * DAY)
            many = backend_for(postgres_db).signal_inputs(cursor, windows, policy)
            for account in accounts:
                since, until = windows[account]
                one = _inputs_for_account(cursor, "%s", account, since, policy, until_ms=until)
                assert many.get(account) == one, (account, windows[account])
                compared += one is not None and one[1] is not None and bool(one[2])
        assert compared > 5


def test_purge_by_period_removes_every_event_of_the_account(sqlite_db: Database) -> None:
    _spread(sqlite_db)
    with sqlite_db.engine.begin() as connection:
        assert delete_access_history(connection, ["acct-2"]) == 120
    with sqlite_db.engine.connect() as connection:
        left = dict(connection.execute(select(access_event.c.account_id, func.count())
                                       .group_by(access_event.c.account_id)).all())
    assert left == {"acct-0": 120, "acct-1": 120}


def test_line_spans_cover_the_file_exactly() -> None:
    for text_body in (b"a\nb\n\nc\nd\ne\n", b"a\nb\n\nc\nd\ne", b"", b"only", b"\n\n\n"):
        lines = text_body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for size in (1, 2, 4, 100):
            spans = list(line_spans(io.BytesIO(text_body), 0, size))
            assert sum(count for _s, _e, count in spans) == len(lines)
            position = 0
            for start, end, count in spans:
                assert start == position
                assert text_body[start:end].count(b"\n") + (0 if text_body[start:end].endswith(b"\n") or
                                                             not text_body[start:end] else 1) == count
                position = end
            assert position == len(text_body)


def test_span_import_reports_line_numbers_and_counts(sqlite_db: Database, tmp_path: Path) -> None:
    """Several spans per file through the workers: blank lines count as lines, the last line may
    lack its newline, and a bad line is reported with its number."""
    lines = [_line(n, f"acct-{n % 4}", BASE_MS + n * 60_000, "192.0.2.1") for n in range(900)]
    lines.insert(300, "")
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(lines))  # no newline at the end
    result = import_file(sqlite_db, good, "jsonl", batch_size=250, parse_workers=2)
    assert (result.lines, result.accepted, result.duplicates) == (901, 900, 0)
    bad_lines = list(lines)
    bad_lines[700] = '{"account_id": "x"}'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(bad_lines) + "\n")
    from cloudcip.access.events import AccessBatchError

    with pytest.raises(AccessBatchError) as failure:
        import_file(sqlite_db, bad, "jsonl", batch_size=250, parse_workers=2)
    assert [number for number, _reason in failure.value.errors] == [701]
    with sqlite_db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM access_event")).scalar_one() == 900


def test_migration_0009_keeps_events_and_changes_the_key(tmp_path: Path) -> None:
    """A database at 0007 (account index, unique event id) upgrades in place: every row stays, the
    period index serves, and redelivery still dedupes."""
    from cloudcip.storage.migrate import upgrade

    database = open_database(f"sqlite:///{tmp_path}/old.db")
    upgrade(database, "0007")
    rows = parse_rows("\n".join([_line(n, "acct-old", BASE_MS + n * DAY, "192.0.2.9") for n in range(40)]
                                + [json.dumps({"account_id": "acct-old", "principal": "p", "action": "a",
                                               "kind": "access", "ip": "192.0.2.9",
                                               "time": format_time_ms(BASE_MS)})] * 2))
    with database.engine.begin() as connection:
        for row in rows:
            connection.execute(access_event.insert().values(
                event_id=row[0], account_id=row[1], principal=row[2], time_ms=row[3], ip=row[4], action=row[5],
                kind=row[6]))
    upgrade(database)
    with database.engine.connect() as connection:
        indexes = {name for (name,) in connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'access_event'")}
        assert connection.execute(text("SELECT count(*) FROM access_event")).scalar_one() == 42
    assert "uq_access_event_period_account" in indexes
    assert not {"ix_access_event_account_time", "uq_access_event_event_id"} & indexes
    assert ingest(database, rows[:40]).duplicates == 40
    start = datetime.fromtimestamp(BASE_MS / 1000).astimezone() - timedelta(days=1)
    assert len(account_events(database, "acct-old", start, None, limit=100).events) == 42
    database.dispose()
