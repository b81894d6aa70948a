"""The retention clock of the access history (B1, C3).

An account's access history is kept for the profile's retention period (default 2 years) counted
from the account's closure or its last access, whichever is later, and never purged while a legal
hold covers the account. ``retention_due`` lists the accounts whose period has run out;
``purge_access`` deletes their events, rollups, activity and access signals, re-checking holds in
the same transaction so that a hold placed meanwhile wins.

Closure dates come from the ``account`` table (``closed_at``) when it exists in the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, Table, and_, delete, func, inspect, literal_column, select

from cloudcip import clock
from cloudcip.access.events import datetime_to_ms, ms_to_datetime
from cloudcip.access.schema import (
    MAX_BUCKETS_LISTED,
    access_account_activity,
    access_event,
    access_ip_seen,
    account_signal,
    buckets_between,
    legal_hold,
)
from cloudcip.storage.database import Database
from cloudcip.storage.metadata import metadata


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` earlier (29 February falls back to 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def _account_table(connection: Connection) -> Table | None:
    table = metadata.tables.get("account")
    if table is None or "closed_at" not in table.c:
        return None
    if not inspect(connection).has_table("account"):
        return None
    return table


def held_accounts(connection: Connection, account_ids: Iterable[str], now: datetime) -> set[str]:
    """Which of ``account_ids`` a legal hold covers at ``now``."""
    ids = list(account_ids)
    held: set[str] = set()
    hold = legal_hold.c
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = connection.execute(
            select(hold.account_id, hold.placed_at, hold.released_at).where(hold.account_id.in_(chunk))
        ).all()
        for account_id, placed_at, released_at in rows:
            if clock.utc(placed_at) <= now and (released_at is None or clock.utc(released_at) > now):
                held.add(account_id)
    return held


@dataclass(frozen=True)
class RetentionDue:
    account_id: str
    anchor: datetime  # the later of closure and last access
    due_since: datetime


def retention_schedule(database: Database, profile_years: int = 2, now: datetime | None = None) -> list[RetentionDue]:
    """Accounts whose access history is past retention at ``now`` and not under a hold, with why."""
    moment = now if now is not None else clock.now()
    if moment.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    cutoff = years_before(moment, profile_years)
    cutoff_ms = datetime_to_ms(cutoff)
    activity = access_account_activity.c
    with database.engine.connect() as connection:
        candidates = dict(connection.execute(
            select(activity.account_id, activity.last_access_ms).where(activity.last_access_ms <= cutoff_ms)
        ).all())
        closures: dict[str, datetime | None] = {}
        account = _account_table(connection)
        if account is not None and candidates:
            ids = list(candidates)
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                closures.update(connection.execute(
                    select(account.c.id, account.c.closed_at).where(account.c.id.in_(chunk))).all())
        held = held_accounts(connection, candidates, moment)
    due: list[RetentionDue] = []
    for account_id, last_ms in sorted(candidates.items()):
        if account_id in held:
            continue
        anchor = ms_to_datetime(int(last_ms))
        closed = closures.get(account_id)
        if closed is not None and clock.utc(closed) > anchor:
            anchor = clock.utc(closed)
        if anchor <= cutoff:
            due.append(RetentionDue(account_id, anchor, years_before(anchor, -profile_years)))
    return due


def retention_due(database: Database, profile_years: int = 2, now: datetime | None = None) -> list[str]:
    """Account ids whose access history may be purged at ``now`` (B1)."""
    return [item.account_id for item in retention_schedule(database, profile_years, now)]


@dataclass(frozen=True)
class PurgeResult:
    accounts: list[str]
    events: int
    skipped_held: list[str]


def purge_access(database: Database, account_ids: Iterable[str], now: datetime | None = None) -> PurgeResult:
    """Delete the access history of accounts (events, rollups, activity, signals), skipping any
    account a legal hold covers at ``now`` (checked in the same transaction)."""
    moment = now if now is not None else clock.now()
    ids = sorted(set(account_ids))
    purged: list[str] = []
    events = 0
    with database.engine.begin() as connection:
        held = held_accounts(connection, ids, moment)
        for start in range(0, len(ids), 500):
            chunk = [account_id for account_id in ids[start:start + 500] if account_id not in held]
            if not chunk:
                continue
            condition: ColumnElement[bool] = access_event.c.account_id.in_(chunk)
            if database.is_sqlite:  # name the 30-day periods the accounts were active in: index seeks
                span = connection.execute(
                    select(func.min(access_account_activity.c.first_access_ms),
                           func.max(access_account_activity.c.last_access_ms))
                    .where(access_account_activity.c.account_id.in_(chunk))).first()
                periods = buckets_between(int(span[0]), int(span[1])) if span is not None and span[0] is not None \
                    else []
                if periods and len(periods) <= MAX_BUCKETS_LISTED:  # else: every row is looked at
                    condition = and_(literal_column("bucket").in_(periods), condition)
            result = connection.execute(delete(access_event).where(condition))
            events += max(0, result.rowcount or 0)
            connection.execute(delete(access_ip_seen).where(access_ip_seen.c.account_id.in_(chunk)))
            connection.execute(delete(access_account_activity)
                               .where(access_account_activity.c.account_id.in_(chunk)))
            connection.execute(delete(account_signal).where(account_signal.c.account_id.in_(chunk)))
            purged.extend(chunk)
    return PurgeResult(purged, events, sorted(held))


__all__ = ["PurgeResult", "RetentionDue", "purge_access", "retention_due", "retention_schedule", "years_before"]
