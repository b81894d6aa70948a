"""The PostgreSQL back-end of the access capability (C1-C4, B1).

Writing: the common case first: no event of the batch is stored yet, so the rows are COPYed straight
into the partitioned ``access_event`` (what the engine's bare bulk load does) and the rollups the
batch implies are merged; if the COPY meets an event already stored (a redelivery), it is rolled back
to its savepoint and the batch goes through a staging table and one ``INSERT ... ON CONFLICT DO
NOTHING`` on (id, time), whose returned rows alone feed the rollups. A month's partition is created
before its first event. A file import's workers hand the rows over as COPY text.

Every transaction that adds events holds a shared advisory lock (``EVENTS_LOCK_KEY``) until it ends;
the signal follower reads the newest event id under the same lock taken exclusively, so no older id
is still in flight. Reading: partitions are pruned by ``time_ms``, so no period is named; the rules'
inputs are read with the windows as arrays, one statement each for all the accounts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, select

from cloudcip.access.backends.base import SignalKey, SignalRow, Windows
from cloudcip.access.batch import PreparedBatch, copy_text, copy_text_plain, ip_facts
from cloudcip.access.ipintel import IpIntel
from cloudcip.access.schema import (
    ACCESS_TABLES,
    access_event,
    month_of_ms,
    partition_ddl,
    partition_name,
    postgres_ddl,
)
from cloudcip.access.signals import LAST_MS, Inputs, SignalAccess, SignalPolicy, access_of_row
from cloudcip.storage.database import Database
from cloudcip.storage.metadata import metadata

EVENTS_LOCK_KEY = 0x63_69_70_5F_65_76_74  # PostgreSQL advisory lock of the transactions adding events
POSTGRES_BATCH_LINES = 50_000  # lines per transaction of a file import on PostgreSQL

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


def write_batch(raw: Any, batch: PreparedBatch) -> int:
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
            copy.write(batch.facts_text if batch.facts_text is not None else copy_text(ip_facts(batch.seen)))
        cursor.execute(_PG_MERGE)
        counts = cursor.fetchone()
        assert counts is not None
        return int(counts[0])


_STORE_SIGNALS = (
    "INSERT INTO account_signal (id, account_id, kind, at, detail_json, state, dedupe_key) "
    "SELECT id, account_id, kind, at, detail_json, 'open', dedupe_key FROM unnest("
    "%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[]) "
    "AS s(id, account_id, kind, at, detail_json, dedupe_key) "
    "ON CONFLICT (account_id, kind, dedupe_key) DO NOTHING RETURNING account_id, kind, dedupe_key")


_PG_ACCESSES = (
    "SELECT w.account_id, e.id, e.time_ms, e.country, e.kind, e.principal FROM "
    "unnest(%s::text[], %s::bigint[], %s::bigint[]) AS w(account_id, since_ms, until_ms) "
    "JOIN access_event AS e ON e.account_id = w.account_id AND e.time_ms >= w.since_ms "
    "AND e.time_ms <= w.until_ms")
_PG_PREVIOUS = (
    "SELECT w.account_id, p.id, p.time_ms, p.country, p.kind, p.principal FROM "
    "unnest(%s::text[], %s::bigint[], %s::bigint[]) AS w(account_id, since_ms, until_ms) "
    "CROSS JOIN LATERAL (SELECT e.id, e.time_ms, e.country, e.kind, e.principal FROM access_event AS e "
    "WHERE e.account_id = w.account_id AND e.time_ms < w.since_ms AND e.country IS NOT NULL "
    "ORDER BY e.time_ms DESC, e.id DESC LIMIT 1) AS p")
_PG_NEXT = (
    "SELECT w.account_id, n.id, n.time_ms, n.country, n.kind, n.principal FROM "
    "unnest(%s::text[], %s::bigint[], %s::bigint[]) AS w(account_id, since_ms, until_ms) "
    "CROSS JOIN LATERAL (SELECT e.id, e.time_ms, e.country, e.kind, e.principal FROM access_event AS e "
    "WHERE e.account_id = w.account_id AND e.time_ms > w.until_ms AND e.country IS NOT NULL "
    "ORDER BY e.time_ms, e.id LIMIT 1) AS n")
_PG_KNOWN_ADMINS = (
    "SELECT DISTINCT w.account_id, e.principal FROM "
    "unnest(%s::text[], %s::bigint[], %s::bigint[]) AS w(account_id, since_ms, until_ms) "
    "JOIN access_event AS e ON e.account_id = w.account_id AND e.time_ms < w.since_ms AND e.kind = 'admin'")


def signal_inputs(cursor: Any, windows: Mapping[str, tuple[int, int | None]],
                  policy: SignalPolicy) -> dict[str, Inputs]:
    """The rules' inputs of many accounts at once on PostgreSQL (as the SQLite back-end's): four
    statements for all the accounts instead of three round trips per account."""
    def arrays(accounts: Sequence[str], until: Callable[[str], int | None]) -> tuple[list[Any], ...]:
        return list(accounts), [windows[a][0] for a in accounts], [until(a) for a in accounts]

    accounts = sorted(windows)
    accesses: dict[str, list[SignalAccess]] = {}
    cursor.execute(_PG_ACCESSES, arrays(accounts, lambda a: LAST_MS if windows[a][1] is None else windows[a][1]))
    for account, row_id, time_ms, country, kind, principal in cursor.fetchall():
        accesses.setdefault(account, []).append(SignalAccess(int(row_id), int(time_ms), country, kind, principal))
    for rows in accesses.values():
        rows.sort(key=lambda access: (access.time_ms, access.row))
    located = sorted(account for account, rows in accesses.items() if any(access.country for access in rows))
    previous: dict[str, SignalAccess] = {}
    if located:
        cursor.execute(_PG_PREVIOUS, arrays(located, lambda a: 0))
        previous = {row[0]: access_of_row(row[1:]) for row in cursor.fetchall()}
        bounded = [account for account in located if windows[account][1] is not None]
        if bounded:
            cursor.execute(_PG_NEXT, arrays(bounded, lambda a: windows[a][1] or 0))
            for row in cursor.fetchall():
                accesses[row[0]].append(access_of_row(row[1:]))
    known: dict[str, set[str]] = {}
    admins = sorted(account for account, rows in accesses.items() if any(access.kind == "admin" for access in rows))
    if policy.new_admin_principal and admins:
        cursor.execute(_PG_KNOWN_ADMINS, arrays(admins, lambda a: 0))
        for account, principal in cursor.fetchall():
            known.setdefault(account, set()).add(principal)
    return {account: (rows, previous.get(account), known.get(account, set())) for account, rows in accesses.items()}



# G3: many (account, address, window) triples counted in one statement (partitions pruned by time_ms)
_PG_WINDOW_COUNTS = (
    "SELECT c.k, min(e.time_ms), max(e.time_ms), count(*) FROM "
    "unnest(%s::bigint[], %s::text[], %s::bytea[], %s::bigint[], %s::bigint[]) AS c(k, a, ip, lo, hi) "
    "JOIN access_event AS e ON e.account_id = c.a AND e.time_ms >= c.lo AND e.time_ms <= c.hi AND e.ip = c.ip "
    "GROUP BY c.k")


class PostgresAccessBackend:
    """The access capability on PostgreSQL (see the module's docstring)."""

    name = "postgresql"
    import_batch_lines = POSTGRES_BATCH_LINES

    def create_schema(self, connection: Connection) -> None:
        """The partitioned event table from its own DDL; the others from the shared metadata."""
        metadata.create_all(connection, tables=[table for table in ACCESS_TABLES if table is not access_event])
        for statement in postgres_ddl():
            connection.exec_driver_sql(statement)

    def write_batch(self, raw: Any, batch: PreparedBatch, intel: IpIntel | None) -> int:
        return write_batch(raw, batch)

    def ingest(self, database: Database, batch: PreparedBatch, intel: IpIntel | None) -> int:
        with database.write_gate(), database.engine.begin() as connection:
            return write_batch(connection.connection.driver_connection, batch)

    @contextmanager
    def import_session(self, raw: Any, batch: PreparedBatch) -> Iterator[None]:
        yield

    def handover(self, batch: PreparedBatch, plain_text: bool, stage_path: str) -> PreparedBatch:
        """The rows, the addresses' facts and the rollups as COPY text; one row per month (for the
        partitions)."""
        months: dict[tuple[int, int], tuple[Any, ...]] = {}
        for param in batch.params:
            months.setdefault(month_of_ms(param[3]), param)
        rows_text = copy_text_plain(batch.params) if plain_text else copy_text(batch.params)
        return PreparedBatch([], [], [], batch.submitted, batch.count, copy_text=rows_text,
                             months=list(months.values()), facts_text=copy_text(ip_facts(batch.seen)),
                             seen_text=copy_text(batch.seen), activity_text=copy_text(batch.activity))

    def stages_spans(self) -> bool:
        return False

    def stage_span(self, path: str, start: int, lines: int, fmt: str, first_line: int, enrich: bool,
                   stage_path: str) -> tuple[list[tuple[int, str]], PreparedBatch | None]:
        raise NotImplementedError("PostgreSQL imports take COPY text from the workers, not staged spans")

    def newest_event_id(self, connection: Connection) -> int:
        """Under the exclusive advisory lock: no transaction adding events is still open."""
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(EVENTS_LOCK_KEY)})")
        return int(connection.execute(select(func.max(access_event.c.id))).scalar_one_or_none() or 0)

    def store_signals(self, cursor: Any, rows: Sequence[SignalRow]) -> set[SignalKey]:
        cursor.execute(_STORE_SIGNALS, tuple(list(column) for column in zip(*rows, strict=True)))
        return {(account, kind, key) for account, kind, key in cursor.fetchall()}

    def signal_inputs(self, cursor: Any, windows: Windows, policy: SignalPolicy) -> dict[str, Inputs]:
        return signal_inputs(cursor, windows, policy)

    def period_condition(self, low_ms: int, high_ms: int) -> ColumnElement[bool] | None:
        """None: the partitions are pruned by ``time_ms``."""
        return None

    def activity_span(self, connection: Connection, account_ids: Sequence[str]) -> tuple[int, int] | None:
        return None

    def window_counts(self, connection: Connection,
                      pairs: Sequence[tuple[int, str, bytes, int, int]]) -> dict[int, tuple[int, int, int]]:
        if not pairs:
            return {}
        columns = tuple(list(column) for column in zip(*pairs, strict=True))
        return {int(key): (int(first), int(last), int(count))
                for key, first, last, count in connection.exec_driver_sql(_PG_WINDOW_COUNTS, columns)}
