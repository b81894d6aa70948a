"""Storing access events at a provider's volume (C1, C2, C4): ``ingest`` and ``import_file``.

- ``ingest`` writes one batch in one transaction, idempotent on the event ``id``: redelivered
  events are counted as duplicates and change nothing. The per-account-per-IP rollup
  (``access_ip_seen``) and the account's first/last access (``access_account_activity``) are kept in
  the same transaction. Each address is enriched offline (country, ASN, Tor, hosting) at intake.
  SQLite: ``executemany`` on the raw DBAPI connection; PostgreSQL: ``COPY`` into a temporary staging
  table, then one ``INSERT ... ON CONFLICT DO NOTHING`` whose returned rows feed the rollups.
- ``import_file`` streams a file (plain or gzip; JSON lines, or a JSON array / ``Records`` document)
  in batches. Each batch commits together with the file's progress (sha256, committed line and
  byte offset) in ``access_import_progress``, so a killed import resumes after its last commit:
  nothing lost, nothing doubled, even for events without ids. A batch with a bad line is refused
  whole; the import stops there (earlier batches stay committed and recorded), the rest of the file
  is still read to list every error, and ``AccessBatchError`` carries them all.
- For large JSON-lines files a worker process parses, validates, enriches and aggregates each batch
  and hands it over in the cheapest form for the writer: a staging SQLite file that the writer
  ATTACHes and copies with ``INSERT ... SELECT`` (SQLite), or COPY text (PostgreSQL). The writer
  thus does no per-row Python work; batches still commit strictly in file order. On SQLite, for a
  plain (not gzip) file, the importer only finds where each batch of lines starts and ends; the
  worker reads those bytes itself, stages them in chunks and aggregates the rollups with SQL, so
  neither process holds a whole batch in memory. A batch (one transaction) is
  ``SQLITE_BATCH_LINES`` lines there: the fewer commits, the fewer index pages written per event.
- Repeats are left to the database: ``ON CONFLICT DO NOTHING`` on the dedupe key (SQLite: account,
  time, address and id; PostgreSQL: id and time); when fewer rows were stored than staged, the
  rollups are re-counted from the rows actually added.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, insert, select, update

from cloudcip import clock
from cloudcip.access.events import AccessBatchError, AccessEvent, EventRow
from cloudcip.access.formats import (
    MAX_ERRORS,
    file_is_document,
    iter_document_records,
    open_event_stream,
    parse_lines,
    parse_records,
    row_parser,
)
from cloudcip.access.ipintel import IpIntel, default_intel
from cloudcip.access.schema import access_import_progress, month_of_ms, partition_ddl, partition_name
from cloudcip.storage.database import SQLITE_WAL_AUTOCHECKPOINT_PAGES, Database

EVENTS_LOCK_KEY = 0x63_69_70_5F_65_76_74  # PostgreSQL advisory lock of the transactions adding events
SQLITE_CACHE_KIB = 262_144  # page cache for the intake connection: index pages stay in memory
SQLITE_BATCH_LINES = 250_000  # lines per transaction of a file import on SQLite
POSTGRES_BATCH_LINES = 50_000  # lines per transaction of a file import on PostgreSQL
STAGE_CHUNK_LINES = 50_000  # lines a worker parses and stages at a time
# During a file import SQLite checkpoints its write-ahead log every 100,000 pages (400 MiB) instead
# of every 10,000: the pages of the current period's index, rewritten by every batch, are then copied
# into the database once per many batches (the log is reset, not grown, after each checkpoint).
SQLITE_IMPORT_CHECKPOINT_PAGES = 100_000
SQLITE_DEFAULT_CHECKPOINT_PAGES = SQLITE_WAL_AUTOCHECKPOINT_PAGES  # what every connection has

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

_PG_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS access_event_stage (
    event_id VARCHAR(128), account_id VARCHAR(128), principal VARCHAR(256), time_ms BIGINT,
    ip BYTEA, action VARCHAR(128), kind VARCHAR(8), user_agent TEXT, source VARCHAR(64),
    country VARCHAR(2)
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS access_ip_facts_stage (
    ip BYTEA PRIMARY KEY, country VARCHAR(2), asn BIGINT, tor_exit BOOLEAN, hosting BOOLEAN
) ON COMMIT DELETE ROWS
"""
_PG_MERGE = """
WITH ins AS (
    INSERT INTO access_event (event_id, account_id, principal, time_ms, ip, action, kind, user_agent,
                              source, country)
    SELECT event_id, account_id, principal, time_ms, ip, action, kind, user_agent, source, country
    FROM access_event_stage
    ON CONFLICT (event_id, time_ms) DO NOTHING
    RETURNING account_id, ip, time_ms
), seen AS (
    INSERT INTO access_ip_seen (account_id, ip, first_seen_ms, last_seen_ms, count, country, asn,
                                tor_exit, hosting)
    SELECT i.account_id, i.ip, min(i.time_ms), max(i.time_ms), count(*), max(f.country), max(f.asn),
           bool_or(f.tor_exit), bool_or(f.hosting)
    FROM ins i LEFT JOIN access_ip_facts_stage f ON f.ip = i.ip
    GROUP BY i.account_id, i.ip
    ORDER BY i.account_id, i.ip
    ON CONFLICT (account_id, ip) DO UPDATE SET
        first_seen_ms = LEAST(access_ip_seen.first_seen_ms, EXCLUDED.first_seen_ms),
        last_seen_ms = GREATEST(access_ip_seen.last_seen_ms, EXCLUDED.last_seen_ms),
        count = access_ip_seen.count + EXCLUDED.count
    RETURNING 1
), act AS (
    INSERT INTO access_account_activity (account_id, first_access_ms, last_access_ms, events)
    SELECT account_id, min(time_ms), max(time_ms), count(*) FROM ins
    GROUP BY account_id ORDER BY account_id
    ON CONFLICT (account_id) DO UPDATE SET
        first_access_ms = LEAST(access_account_activity.first_access_ms, EXCLUDED.first_access_ms),
        last_access_ms = GREATEST(access_account_activity.last_access_ms, EXCLUDED.last_access_ms),
        events = access_account_activity.events + EXCLUDED.events
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM seen), (SELECT count(*) FROM act)
"""


class _Default:
    pass


DEFAULT_ENRICHMENT: Any = _Default()


@dataclass(frozen=True)
class IngestResult:
    """How many events of a batch were stored, and how many were already there (or repeated)."""

    accepted: int
    duplicates: int


@dataclass(frozen=True)
class ImportProgress:
    """Where an import stands: lines (or records) committed, events stored, bytes read."""

    lines: int
    accepted: int
    duplicates: int
    bytes_read: int
    total_bytes: int


@dataclass(frozen=True)
class ImportResult:
    """The outcome of ``import_file``; ``resumed_from_line`` > 0 when an earlier run was resumed."""

    file_sha256: str
    lines: int
    accepted: int
    duplicates: int
    resumed_from_line: int
    already_complete: bool


def _resolve_intel(enrich: Any) -> IpIntel | None:
    if isinstance(enrich, _Default):
        return default_intel()
    return enrich if isinstance(enrich, IpIntel) else None


_ACCOUNT = itemgetter(1)


def _dedupe_in_batch(rows: Sequence[EventRow]) -> list[EventRow]:
    """Drop repeats of an event (same id, account, time and address) inside one batch."""
    seen: set[tuple[Any, ...]] = set()
    unique: list[EventRow] = []
    for row in rows:
        if row[0] is not None:
            key = (row[0], row[1], row[3], row[4])
            if key in seen:
                continue
            seen.add(key)
        unique.append(row)
    return unique


def _rows_of(events: Iterable[AccessEvent] | Iterable[EventRow]) -> list[EventRow]:
    rows: list[EventRow] = []
    for item in events:
        rows.append(item.to_row() if isinstance(item, AccessEvent) else item)
    return rows


@dataclass
class PreparedBatch:
    """A batch ready for the database: rows with their country, and the rollups they imply if all
    of them turn out to be new. Built in a parse worker process during ``import_file``."""

    params: list[tuple[Any, ...]]  # EventRow + country
    seen: list[tuple[Any, ...]]  # account, ip, first, last, count, country, asn, tor_exit, hosting
    activity: list[tuple[Any, ...]]  # account, first, last, count
    submitted: int  # rows before removing repeats inside the batch
    count: int = -1  # rows to write (after removing repeats); -1: len(params)
    stage_path: str | None = None  # SQLite: the rows and rollups written by a worker to this file
    copy_text: bytes | None = None  # PostgreSQL: the rows as COPY text, encoded by a worker
    months: list[tuple[Any, ...]] | None = None  # with copy_text: one (.., .., .., time_ms) per month
    facts_text: bytes | None = None  # with copy_text: the addresses' enrichment as COPY text
    seen_text: bytes | None = None  # with copy_text: ``seen`` as COPY text
    activity_text: bytes | None = None  # with copy_text: ``activity`` as COPY text

    def __post_init__(self) -> None:
        if self.count < 0:
            self.count = len(self.params)


def prepare_rows(rows: Sequence[EventRow], intel: IpIntel | None) -> PreparedBatch:
    """Enrich rows and aggregate the rollups (per account+IP and per account) in one pass.

    Rows come out grouped by account, in the order of the account index: each index
    page is then visited once per batch instead of once per row (C1)."""
    unique = _dedupe_in_batch(rows)
    unique.sort(key=_ACCOUNT)  # stable: rows of one account keep their (mostly time) order
    country = intel.country if intel is not None else None
    countries: dict[bytes, str | None] = {}
    params: list[tuple[Any, ...]] = []
    append = params.append
    pairs: dict[tuple[str, bytes], list[Any]] = {}
    accounts: dict[str, list[int]] = {}
    for row in unique:
        ip = row[4]
        if country is None:
            code = None
        else:
            code = countries.get(ip, "?")
            if code == "?":
                code = countries[ip] = country(ip)
        append((*row, code))
        account = row[1]
        when = row[3]
        pair = pairs.get((account, ip))
        if pair is None:
            pairs[(account, ip)] = [when, when, 1, code]
        else:
            if when < pair[0]:
                pair[0] = when
            elif when > pair[1]:
                pair[1] = when
            pair[2] += 1
        span = accounts.get(account)
        if span is None:
            accounts[account] = [when, when, 1]
        else:
            if when < span[0]:
                span[0] = when
            elif when > span[1]:
                span[1] = when
            span[2] += 1
    seen: list[tuple[Any, ...]] = []
    same = intel.facts(bytes(16)) if intel is not None and intel.country_only else None
    for (account, ip), (first, last, count, code) in pairs.items():
        if same is not None:
            seen.append((account, ip, first, last, count, code, same.asn, same.tor_exit, same.hosting))
        elif intel is not None:
            facts = intel.facts(ip)
            seen.append((account, ip, first, last, count, code, facts.asn, facts.tor_exit, facts.hosting))
        else:
            seen.append((account, ip, first, last, count, code, None, None, None))
    activity = [(account, first, last, count) for account, (first, last, count) in accounts.items()]
    return PreparedBatch(params, seen, activity, len(rows))


def _write_sqlite(raw: Any, batch: PreparedBatch, intel: IpIntel | None) -> int:
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


def _ensure_partitions(cursor: Any, params: Sequence[tuple[Any, ...]]) -> None:
    months = {month_of_ms(row[3]) for row in params}
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'access_event' "
        "AND p.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
    )
    existing = {name for (name,) in cursor.fetchall()}
    for year, month in sorted(months):
        if partition_name(year, month) not in existing:
            cursor.execute(partition_ddl(year, month))


_PG_EVENT_COLUMNS = "event_id, account_id, principal, time_ms, ip, action, kind, user_agent, source, country"
_PG_ROLLUP_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS access_seen_stage (
    account_id VARCHAR(128), ip BYTEA, first_seen_ms BIGINT, last_seen_ms BIGINT, count BIGINT,
    country VARCHAR(2), asn BIGINT, tor_exit BOOLEAN, hosting BOOLEAN
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS access_activity_stage (
    account_id VARCHAR(128), first_access_ms BIGINT, last_access_ms BIGINT, events BIGINT
) ON COMMIT DELETE ROWS
"""
_PG_UPSERT_SEEN = """
INSERT INTO access_ip_seen (account_id, ip, first_seen_ms, last_seen_ms, count, country, asn, tor_exit, hosting)
SELECT account_id, ip, first_seen_ms, last_seen_ms, count, country, asn, tor_exit, hosting
FROM access_seen_stage ORDER BY account_id, ip
ON CONFLICT (account_id, ip) DO UPDATE SET
    first_seen_ms = LEAST(access_ip_seen.first_seen_ms, EXCLUDED.first_seen_ms),
    last_seen_ms = GREATEST(access_ip_seen.last_seen_ms, EXCLUDED.last_seen_ms),
    count = access_ip_seen.count + EXCLUDED.count
"""
_PG_UPSERT_ACTIVITY = """
INSERT INTO access_account_activity (account_id, first_access_ms, last_access_ms, events)
SELECT account_id, first_access_ms, last_access_ms, events FROM access_activity_stage ORDER BY account_id
ON CONFLICT (account_id) DO UPDATE SET
    first_access_ms = LEAST(access_account_activity.first_access_ms, EXCLUDED.first_access_ms),
    last_access_ms = GREATEST(access_account_activity.last_access_ms, EXCLUDED.last_access_ms),
    events = access_account_activity.events + EXCLUDED.events
"""


def _copy_rows(cursor: Any, statement: str, text: bytes | None, rows: Sequence[tuple[Any, ...]]) -> None:
    with cursor.copy(statement) as copy:
        if text is not None:
            copy.write(text)
        else:
            for row in rows:
                copy.write_row(row)


def _write_postgres(raw: Any, batch: PreparedBatch) -> int:
    """Inside the caller's transaction. The common case first: no event of the batch is stored yet,
    so the rows are COPYed straight into ``access_event`` (what the engine's bare bulk load does)
    and the rollups the batch implies are merged. If the COPY meets an event already stored (a
    redelivery), it is rolled back to its savepoint and the batch goes through a staging table and
    ``INSERT ... ON CONFLICT DO NOTHING``, whose returned rows alone feed the rollups."""
    import psycopg

    with raw.cursor() as cursor:
        # every transaction that adds events holds this lock (shared) until it ends: the signal
        # follower reads the newest event id under it (exclusive), so no older id is still in flight
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", (EVENTS_LOCK_KEY,))
        _ensure_partitions(cursor, (batch.months or []) if batch.copy_text is not None else batch.params)
        cursor.execute("SAVEPOINT cloudcip_access_copy")
        try:
            _copy_rows(cursor, f"COPY access_event ({_PG_EVENT_COLUMNS}) FROM STDIN", batch.copy_text,
                       batch.params)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT cloudcip_access_copy")
        else:
            cursor.execute("RELEASE SAVEPOINT cloudcip_access_copy")
            for statement in _PG_ROLLUP_STAGE.split(";"):
                cursor.execute(statement)
            _copy_rows(cursor, "COPY access_seen_stage (account_id, ip, first_seen_ms, last_seen_ms, count, "
                       "country, asn, tor_exit, hosting) FROM STDIN", batch.seen_text, batch.seen)
            _copy_rows(cursor, "COPY access_activity_stage (account_id, first_access_ms, last_access_ms, events) "
                       "FROM STDIN", batch.activity_text, batch.activity)
            cursor.execute(_PG_UPSERT_SEEN)
            cursor.execute(_PG_UPSERT_ACTIVITY)
            return batch.count
        for statement in _PG_STAGE.split(";"):
            cursor.execute(statement)
        _copy_rows(cursor, f"COPY access_event_stage ({_PG_EVENT_COLUMNS}) FROM STDIN", batch.copy_text,
                   batch.params)
        with cursor.copy("COPY access_ip_facts_stage (ip, country, asn, tor_exit, hosting) FROM STDIN") as copy:
            copy.write(batch.facts_text if batch.facts_text is not None else copy_text(_ip_facts(batch.seen)))
        cursor.execute(_PG_MERGE)
        counts = cursor.fetchone()
        assert counts is not None
        return int(counts[0])


def _ip_facts(seen: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One (ip, country, asn, tor_exit, hosting) per address of the rollup rows."""
    facts: dict[bytes, tuple[Any, ...]] = {}
    for entry in seen:
        if entry[1] not in facts:
            facts[entry[1]] = (entry[1], entry[5], entry[6], entry[7], entry[8])
    return list(facts.values())


def write_batch(connection: Connection, database: Database, batch: PreparedBatch,
                intel: IpIntel | None) -> int:
    """Write a prepared batch inside the transaction of ``connection``; returns the number stored."""
    if not batch.count:
        return 0
    raw = connection.connection.driver_connection
    if database.is_postgresql:
        return _write_postgres(raw, batch)
    if database.is_sqlite:
        return _write_sqlite(raw, batch, intel)
    raise ValueError("access events need SQLite or PostgreSQL")


def ingest(
    database: Database,
    events: Iterable[AccessEvent] | Iterable[EventRow],
    *,
    enrich: Any = DEFAULT_ENRICHMENT,
    signal_policy: Any = None,
) -> IngestResult:
    """Store one batch of events in one transaction; idempotent on the events' ``id``.

    ``enrich``: an ``IpIntel`` (default: registered country from iptocc), or ``None`` for none.
    ``signal_policy``: a ``signals.SignalPolicy``; when given, signals are raised after commit.
    """
    rows = _rows_of(events)
    intel = _resolve_intel(enrich)
    batch = prepare_rows(rows, intel)
    if database.is_sqlite and batch.count:
        accepted = _ingest_staged_sqlite(database, batch, intel)
    else:
        with database.write_gate(), database.engine.begin() as connection:
            accepted = write_batch(connection, database, batch, intel)
    if signal_policy is not None and accepted:
        from cloudcip.access.signals import raise_signals_for_rows

        raise_signals_for_rows(database, rows, signal_policy)
    return IngestResult(accepted=accepted, duplicates=len(rows) - accepted)


MEMORY_STAGE = ":memory:"


def _ingest_staged_sqlite(database: Database, batch: PreparedBatch, intel: IpIntel | None) -> int:
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
            _fill_stage(raw, "stage", batch)
            raw.commit()  # the staging transaction touched the in-memory database only
            staged = PreparedBatch(batch.params, batch.seen, batch.activity, batch.submitted, batch.count,
                                   stage_path=MEMORY_STAGE)
            with database.write_gate(), connection.begin():
                return write_batch(connection, database, staged, intel)
        finally:
            raw.rollback()  # nothing open normally; DETACH needs no transaction
            raw.execute("DETACH DATABASE stage")


# --------------------------------------------------------------------------------------------------
# Resumable file import


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _progress_row(database: Database, sha: str) -> dict[str, Any] | None:
    with database.engine.connect() as connection:
        row = connection.execute(
            select(access_import_progress).where(access_import_progress.c.file_sha256 == sha)
        ).first()
        return dict(row._mapping) if row is not None else None


PARALLEL_PARSE_MIN_BYTES = 8 << 20


def _line_batches(stream: IO[bytes], batch_size: int) -> Iterator[tuple[list[bytes], int]]:
    while True:
        lines = list(islice(stream, batch_size))
        if not lines:
            return
        yield lines, sum(map(len, lines))


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace(
                "\r", "\\r")
        return str(value)
    if kind is bytes:
        return "\\\\x" + bytes(value).hex()
    return str(value)


def copy_text(params: Sequence[tuple[Any, ...]]) -> bytes:
    """Rows in PostgreSQL's COPY text format (tab-separated, ``\\N`` for NULL, escaped)."""
    field = _copy_field
    return "".join("\t".join([field(value) for value in param]) + "\n" for param in params).encode()


def copy_text_plain(params: Sequence[tuple[Any, ...]]) -> bytes:
    """``copy_text`` of event rows none of whose texts holds a backslash, tab, newline or carriage
    return (true of every row decoded from JSON text without a backslash: JSON strings cannot hold
    raw control characters), in one formatted string per row instead of a call per field."""
    null = "\\N"
    return "".join(
        f"{null if event_id is None else event_id}\t{account}\t{principal}\t{time_ms}\t\\\\x{ip.hex()}\t{action}"
        f"\t{kind}\t{null if agent is None else agent}\t{null if source is None else source}"
        f"\t{null if country is None else country}\n"
        for event_id, account, principal, time_ms, ip, action, kind, agent, source, country in params
    ).encode()


def _fill_stage(connection: Any, schema: str, batch: PreparedBatch) -> None:
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


def _stage_sqlite(path: str, batch: PreparedBatch) -> None:
    import sqlite3

    stage = sqlite3.connect(path)
    try:
        stage.execute("PRAGMA journal_mode=OFF")
        stage.execute("PRAGMA synchronous=OFF")
        _fill_stage(stage, "main", batch)
        stage.commit()
    finally:
        stage.close()


def _prepare_blob(blob: bytes, fmt: str, first_line: int, enrich: bool, target: str,
                  stage_path: str) -> tuple[list[tuple[int, str]], PreparedBatch | None]:
    """Worker side: parse newline-joined lines, prepare the batch (default enrichment) and hand it
    over in the cheapest form for the writer: a staging SQLite file, or COPY text for PostgreSQL."""
    lines = blob.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    rows, errors = parse_lines(lines, fmt, first_line=first_line)
    if errors:
        return errors, None
    batch = prepare_rows(rows, default_intel() if enrich else None)
    if target == "sqlite":
        _stage_sqlite(stage_path, batch)
        return [], PreparedBatch([], [], [], batch.submitted, batch.count, stage_path=stage_path)
    if target == "postgresql":
        months: dict[tuple[int, int], tuple[Any, ...]] = {}
        for param in batch.params:
            months.setdefault(month_of_ms(param[3]), param)
        rows_text = copy_text_plain(batch.params) if b"\\" not in blob else copy_text(batch.params)
        return [], PreparedBatch([], [], [], batch.submitted, batch.count, copy_text=rows_text,
                                 months=list(months.values()), facts_text=copy_text(_ip_facts(batch.seen)),
                                 seen_text=copy_text(batch.seen), activity_text=copy_text(batch.activity))
    return [], batch


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


def _stage_span(path: str, start: int, lines: int, fmt: str, first_line: int, enrich: bool,
                stage_path: str) -> tuple[list[tuple[int, str]], PreparedBatch | None]:
    """Worker side (SQLite, plain files): read ``lines`` lines of ``path`` from byte ``start``, parse
    and stage them ``STAGE_CHUNK_LINES`` at a time, then aggregate the rollups in the staging file
    with SQL. Bad lines: every error of the span, and nothing staged."""
    import sqlite3

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
                rows.sort(key=_ACCOUNT)  # rows of one account together: fewer index pages per chunk
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


def _line_spans(handle: IO[bytes], offset: int, batch_lines: int) -> Iterator[tuple[int, int, int]]:
    """``(start, end, lines)`` of consecutive batches of ``batch_lines`` lines from byte ``offset``
    (the last batch may be shorter; a last line without a newline counts). Reads blocks and counts
    newlines natively: no per-line work in the importer."""
    handle.seek(offset)
    start = position = offset
    count = 0
    last = b"\n"
    while True:
        block = handle.read(1 << 22)
        if not block:
            break
        last = block[-1:]
        scan = 0
        while True:
            found = block.count(b"\n", scan)
            if count + found < batch_lines:
                count += found
                break
            index = scan - 1
            for _ in range(batch_lines - count):
                index = block.index(b"\n", index + 1)
            end = position + index + 1
            yield start, end, batch_lines
            start, count, scan = end, 0, index + 1
        position += len(block)
    if position > start:
        yield start, position, count + (0 if last == b"\n" else 1)


def _staged_spans(
    path: str, offset: int, fmt: str, batch_lines: int, first_line: int, enrich: bool, workers: int,
    stage_dir: str,
) -> Generator[tuple[int, int, list[tuple[int, str]], PreparedBatch | None], None, None]:
    """Yield ``(lines, bytes, errors, prepared batch)`` in file order, staged by worker processes."""
    with open(path, "rb") as handle:
        tasks = ((lines, end - start, _stage_span, (path, start, lines, fmt, line, enrich,
                                                     os.path.join(stage_dir, f"batch-{line}.sqlite")))
                 for start, end, lines, line in _numbered(_line_spans(handle, offset, batch_lines), first_line))
        yield from _in_order(tasks, workers, ahead=workers)


def _numbered(spans: Iterator[tuple[int, int, int]], first_line: int) -> Iterator[tuple[int, int, int, int]]:
    for start, end, lines in spans:
        yield start, end, lines, first_line
        first_line += lines


_Task = tuple[int, int, Callable[..., tuple[list[tuple[int, str]], "PreparedBatch | None"]], tuple[Any, ...]]


def _in_order(tasks: Iterator[_Task], workers: int, ahead: int
              ) -> Generator[tuple[int, int, list[tuple[int, str]], PreparedBatch | None], None, None]:
    """Run ``(lines, bytes, function, arguments)`` tasks in ``workers`` child processes, at most
    ``ahead`` + 1 at a time, and yield ``(lines, bytes, errors, batch)`` in the tasks' order."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    pending: deque[tuple[int, int, Future[tuple[list[tuple[int, str]], PreparedBatch | None]]]] = deque()
    # fork where there is one: the worker only parses, and nothing of __main__ is imported again
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                             initializer=_die_with_parent) as pool:
        for lines, size, function, arguments in tasks:
            pending.append((lines, size, pool.submit(function, *arguments)))
            if len(pending) > ahead:
                count, done_size, future = pending.popleft()
                yield count, done_size, *future.result()
        while pending:
            count, done_size, future = pending.popleft()
            yield count, done_size, *future.result()


def _die_with_parent() -> None:
    """Parse-worker initializer: on Linux the worker is killed with the importer (PR_SET_PDEATHSIG),
    so an import killed mid-way leaves no worker waiting on its queue; the cyclic garbage collector
    runs less often (the rows are acyclic and freed by reference counting)."""
    import gc

    gc.set_threshold(100_000, 50, 100)  # parsing allocates millions of acyclic tuples: collect far less often
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the importer died before the line above took effect
        os._exit(1)


def _prepared_batches(
    stream: IO[bytes], fmt: str, batch_size: int, first_line: int, intel: IpIntel | None, workers: int,
    target: str = "", stage_dir: str = "",
) -> Generator[tuple[int, int, list[tuple[int, str]], PreparedBatch | None], None, None]:
    """Yield ``(lines, bytes, errors, prepared batch)`` in file order."""
    if workers <= 0:
        for lines, size in _line_batches(stream, batch_size):
            rows, errors = parse_lines(lines, fmt, first_line=first_line)
            yield len(lines), size, errors, (None if errors else prepare_rows(rows, intel))
            first_line += len(lines)
        return
    tasks = ((len(lines), size, _prepare_blob, (b"".join(lines), fmt, line, intel is not None, target,
                                                 os.path.join(stage_dir, f"batch-{line}.sqlite")))
             for lines, size, line in _numbered_batches(_line_batches(stream, batch_size), first_line))
    yield from _in_order(tasks, workers, ahead=workers + 1)


def _numbered_batches(batches: Iterator[tuple[list[bytes], int]], first_line: int
                      ) -> Iterator[tuple[list[bytes], int, int]]:
    for lines, size in batches:
        yield lines, size, first_line
        first_line += len(lines)


def import_file(
    database: Database,
    path: str | Path,
    fmt: str = "jsonl",
    *,
    batch_size: int | None = None,
    progress: Callable[[ImportProgress], None] | None = None,
    enrich: Any = DEFAULT_ENRICHMENT,
    signal_policy: Any = None,
    parse_workers: int | None = None,
) -> ImportResult:
    """Import a file of events in batches, resuming after the last committed batch of an earlier run.

    JSON lines are parsed and enriched in ``parse_workers`` child processes (default: two, or one
    on a single core, for files over 8 MiB; none otherwise, and none with a ``signal_policy`` or an operator's
    ``IpIntel``) while this process writes; batches still commit in file order.

    ``batch_size``: lines (or records) per transaction; by default ``SQLITE_BATCH_LINES`` on SQLite
    and ``POSTGRES_BATCH_LINES`` on PostgreSQL. A batch is accepted or refused whole.

    Raises ``AccessBatchError`` (every bad line of the file from the first bad batch on, with line
    numbers) when a batch is refused; batches before it stay committed.
    """
    row_parser(fmt)
    if batch_size is None:
        batch_size = SQLITE_BATCH_LINES if database.is_sqlite else POSTGRES_BATCH_LINES
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    source = Path(path)
    total_bytes = source.stat().st_size
    sha = file_sha256(source)
    intel = _resolve_intel(enrich)
    now = clock.now()
    state = _progress_row(database, sha)
    if state is None:
        with database.engine.begin() as connection:
            connection.execute(insert(access_import_progress).values(
                file_sha256=sha, format=fmt, file_name=source.name[:255], lines_committed=0, byte_offset=0,
                events_accepted=0, duplicates=0, started_at=now, updated_at=now))
        state = _progress_row(database, sha)
        assert state is not None
    if state["completed_at"] is not None:
        return ImportResult(sha, int(state["lines_committed"]), int(state["events_accepted"]),
                            int(state["duplicates"]), int(state["lines_committed"]), True)
    lines_done = int(state["lines_committed"])
    resumed_from = lines_done
    offset = int(state["byte_offset"])
    accepted_total = int(state["events_accepted"])
    duplicates_total = int(state["duplicates"])

    def commit(batch: PreparedBatch, lines_after: int, offset_after: int) -> tuple[int, int]:
        with database.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            if database.is_sqlite:  # a long import checkpoints the write-ahead log less often (reset below)
                raw.execute(f"PRAGMA wal_autocheckpoint={SQLITE_IMPORT_CHECKPOINT_PAGES}")
            if batch.stage_path is not None:  # before the transaction: SQLite attaches only outside one
                raw.execute("ATTACH DATABASE ? AS stage", (batch.stage_path,))
            try:
                with connection.begin():
                    accepted = write_batch(connection, database, batch, intel)
                    connection.execute(update(access_import_progress).where(
                        access_import_progress.c.file_sha256 == sha).values(
                        lines_committed=lines_after, byte_offset=offset_after,
                        events_accepted=access_import_progress.c.events_accepted + accepted,
                        duplicates=access_import_progress.c.duplicates + (batch.submitted - accepted),
                        updated_at=clock.now()))
            finally:
                if batch.stage_path is not None:
                    raw.execute("DETACH DATABASE stage")
                    os.unlink(batch.stage_path)
                if database.is_sqlite:  # the pooled connection goes back as it came
                    raw.execute(f"PRAGMA wal_autocheckpoint={SQLITE_DEFAULT_CHECKPOINT_PAGES}")
        if signal_policy is not None and accepted:
            from cloudcip.access.signals import raise_signals_for_rows

            raise_signals_for_rows(database, batch.params, signal_policy)
        return accepted, batch.submitted - accepted

    errors: list[tuple[int, str]] = []
    extra_errors = 0
    with open_event_stream(str(source)) as stream:
        if file_is_document(stream, fmt):
            records = list(iter_document_records(stream, fmt))
            for start in range(lines_done, len(records), batch_size):
                chunk = [record for _position, record in records[start:start + batch_size]]
                rows, batch_errors = parse_records(chunk, fmt)
                if batch_errors or errors:
                    errors.extend((start + position, reason) for position, reason in batch_errors)
                    continue
                accepted, duplicates = commit(prepare_rows(rows, intel), start + len(chunk), 0)
                accepted_total += accepted
                duplicates_total += duplicates
                lines_done = start + len(chunk)
                if progress is not None:
                    progress(ImportProgress(lines_done, accepted_total, duplicates_total,
                                            total_bytes * lines_done // max(1, len(records)), total_bytes))
        else:
            if offset:
                stream.seek(offset)
            workers = parse_workers
            if workers is None:  # the writer is light (INSERT ... SELECT from the staging file): two
                # parse workers on a machine of two cores or more, one on a single core
                workers = min(2, os.cpu_count() or 1) if total_bytes - offset > PARALLEL_PARSE_MIN_BYTES else 0
            if (intel is not None and intel is not default_intel()) or signal_policy is not None:
                workers = 0  # an operator's IpIntel (open MaxMind readers) stays in this process
            target = "sqlite" if database.is_sqlite else "postgresql" if database.is_postgresql else ""
            stage_dir = tempfile.mkdtemp(prefix="cloudcip-import-") if workers > 0 else ""
            batches: Generator[tuple[int, int, list[tuple[int, str]], PreparedBatch | None], None, None]
            spans = workers > 0 and target == "sqlite" and getattr(stream, "fileobj", None) is None
            if spans:
                batches = _staged_spans(str(source), offset, fmt, batch_size, lines_done + 1, intel is not None,
                                        workers, stage_dir)
            else:
                batches = _prepared_batches(stream, fmt, batch_size, lines_done + 1, intel, workers, target,
                                            stage_dir)
            try:
                for count, size, batch_errors, batch in batches:
                    if batch_errors or errors:
                        room = MAX_ERRORS - len(errors)
                        errors.extend(batch_errors[:max(0, room)])
                        extra_errors += max(0, len(batch_errors) - max(0, room))
                        lines_done += count
                        continue
                    assert batch is not None
                    accepted, duplicates = commit(batch, lines_done + count, offset + size)
                    accepted_total += accepted
                    duplicates_total += duplicates
                    lines_done += count
                    offset += size
                    if progress is not None:
                        read = offset if spans or _fileno(stream) < 0 else os.lseek(_fileno(stream), 0, os.SEEK_CUR)
                        progress(ImportProgress(lines_done, accepted_total, duplicates_total, read, total_bytes))
            finally:  # a failed or interrupted import leaves no staging files behind
                batches.close()
                if stage_dir:
                    shutil.rmtree(stage_dir, ignore_errors=True)
    if errors or extra_errors:
        raise AccessBatchError(errors, truncated=extra_errors)
    with database.engine.begin() as connection:
        connection.execute(update(access_import_progress).where(
            access_import_progress.c.file_sha256 == sha).values(completed_at=clock.now(),
                                                                 updated_at=clock.now()))
    return ImportResult(sha, lines_done, accepted_total, duplicates_total, resumed_from, False)


def _fileno(stream: IO[bytes]) -> int:
    inner = getattr(stream, "fileobj", None)
    try:
        return int((inner if inner is not None else stream).fileno())
    except (OSError, ValueError, AttributeError):
        return -1
