"""Deleting an account's access history when its retention has ended (B1, C1).

``delete_access_history`` removes the events, the per-IP rollups, the first/last-access row and the
access signals of the given accounts, inside the caller's transaction. It does not decide anything:
the records capability (``records/retention.py``) works out whose retention ended, checks the legal
holds in the same transaction and writes the purge to the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Connection, and_, delete

from cloudcip.access.backends import backend_named
from cloudcip.access.schema import access_account_activity, access_event, access_ip_seen, account_signal
from cloudcip.storage.idlist import any_of


def delete_access_history(connection: Connection, account_ids: Sequence[str]) -> int:
    """Delete the access history of ``account_ids`` (events, rollups, activity, signals); the number
    of events deleted. Where the engine reads by period (SQLite) the accounts' 30-day periods are
    named, so the delete seeks the period index instead of reading every row."""
    backend = backend_named(connection.dialect.name)
    events = 0
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        condition: ColumnElement[bool] = any_of(access_event.c.account_id, chunk)
        span = backend.activity_span(connection, chunk)  # None: no period to name (PostgreSQL)
        period = backend.period_condition(*span) if span is not None else None
        if period is not None:  # else: every row is looked at
            condition = and_(period, condition)
        result = connection.execute(delete(access_event).where(condition))
        events += max(0, result.rowcount or 0)
        connection.execute(delete(access_ip_seen).where(any_of(access_ip_seen.c.account_id, chunk)))
        connection.execute(delete(access_account_activity).where(any_of(access_account_activity.c.account_id, chunk)))
        connection.execute(delete(account_signal).where(any_of(account_signal.c.account_id, chunk)))
    return events


__all__ = ["delete_access_history"]
