"""The SQLite back-end of the access capability (C1-C4, B1).

Writing: ``executemany`` on the raw sqlite3 connection, or (``ingest``, and a file import's worker
staging file) ``INSERT ... SELECT`` from staging tables in an attached database, so the one writer
at a time runs no Python per row; ``ON CONFLICT DO NOTHING`` on the dedupe key (account, time,
address and id); when fewer rows were stored than staged, the rollups are re-counted from the rows
actually added. A file import checkpoints the write-ahead log less often, and its workers read,
parse and stage spans of a plain file themselves, aggregating the rollups with SQL.

Reading: the 30-day periods (``bucket``) lead the event index, so every read names them (bounded by
the accounts' first and last access), and the rules' inputs are read set-based, one statement for
many accounts with the windows as a JSON array. Only one writer runs at a time (the database's write
gate), so the newest event id needs no lock.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, func, literal_column, select

from cloudcip.access.backends.base import SignalKey, SignalRow, Windows
from cloudcip.access.batch import ACCOUNT, PreparedBatch
from cloudcip.access.formats import parse_lines
from cloudcip.access.ipintel import IpIntel, default_intel
from cloudcip.access.schema import (
    ACCESS_TABLES,
    MAX_BUCKETS_LISTED,
    access_account_activity,
    access_event,
    bucket_of,
    buckets_between,
    sqlite_ddl,
)
from cloudcip.access.signals import Inputs, SignalAccess, SignalPolicy, access_of_row
from cloudcip.storage.database import SQLITE_WAL_AUTOCHECKPOINT_PAGES, Database
from cloudcip.storage.idlist import any_of
from cloudcip.storage.metadata import metadata

SQLITE_CACHE_KIB = 262_144  # page cache for the intake connection: index pages stay in memory
SQLITE_BATCH_LINES = 250_000  # lines per transaction of a file import on SQLite
STAGE_CHUNK_LINES = 50_000  # lines a worker parses and stages at a time
# During a file import SQLite checkpoints its write-ahead log every 100,000 pages (400 MiB) instead
# of every 10,000: the pages of the current period's index, rewritten by every batch, are then copied
# into the database once per many batches (the log is reset, not grown, after each checkpoint).
SQLITE_IMPORT_CHECKPOINT_PAGES = 100_000
SQLITE_DEFAULT_CHECKPOINT_PAGES = SQLITE_WAL_AUTOCHECKPOINT_PAGES  # what every connection has
MEMORY_STAGE = ":memory:"

_INSERT_EVENT_SQLITE = (
    "INSERT INTO access_event (event_id, account_id, principal, time_ms, ip, action, kind, user_agent, "
    "source, country) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
)
_STAGE_COLUMNS = "event_id, account_id, principal, time_ms, ip, action, kind, user_agent, source, country"
_INSERT_EVENT_FROM_STAGE = (
    "INSERT INTO main.access_event (event_id, account_id, principal, time_ms, ip, action, kind, user_agent, "
    "source, country) SELECT event_id, account_id, principal, time_ms, ip, action, kind, user_agent, source, "
    "country FROM stage.ev WHERE true ON CONFLICT DO NOTHING"
)
_UPSERT_SEEN_FROM_STAGE = (
    "INSERT INTO main.access_ip_seen (account_id, ip, first_seen_ms, last_seen_ms, count, country, asn, "
    "tor_exit, hosting) SELECT account_id, ip, first_seen_ms, last_seen_ms, count, country, asn, tor_exit, "
    "hosting FROM stage.seen WHERE true ON CONFLICT (account_id, ip) DO UPDATE SET "
    "first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), "
    "last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), count = count + excluded.count"
)
_UPSERT_ACTIVITY_FROM_STAGE = (
    "INSERT INTO main.access_account_activity (account_id, first_access_ms, last_access_ms, events) "
    "SELECT account_id, first_access_ms, last_access_ms, events FROM stage.act WHERE true "
    "ON CONFLICT (account_id) DO UPDATE SET "
    "first_access_ms = min(first_access_ms, excluded.first_access_ms), "
    "last_access_ms = max(last_access_ms, excluded.last_access_ms), events = events + excluded.events"
)
_UPSERT_SEEN_SQLITE = (
    "INSERT INTO access_ip_seen (account_id, ip, first_seen_ms, last_seen_ms, count, country, asn, "
    "tor_exit, hosting) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (account_id, ip) DO UPDATE SET "
    "first_seen_ms = min(first_seen_ms, excluded.first_seen_ms), "
    "last_seen_ms = max(last_seen_ms, excluded.last_seen_ms), count = count + excluded.count"
)
_UPSERT_ACTIVITY_SQLITE = (
    "INSERT INTO access_account_activity (account_id, first_access_ms, last_access_ms, events) "
    "VALUES (?,?,?,?) ON CONFLICT (account_id) DO UPDATE SET "
    "first_access_ms = min(first_access_ms, excluded.first_access_ms), "
    "last_access_ms = max(last_access_ms, excluded.last_access_ms), events = events + excluded.events"
)
_STORE_SIGNALS = (
    "INSERT INTO account_signal (id, account_id, kind, at, detail_json, state, dedupe_key) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "json_extract(value, '$[3]'), json_extract(value, '$[4]'), 'open', json_extract(value, '$[5]') "
    "FROM json_each(?) WHERE true ON CONFLICT (account_id, kind, dedupe_key) DO NOTHING "
    "RETURNING account_id, kind, dedupe_key")


def write_batch(raw: Any, batch: PreparedBatch, intel: IpIntel | None) -> int:
    """Insert through the sqlite3 connection ``raw`` (inside the caller's transaction)."""
    raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    before_id = raw.execute("SELECT max(id) FROM main.access_event").fetchone()[0] or 0
    before_changes = raw.total_changes
    if batch.stage_path is not None:
        raw.execute(_INSERT_EVENT_FROM_STAGE)
        inserted = int(raw.total_changes - before_changes)
        if inserted == batch.count:
            raw.execute(_UPSERT_SEEN_FROM_STAGE)
            raw.execute(_UPSERT_ACTIVITY_FROM_STAGE)
            return inserted
    else:
        raw.executemany(_INSERT_EVENT_SQLITE, batch.params)
        inserted = int(raw.total_changes - before_changes)
    seen_rows = batch.seen
    activity_rows = batch.activity
    if inserted != batch.count:
        # some events were stored before: the rollups count only the rows this batch added
        seen_rows = []
        for account, ip, first, last, count, code in raw.execute(
                "SELECT account_id, ip, min(time_ms), max(time_ms), count(*), max(country) FROM main.access_event "
                "WHERE id > ? GROUP BY account_id, ip", (before_id,)):
            facts = intel.facts(ip) if intel is not None else None
            seen_rows.append((account, ip, first, last, count, code, facts.asn if facts else None,
                              facts.tor_exit if facts else None, facts.hosting if facts else None))
        activity_rows = list(raw.execute(
            "SELECT account_id, min(time_ms), max(time_ms), count(*) FROM main.access_event "
            "WHERE id > ? GROUP BY account_id", (before_id,)))
    raw.executemany(_UPSERT_SEEN_SQLITE, seen_rows)
    raw.executemany(_UPSERT_ACTIVITY_SQLITE, activity_rows)
    return inserted


def ingest(database: Database, batch: PreparedBatch, intel: IpIntel | None) -> int:
    """SQLite: copy the batch into an in-memory database attached to the connection, before taking
    the write gate, then write it with three ``INSERT ... SELECT`` statements (what a file import
    does with a worker's staging file). The one writer at a time thus runs no Python per row: an
    ``executemany`` inside the gate binds every row under the interpreter lock, and a request
    parsing beside it in the same process (or the signal thread) stretched each write transaction."""
    with database.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        raw.execute("ATTACH DATABASE ? AS stage", (MEMORY_STAGE,))
        try:
            fill_stage(raw, "stage", batch)
            raw.commit()  # the staging transaction touched the in-memory database only
            staged = PreparedBatch(batch.params, batch.seen, batch.activity, batch.submitted, batch.count,
                                   stage_path=MEMORY_STAGE)
            with database.write_gate(), connection.begin():
                return write_batch(raw, staged, intel)
        finally:
            raw.rollback()  # nothing open normally; DETACH needs no transaction
            raw.execute("DETACH DATABASE stage")


# --------------------------------------------------------------------------------------------------
# Staging (the in-memory stage of ``ingest``; a file import's workers write a staging file)


def fill_stage(connection: Any, schema: str, batch: PreparedBatch) -> None:
    """Create the staging tables ``ev``, ``seen`` and ``act`` in ``schema`` of a sqlite3 connection
    and copy a prepared batch into them (the writer then copies them with ``INSERT ... SELECT``)."""
    if schema not in ("main", "stage"):
        raise ValueError("staging schema must be main or stage")
    connection.execute(f"CREATE TABLE {schema}.ev ({_STAGE_COLUMNS})")
    connection.execute(f"CREATE TABLE {schema}.seen (account_id, ip, first_seen_ms, last_seen_ms, count, country, "
                       "asn, tor_exit, hosting)")
    connection.execute(f"CREATE TABLE {schema}.act (account_id, first_access_ms, last_access_ms, events)")
    connection.executemany(f"INSERT INTO {schema}.ev VALUES (?,?,?,?,?,?,?,?,?,?)", batch.params)  # noqa: S608
    connection.executemany(f"INSERT INTO {schema}.seen VALUES (?,?,?,?,?,?,?,?,?)", batch.seen)  # noqa: S608
    connection.executemany(f"INSERT INTO {schema}.act VALUES (?,?,?,?)", batch.activity)  # noqa: S608


def stage_file(path: str, batch: PreparedBatch) -> None:
    stage = sqlite3.connect(path)
    try:
        stage.execute("PRAGMA journal_mode=OFF")
        stage.execute("PRAGMA synchronous=OFF")
        fill_stage(stage, "main", batch)
        stage.commit()
    finally:
        stage.close()


_STAGE_SEEN = (
    "CREATE TABLE seen AS SELECT g.account_id, g.ip, g.first_seen_ms, g.last_seen_ms, g.count, g.country, "
    "f.asn, f.tor_exit, f.hosting FROM (SELECT account_id, ip, min(time_ms) AS first_seen_ms, "
    "max(time_ms) AS last_seen_ms, count(*) AS count, max(country) AS country FROM ev "
    "GROUP BY account_id, ip) AS g LEFT JOIN facts AS f ON {join}"
)
_STAGE_ACT = (
    "CREATE TABLE act AS SELECT account_id, min(time_ms) AS first_access_ms, max(time_ms) AS last_access_ms, "
    "count(*) AS events FROM ev GROUP BY account_id"
)


def stage_span(path: str, start: int, lines: int, fmt: str, first_line: int, enrich: bool,
                stage_path: str) -> tuple[list[tuple[int, str]], PreparedBatch | None]:
    """Worker side (SQLite, plain files): read ``lines`` lines of ``path`` from byte ``start``, parse
    and stage them ``STAGE_CHUNK_LINES`` at a time, then aggregate the rollups in the staging file
    with SQL. Bad lines: every error of the span, and nothing staged."""
    intel = default_intel() if enrich else None
    country = intel.country if intel is not None else None
    errors: list[tuple[int, str]] = []
    staged = 0
    stage = sqlite3.connect(stage_path)
    try:
        stage.execute("PRAGMA journal_mode=OFF")
        stage.execute("PRAGMA synchronous=OFF")
        stage.execute(f"CREATE TABLE ev ({_STAGE_COLUMNS})")
        with open(path, "rb") as handle:
            handle.seek(start)
            remaining = lines
            line = first_line
            while remaining > 0:
                chunk = list(islice(handle, min(STAGE_CHUNK_LINES, remaining)))
                if not chunk:
                    break
                remaining -= len(chunk)
                rows, chunk_errors = parse_lines(chunk, fmt, first_line=line)
                line += len(chunk)
                if chunk_errors or errors:
                    errors.extend(chunk_errors)
                    continue
                rows.sort(key=ACCOUNT)  # rows of one account together: fewer index pages per chunk
                if country is None:
                    params: list[tuple[Any, ...]] = [(*row, None) for row in rows]
                else:
                    params = [(*row, country(row[4])) for row in rows]
                stage.executemany("INSERT INTO ev VALUES (?,?,?,?,?,?,?,?,?,?)", params)
                staged += len(params)
        if errors:
            return errors, None
        stage.execute("CREATE TABLE facts (ip PRIMARY KEY, asn, tor_exit, hosting) WITHOUT ROWID")
        join = "f.ip = g.ip"
        if intel is not None and intel.country_only:  # the same facts for every address: one row for all
            default = intel.facts(bytes(16))
            stage.execute("INSERT INTO facts VALUES (x'', ?, ?, ?)", (default.asn, default.tor_exit, default.hosting))
            join = "1"
        elif intel is not None:
            facts = [(ip, found.asn, found.tor_exit, found.hosting)
                     for (ip,) in stage.execute("SELECT DISTINCT ip FROM ev").fetchall()
                     for found in (intel.facts(ip),)]
            stage.executemany("INSERT INTO facts VALUES (?,?,?,?)", facts)
        stage.execute(_STAGE_SEEN.format(join=join))
        stage.execute(_STAGE_ACT)
        stage.commit()
    finally:
        stage.close()
    return [], PreparedBatch([], [], [], staged, staged, stage_path=stage_path)


def activity_spans(cursor: Any, accounts: list[str]) -> dict[str, tuple[int, int]]:
    """SQLite: first and last access of many accounts, 500 per query."""
    spans: dict[str, tuple[int, int]] = {}
    for start in range(0, len(accounts), 500):
        chunk = accounts[start:start + 500]
        markers = ",".join("?" * len(chunk))  # placeholders only: the ids are bound
        cursor.execute("SELECT account_id, first_access_ms, last_access_ms FROM access_account_activity "  # noqa: S608
                       f"WHERE account_id IN ({markers})", chunk)
        spans.update((account, (int(first), int(last))) for account, first, last in cursor.fetchall())
    return spans


# Set-based reads (SQLite): one statement for many accounts. Each names (account, time, period)
# triples in a JSON array, so the event index is sought once per triple by SQLite itself instead of
# once per account by a Python round trip.
_ACCESSES_SINCE_MANY = (
    "SELECT e.account_id, e.id, e.time_ms, e.country, e.kind, e.principal FROM json_each(?) AS j "
    "CROSS JOIN access_event AS e ON e.bucket = json_extract(j.value, '$[2]') "
    "AND e.account_id = json_extract(j.value, '$[0]') AND e.time_ms >= json_extract(j.value, '$[1]') "
    "AND e.time_ms <= json_extract(j.value, '$[3]')")
_PREVIOUS_ID_MANY = (
    "SELECT json_extract(j.value, '$[0]'), (SELECT e.id FROM access_event AS e "
    "WHERE e.bucket = json_extract(j.value, '$[2]') AND e.account_id = json_extract(j.value, '$[0]') "
    "AND e.time_ms < json_extract(j.value, '$[1]') AND e.country IS NOT NULL "
    "ORDER BY e.time_ms DESC, e.id DESC LIMIT 1) FROM json_each(?) AS j")
_NEXT_ID_MANY = (
    "SELECT json_extract(j.value, '$[0]'), (SELECT e.id FROM access_event AS e "
    "WHERE e.bucket = json_extract(j.value, '$[2]') AND e.account_id = json_extract(j.value, '$[0]') "
    "AND e.time_ms > json_extract(j.value, '$[1]') AND e.country IS NOT NULL "
    "ORDER BY e.time_ms, e.id LIMIT 1) FROM json_each(?) AS j")
_EVENTS_BY_ID = ("SELECT e.id, e.time_ms, e.country, e.kind, e.principal FROM json_each(?) AS j "
                 "CROSS JOIN access_event AS e ON e.id = j.value")
_KNOWN_ADMINS_MANY = (
    "SELECT DISTINCT e.account_id, e.principal FROM json_each(?) AS j "
    "CROSS JOIN access_event AS e ON e.bucket = json_extract(j.value, '$[2]') "
    "AND e.account_id = json_extract(j.value, '$[0]') AND e.time_ms < json_extract(j.value, '$[1]') "
    "AND e.kind = 'admin'")


def _seek_by_period(cursor: Any, statement: str, start: Mapping[str, tuple[int, int, int]],
                    step: int) -> dict[str, int]:
    """For each account (time, first period, last period): the row id the correlated ``statement``
    finds in the first period, else in the next one (``step`` -1: earlier; 1: later) up to the
    last, all the accounts in step: one statement per period."""
    found: dict[str, int] = {}
    period_of = {account: first for account, (_time, first, _last) in start.items()}
    while period_of:
        triples = [(account, start[account][0], period) for account, period in period_of.items()]
        for account, row_id in cursor.execute(statement, (orjson.dumps(triples).decode(),)).fetchall():
            if row_id is not None:
                found[account] = int(row_id)
                del period_of[account]
            elif (period_of[account] - start[account][2]) * step < 0:
                period_of[account] += step
            else:
                del period_of[account]
    return found


def signal_inputs(cursor: Any, windows: Mapping[str, tuple[int, int | None]],
                  spans: Mapping[str, tuple[int, int]], policy: SignalPolicy) -> dict[str, Inputs]:
    """The rules' inputs of many accounts at once (``Inputs``: the accesses, the located access just
    before, the principals that acted administratively before), for each account's
    window (since, until; until ``None``: its last access): the accesses in it, for every period it
    covers; the located access before it and (with an until) the one after it, searched period by
    period, all accounts in step; the known administrative principals over the periods before it."""
    windows = {account: window for account, window in windows.items() if account in spans}
    bounds = {account: (since, spans[account][1] if until is None else min(until, spans[account][1]))
              for account, (since, until) in windows.items()}
    quads = [(account, since, period, until) for account, (since, until) in bounds.items()
             for period in buckets_between(max(since, spans[account][0]), until)]
    accesses: dict[str, list[SignalAccess]] = {}
    for account, row_id, time_ms, country, kind, principal in cursor.execute(
            _ACCESSES_SINCE_MANY, (orjson.dumps(quads).decode(),)):
        accesses.setdefault(account, []).append(SignalAccess(int(row_id), int(time_ms), country, kind, principal))
    for rows in accesses.values():
        rows.sort(key=lambda access: (access.time_ms, access.row))
    # only impossible travel looks back (and forward): the latest period first, it is nearly always there
    located = [account for account, rows in accesses.items() if any(access.country for access in rows)]
    previous_ids = _seek_by_period(cursor, _PREVIOUS_ID_MANY, {
        account: (windows[account][0], bucket_of(windows[account][0]), bucket_of(spans[account][0]))
        for account in located}, -1)
    next_ids = _seek_by_period(cursor, _NEXT_ID_MANY, {
        account: (until, bucket_of(until), bucket_of(spans[account][1]))
        for account in located if (until := windows[account][1]) is not None and until < spans[account][1]}, 1)
    wanted = [*previous_ids.values(), *next_ids.values()]
    by_id = {int(row[0]): access_of_row(row) for row in cursor.execute(
        _EVENTS_BY_ID, (orjson.dumps(wanted).decode(),))} if wanted else {}
    for account, row_id in next_ids.items():
        accesses[account].append(by_id[row_id])
    known: dict[str, set[str]] = {}
    if policy.new_admin_principal:
        triples = [(account, windows[account][0], period) for account, rows in accesses.items()
                   if any(access.kind == "admin" for access in rows)
                   for period in buckets_between(spans[account][0], windows[account][0])]
        if triples:
            for account, principal in cursor.execute(_KNOWN_ADMINS_MANY, (orjson.dumps(triples).decode(),)):
                known.setdefault(account, set()).add(principal)
    return {account: (rows, by_id.get(previous_ids[account]) if account in previous_ids else None,
                      known.get(account, set()))
            for account, rows in accesses.items()}




# G3: many (account, address, window) triples counted in one statement per chunk, the window's periods
# spelled out so the event index is sought on (period, account, time) by SQLite itself
_WINDOW_COUNTS = (
    "WITH c(k, b, a, ip, lo, hi) AS (VALUES {rows}) "
    "SELECT c.k, min(e.time_ms), max(e.time_ms), count(*) FROM c CROSS JOIN access_event AS e "
    "ON e.bucket = c.b AND e.account_id = c.a AND e.time_ms >= c.lo AND e.time_ms <= c.hi AND e.ip = c.ip "
    "GROUP BY c.k")
WINDOW_COUNTS_CHUNK = 5_000  # rows of six parameters: under SQLite's 32,766 bound parameters


def window_counts(connection: Connection,
                  pairs: Sequence[tuple[int, str, bytes, int, int]]) -> dict[int, tuple[int, int, int]]:
    """SQLite: each pair once per 30-day period of its window, counted by chunks of rows."""
    rows = [(key, period, account, ip, low, high) for key, account, ip, low, high in pairs
            for period in buckets_between(low, high)]
    found: dict[int, tuple[int, int, int]] = {}
    for start in range(0, len(rows), WINDOW_COUNTS_CHUNK):
        chunk = rows[start:start + WINDOW_COUNTS_CHUNK]
        statement = _WINDOW_COUNTS.format(rows=",".join(["(?,?,?,?,?,?)"] * len(chunk)))  # placeholders only
        params = tuple(value for row in chunk for value in row)
        for key, first, last, count in connection.exec_driver_sql(statement, params):
            if key in found:  # the same pair's other periods, in an earlier chunk
                before = found[key]
                first, last, count = min(first, before[0]), max(last, before[1]), count + before[2]
            found[int(key)] = (int(first), int(last), int(count))
    return found


class SqliteAccessBackend:
    """The access capability on SQLite (see the module's docstring)."""

    name = "sqlite"
    import_batch_lines = SQLITE_BATCH_LINES

    def create_schema(self, connection: Connection) -> None:
        metadata.create_all(connection, tables=list(ACCESS_TABLES))
        for statement in sqlite_ddl():
            connection.exec_driver_sql(statement)

    def write_batch(self, raw: Any, batch: PreparedBatch, intel: IpIntel | None) -> int:
        return write_batch(raw, batch, intel)

    def ingest(self, database: Database, batch: PreparedBatch, intel: IpIntel | None) -> int:
        return ingest(database, batch, intel)

    @contextmanager
    def import_session(self, raw: Any, batch: PreparedBatch) -> Iterator[None]:
        """A long import checkpoints the write-ahead log less often (reset after); a worker's staging
        file is attached before the transaction (SQLite attaches only outside one) and removed after."""
        raw.execute(f"PRAGMA wal_autocheckpoint={SQLITE_IMPORT_CHECKPOINT_PAGES}")
        if batch.stage_path is not None:
            raw.execute("ATTACH DATABASE ? AS stage", (batch.stage_path,))
        try:
            yield
        finally:
            if batch.stage_path is not None:
                raw.execute("DETACH DATABASE stage")
                os.unlink(batch.stage_path)
            raw.execute(f"PRAGMA wal_autocheckpoint={SQLITE_DEFAULT_CHECKPOINT_PAGES}")  # as it came

    def handover(self, batch: PreparedBatch, plain_text: bool, stage_path: str) -> PreparedBatch:
        stage_file(stage_path, batch)
        return PreparedBatch([], [], [], batch.submitted, batch.count, stage_path=stage_path)

    def stages_spans(self) -> bool:
        return True

    def stage_span(self, path: str, start: int, lines: int, fmt: str, first_line: int, enrich: bool,
                   stage_path: str) -> tuple[list[tuple[int, str]], PreparedBatch | None]:
        return stage_span(path, start, lines, fmt, first_line, enrich, stage_path)

    def newest_event_id(self, connection: Connection) -> int:
        """One writer at a time (the write gate): every id below the newest is committed."""
        return int(connection.execute(select(func.max(access_event.c.id))).scalar_one_or_none() or 0)

    def store_signals(self, cursor: Any, rows: Sequence[SignalRow]) -> set[SignalKey]:
        """The rows as one JSON array; times in the text form SQLAlchemy gives a DateTime on SQLite
        (UTC, no offset)."""
        text = [(row_id, account, kind, f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}", detail, key)
                for row_id, account, kind, at, detail, key in rows]
        cursor.execute(_STORE_SIGNALS, (orjson.dumps(text).decode(),))
        return {(account, kind, key) for account, kind, key in cursor.fetchall()}

    def signal_inputs(self, cursor: Any, windows: Windows, policy: SignalPolicy) -> dict[str, Inputs]:
        """An account without an activity row has no access stored (a purge raced the batch)."""
        return signal_inputs(cursor, windows, activity_spans(cursor, sorted(windows)), policy)

    def period_condition(self, low_ms: int, high_ms: int) -> ColumnElement[bool] | None:
        periods = buckets_between(low_ms, high_ms)
        if len(periods) > MAX_BUCKETS_LISTED:
            return None
        return literal_column("bucket").in_(periods)

    def activity_span(self, connection: Connection, account_ids: Sequence[str]) -> tuple[int, int] | None:
        activity = access_account_activity.c
        span = connection.execute(select(func.min(activity.first_access_ms), func.max(activity.last_access_ms))
                                  .where(any_of(activity.account_id, account_ids))).first()
        return None if span is None or span[0] is None else (int(span[0]), int(span[1]))

    def window_counts(self, connection: Connection,
                      pairs: Sequence[tuple[int, str, bytes, int, int]]) -> dict[int, tuple[int, int, int]]:
        return window_counts(connection, pairs)
