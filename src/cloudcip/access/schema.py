"""Tables of the access ledger (C1, C3, C4, B1).

- ``access_event``: one row per access or administrative action. Times are epoch milliseconds
  (UTC); ``ip`` is 16 big-endian bytes (IPv4 mapped into IPv6) so that a CIDR query is an index
  range scan (``ip BETWEEN low AND high``) of the rollup. There is no ``(ip, time_ms)`` index on
  the events (dropped by migration 0007): an address or network is answered by the rollup's
  ``(ip, account_id)`` index.
  On SQLite (``sqlite_ddl``, migration 0009) the table has one index, unique, on
  ``(bucket, account_id, time_ms, ip, event_id)``, where ``bucket`` is a virtual column: the
  30-day period of ``time_ms``. It serves an account's window (one seek per period, covering
  for its distinct IPs and for re-counting one account+IP pair) and is the dedupe key: a
  redelivered event is the same account, time, address and id. Since events arrive roughly in time
  order, inserts land in the current period's part of the index, which stays in the page cache
  however many events are stored; an index led by the account instead takes one random page
  write per account per transaction, and intake fell with the table's size (docs/benchmarks.md).
  On PostgreSQL the table is partitioned by month (``postgres_ddl``), each partition with its own
  ``(account_id, time_ms, ip)`` index (the same idea: inserts touch the current month),
  and the dedupe key is ``(event_id, time_ms)`` since a partitioned table's unique keys must hold
  the partition key: a redelivered event carries its original time, so redelivery still dedupes.
- ``access_ip_seen``: per account and IP, first and last seen and the count, kept at intake, with
  the address's enrichment (country, ASN, Tor exit, hosting/VPN) at first sight.
- ``access_account_activity``: first and last access per account: the retention clock of B1.
- ``access_import_progress``: the committed line offset of each imported file (by sha256), so that
  a killed import resumes where it stopped.
- ``ipintel_dataset`` / ``ipintel_range``: versioned imports of IP intelligence (C4).
- ``account_signal``: ongoing-verification signals raised from access (C4).
- ``access_signal_cursor``: the last event the signal follower evaluated (``follower.py``).

Legal holds are the records capability's (``records/schema.py``); the retention purge of an
account's access history (``access/retention.py``) is called by ``records/retention.py``, which
checks the holds in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cloudcip.storage.database import Database
from cloudcip.storage.metadata import metadata

ACCOUNT = 128

access_event = Table(
    "access_event",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("event_id", String(128)),
    Column("account_id", String(ACCOUNT), nullable=False),
    Column("principal", String(256), nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("ip", LargeBinary(16), nullable=False),
    Column("action", String(128), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("user_agent", Text),
    Column("source", String(64)),
    Column("country", String(2)),
    # indexes: sqlite_ddl() and postgres_ddl() below; the SQLite-only column ``bucket`` is not
    # declared here (PostgreSQL has no such column: its monthly partitions play that part)
    info={"postgres_ddl": "cloudcip.access.schema:postgres_ddl",
          "sqlite_ddl": "cloudcip.access.schema:sqlite_ddl"},
)

BUCKET_MS = 2_592_000_000  # 30 days: the period that leads the SQLite event index
MAX_BUCKETS_LISTED = 2_000  # beyond this many periods a window is read without the period list


def bucket_of(time_ms: int) -> int:
    """The period of ``time_ms`` as SQLite computes ``time_ms / BUCKET_MS`` (truncating)."""
    return time_ms // BUCKET_MS if time_ms >= 0 else -((-time_ms) // BUCKET_MS)


def buckets_between(low_ms: int, high_ms: int) -> list[int]:
    """Every period that a window ``[low_ms, high_ms]`` touches (an empty list for an empty window)."""
    if high_ms < low_ms:
        return []
    return list(range(bucket_of(low_ms), bucket_of(high_ms) + 1))


def sqlite_ddl() -> list[str]:
    """The SQLite part of ``access_event`` beyond its columns: the virtual period column and the
    one index (unique: the dedupe key)."""
    return [
        f"ALTER TABLE access_event ADD COLUMN bucket INTEGER GENERATED ALWAYS AS (time_ms / {BUCKET_MS}) VIRTUAL",
        "CREATE UNIQUE INDEX IF NOT EXISTS uq_access_event_period_account "
        "ON access_event (bucket, account_id, time_ms, ip, event_id)",
    ]

access_ip_seen = Table(
    "access_ip_seen",
    metadata,
    Column("account_id", String(ACCOUNT), nullable=False),
    Column("ip", LargeBinary(16), nullable=False),
    Column("first_seen_ms", BigInteger, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("country", String(2)),
    Column("asn", BigInteger),
    Column("tor_exit", Boolean),
    Column("hosting", Boolean),
    PrimaryKeyConstraint("account_id", "ip", name="pk_access_ip_seen"),
    Index("ix_access_ip_seen_ip_account", "ip", "account_id"),
)

access_account_activity = Table(
    "access_account_activity",
    metadata,
    Column("account_id", String(ACCOUNT), primary_key=True),
    Column("first_access_ms", BigInteger, nullable=False),
    Column("last_access_ms", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
    Index("ix_access_account_activity_last", "last_access_ms"),
)

access_import_progress = Table(
    "access_import_progress",
    metadata,
    Column("file_sha256", String(64), primary_key=True),
    Column("format", String(16), nullable=False),
    Column("file_name", String(255)),  # base name only
    Column("lines_committed", BigInteger, nullable=False),
    Column("byte_offset", BigInteger, nullable=False),
    Column("events_accepted", BigInteger, nullable=False),
    Column("duplicates", BigInteger, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
)

ipintel_dataset = Table(
    "ipintel_dataset",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # asn | tor_exit | hosting
    Column("sha256", String(64), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("source_name", String(255)),
    UniqueConstraint("kind", "sha256", name="uq_ipintel_dataset_kind_sha256"),
)

ipintel_range = Table(
    "ipintel_range",
    metadata,
    Column("dataset_id", Integer, nullable=False),
    Column("low", LargeBinary(16), nullable=False),
    Column("high", LargeBinary(16), nullable=False),
    Column("asn", BigInteger),
    Column("label", String(255)),
    Index("ix_ipintel_range_dataset_low", "dataset_id", "low"),
)

account_signal = Table(
    "account_signal",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", String(ACCOUNT), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail_json", Text, nullable=False),
    Column("state", String(16), nullable=False, default="open"),  # open | routed | dismissed | actioned
    Column("dedupe_key", String(64), nullable=False),
    Column("handled_at", DateTime(timezone=True)),  # when it left ``open`` (F2: time to handle; migration 0032)
    UniqueConstraint("account_id", "kind", "dedupe_key", name="uq_account_signal_account_kind_dedupe"),
    Index("ix_account_signal_account_at", "account_id", "at"),
)

# Where the signal follower stands in the event log: the id of the last event it evaluated (C4).
access_signal_cursor = Table(
    "access_signal_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("last_event_id", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

ACCESS_TABLES: tuple[Table, ...] = (
    access_event,
    access_ip_seen,
    access_account_activity,
    access_import_progress,
    ipintel_dataset,
    ipintel_range,
    account_signal,
    access_signal_cursor,
)


# --------------------------------------------------------------------------------------------------
# PostgreSQL: access_event partitioned by month


def _month_start_ms(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def partition_name(year: int, month: int) -> str:
    return f"access_event_y{year:04d}m{month:02d}"


def partition_ddl(year: int, month: int) -> str:
    """``CREATE TABLE IF NOT EXISTS`` of one monthly partition of ``access_event``."""
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(year, month)} PARTITION OF access_event "
            f"FOR VALUES FROM ({_month_start_ms(year, month)}) TO ({_month_start_ms(next_year, next_month)})")


def month_of_ms(millis: int) -> tuple[int, int]:
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return moment.year, moment.month


def postgres_ddl() -> list[str]:
    """DDL of ``access_event`` on PostgreSQL: a table range-partitioned by month on ``time_ms``.

    Partitions are created on demand at intake (``partition_ddl``); a DEFAULT partition catches
    anything else so that no insert ever fails for want of a partition.
    """
    return [
        """CREATE TABLE IF NOT EXISTS access_event (
            id BIGINT GENERATED BY DEFAULT AS IDENTITY,
            event_id VARCHAR(128),
            account_id VARCHAR(128) NOT NULL,
            principal VARCHAR(256) NOT NULL,
            time_ms BIGINT NOT NULL,
            ip BYTEA NOT NULL,
            action VARCHAR(128) NOT NULL,
            kind VARCHAR(8) NOT NULL,
            user_agent TEXT,
            source VARCHAR(64),
            country VARCHAR(2),
            CONSTRAINT pk_access_event PRIMARY KEY (id, time_ms),
            CONSTRAINT uq_access_event_event_id UNIQUE (event_id, time_ms)
        ) PARTITION BY RANGE (time_ms)""",
        "CREATE INDEX IF NOT EXISTS ix_access_event_account_time ON access_event (account_id, time_ms, ip)",
        "CREATE TABLE IF NOT EXISTS access_event_default PARTITION OF access_event DEFAULT",
    ]


def create_access_schema(database: Database) -> None:
    """Create the access-ledger tables (for tests and first runs; production uses migrations)."""
    from cloudcip.access.backends import backend_for  # the back-ends build on this module's tables

    with database.engine.begin() as connection:
        backend_for(database).create_schema(connection)
