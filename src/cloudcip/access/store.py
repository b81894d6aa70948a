"""Storing access events at a provider's volume (C1, C2, C4): ``ingest`` and ``write_batch``.

``ingest`` writes one batch in one transaction, idempotent on the event ``id``: redelivered events
are counted as duplicates and change nothing. The per-account-per-IP rollup (``access_ip_seen``) and
the account's first/last access (``access_account_activity``) are kept in the same transaction.
Each address is enriched offline (country, ASN, Tor, hosting) at intake (``batch.prepare_rows``).
How a batch is written is the engine's (``access.backends``: ``executemany`` or ``INSERT ... SELECT``
from a staging database on SQLite; ``COPY`` with a savepoint, or a staging table and ``INSERT ... ON
CONFLICT DO NOTHING``, under an advisory lock on PostgreSQL). Repeats are left to the database: when
fewer rows were stored than staged, the rollups are re-counted from the rows actually added.
Files are imported, resumably, by ``access.importer.import_file``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from cloudcip.access.backends import backend_for
from cloudcip.access.batch import DEFAULT_ENRICHMENT, PreparedBatch, prepare_rows, resolve_intel, rows_of
from cloudcip.access.events import AccessEvent, EventRow
from cloudcip.access.ipintel import IpIntel
from cloudcip.storage.database import Database


@dataclass(frozen=True)
class IngestResult:
    """How many events of a batch were stored, and how many were already there (or repeated)."""

    accepted: int
    duplicates: int


def write_batch(connection: Connection, database: Database, batch: PreparedBatch,
                intel: IpIntel | None) -> int:
    """Write a prepared batch inside the transaction of ``connection``; returns the number stored."""
    if not batch.count:
        return 0
    return backend_for(database).write_batch(connection.connection.driver_connection, batch, intel)


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
    rows = rows_of(events)
    intel = resolve_intel(enrich)
    batch = prepare_rows(rows, intel)
    backend = backend_for(database)
    accepted = backend.ingest(database, batch, intel) if batch.count else 0
    if signal_policy is not None and accepted:
        from cloudcip.access.signals import raise_signals_for_rows

        raise_signals_for_rows(database, rows, signal_policy)
    return IngestResult(accepted=accepted, duplicates=len(rows) - accepted)
