"""Questions the access ledger answers at once (C3): an account's IPs, the accounts behind an IP or
network, first and last access per account (the retention clock of B1).

Both ends of a window are inclusive (UTC); ``None`` leaves a side open.

- ``account_ips``: distinct IPs of an account in a window, with first/last seen and counts. When the
  window encloses all of the account's activity the rollup ``access_ip_seen`` answers; otherwise
  the events' account index does (on SQLite one seek per 30-day period of the window, clamped to
  the account's first and last access: see ``access.schema``).
- ``account_events``: the raw events of an account in a window, oldest first, paged by a keyset
  cursor (an opaque string holding only a time and a row number).
- ``accounts_from``: accounts seen from an IP or CIDR network in a window. The rollup's
  ``(ip, account_id)`` index gives the candidates; pairs whose whole span lies inside the window
  are exact, the others are re-counted from the events' account index.
- ``account_activity``: first and last access of an account.

Callers (API, CLI) record each query in the ledger with its purpose (B3); this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, select

from cloudcip.access.backends import backend_for
from cloudcip.access.events import (
    AccessEvent,
    EventError,
    IpAddress,
    bytes_to_ip,
    datetime_to_ms,
    ms_to_datetime,
    network_range,
)
from cloudcip.access.schema import (
    access_account_activity,
    access_event,
    access_ip_seen,
    bucket_of,
)
from cloudcip.storage.database import Database

_MIN_MS = 0
_MAX_MS = 253_402_300_800_000


@dataclass(frozen=True, slots=True)
class AccountIp:
    """One address of an account within a window."""

    ip: IpAddress
    first_seen: datetime
    last_seen: datetime
    count: int
    country: str | None


@dataclass(frozen=True, slots=True)
class AccountSeen:
    """One account seen from an address of the queried network within a window."""

    account_id: str
    ip: IpAddress
    first_seen: datetime
    last_seen: datetime
    count: int


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A stored event with its row number (used by the paging cursor) and enrichment."""

    row: int
    event: AccessEvent
    country: str | None


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[StoredEvent]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AccountActivity:
    account_id: str
    first_access: datetime
    last_access: datetime
    events: int


def _bounds(start: datetime | None, end: datetime | None) -> tuple[int, int]:
    low = datetime_to_ms(start) if start is not None else _MIN_MS
    high = datetime_to_ms(end) if end is not None else _MAX_MS
    return low, high


def period_condition(database: Database, low_ms: int, high_ms: int) -> ColumnElement[bool] | None:
    """On SQLite, ``bucket IN (...)``: the 30-day periods of ``[low_ms, high_ms]``, which lead the
    event index; ``None`` on PostgreSQL (its partitions are pruned by ``time_ms``) or when the window
    spans too many periods to list (``AccessBackend.period_condition``). Callers clamp the window to
    the account's activity first."""
    return backend_for(database).period_condition(low_ms, high_ms)


def _with_period(condition: ColumnElement[bool], period: ColumnElement[bool] | None) -> ColumnElement[bool]:
    return condition if period is None else and_(period, condition)


def account_ips(
    database: Database, account_id: str, start: datetime | None = None, end: datetime | None = None
) -> list[AccountIp]:
    """Distinct IPs of ``account_id`` between ``start`` and ``end`` (inclusive), busiest first."""
    low, high = _bounds(start, end)
    activity = access_account_activity.c
    seen = access_ip_seen.c
    with database.engine.connect() as connection:
        # one round trip for the common case: the account's span and its rollup together
        joined = connection.execute(
            select(activity.first_access_ms, activity.last_access_ms, seen.ip, seen.first_seen_ms,
                   seen.last_seen_ms, seen.count, seen.country)
            .select_from(access_account_activity.outerjoin(access_ip_seen, seen.account_id == activity.account_id))
            .where(activity.account_id == account_id)
        ).all()
        if not joined or joined[0][1] < low or joined[0][0] > high:
            return []
        rows: Sequence[Any]
        if low <= joined[0][0] and joined[0][1] <= high:
            rows = [row[2:] for row in joined if row[2] is not None]
        else:
            event = access_event.c
            period = period_condition(database, max(low, joined[0][0]), min(high, joined[0][1]))
            rows = connection.execute(
                select(event.ip, func.min(event.time_ms), func.max(event.time_ms), func.count(),
                       func.max(event.country))
                .where(_with_period(and_(event.account_id == account_id, event.time_ms >= low,
                                         event.time_ms <= high), period))
                .group_by(event.ip)
            ).all()
    result = [AccountIp(bytes_to_ip(bytes(ip)), ms_to_datetime(first), ms_to_datetime(last), int(count),
                        country) for ip, first, last, count, country in rows]
    result.sort(key=lambda item: (-item.count, item.first_seen))
    return result


def _encode_cursor(time_ms: int, row: int) -> str:
    return f"{time_ms}.{row}"


def _decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        time_text, row_text = cursor.split(".", 1)
        return int(time_text), int(row_text)
    except ValueError:
        raise EventError.field("cursor", "not a cursor this API gave") from None


def account_events(
    database: Database,
    account_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    limit: int = 100,
    cursor: str | None = None,
) -> EventPage:
    """One page of the raw events of an account, oldest first; pass ``next_cursor`` for the next."""
    if not 1 <= limit <= 10_000:
        raise ValueError("limit must be between 1 and 10000")
    low, high = _bounds(start, end)
    event = access_event.c
    condition = and_(event.account_id == account_id, event.time_ms >= low, event.time_ms <= high)
    if cursor is not None:
        after_time, after_row = _decode_cursor(cursor)
        condition = and_(condition, (event.time_ms > after_time)
                         | and_(event.time_ms == after_time, event.id > after_row))
    rows: list[Any] = []
    with database.engine.connect() as connection:
        span = backend_for(database).activity_span(connection, [account_id])
        if span is None:  # PostgreSQL (partitions pruned by time_ms), or no activity row to bound the periods
            rows = list(connection.execute(
                select(access_event).where(condition).order_by(event.time_ms, event.id).limit(limit + 1)).all())
        else:  # SQLite: period by period, oldest first, until the page (and one more row) is full
            start_ms = max(low, int(span[0]), _decode_cursor(cursor)[0] if cursor is not None else low)
            for period in range(bucket_of(start_ms), bucket_of(min(high, int(span[1]))) + 1):
                rows.extend(connection.execute(
                    select(access_event).where(and_(literal_column("bucket") == period, condition))
                    .order_by(event.time_ms, event.id).limit(limit + 1 - len(rows))).all())
                if len(rows) > limit:
                    break
    page = [
        StoredEvent(
            row=int(r.id),
            event=AccessEvent.from_row((r.event_id, r.account_id, r.principal, int(r.time_ms), bytes(r.ip),
                                        r.action, r.kind, r.user_agent, r.source)),
            country=r.country,
        )
        for r in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = _encode_cursor(int(last.time_ms), int(last.id))
    return EventPage(page, next_cursor)


def accounts_from(
    database: Database, ip_or_cidr: str, start: datetime | None = None, end: datetime | None = None
) -> list[AccountSeen]:
    """Accounts seen from an IP address or a CIDR network (IPv4 or IPv6) in a window.

    Raises ``EventError`` when ``ip_or_cidr`` is neither an address nor a network.
    """
    ip_low, ip_high = network_range(ip_or_cidr)
    low, high = _bounds(start, end)
    seen = access_ip_seen.c
    event = access_event.c
    result: list[AccountSeen] = []
    with database.engine.connect() as connection:
        candidates = connection.execute(
            select(seen.account_id, seen.ip, seen.first_seen_ms, seen.last_seen_ms, seen.count)
            .where(seen.ip >= ip_low, seen.ip <= ip_high, seen.first_seen_ms <= high,
                   seen.last_seen_ms >= low)
        ).all()
        for account_id, ip, first, last, count in candidates:
            if low <= first and last <= high:
                result.append(AccountSeen(account_id, bytes_to_ip(bytes(ip)), ms_to_datetime(first),
                                          ms_to_datetime(last), int(count)))
                continue
            period = period_condition(database, max(low, first), min(high, last))
            exact = connection.execute(
                select(func.min(event.time_ms), func.max(event.time_ms), func.count())
                .where(_with_period(and_(event.ip == ip, event.time_ms >= low, event.time_ms <= high,
                                         event.account_id == account_id), period))
            ).first()
            if exact is not None and exact[2]:
                result.append(AccountSeen(account_id, bytes_to_ip(bytes(ip)), ms_to_datetime(exact[0]),
                                          ms_to_datetime(exact[1]), int(exact[2])))
    result.sort(key=lambda item: (item.account_id, item.first_seen))
    return result


def account_activity(database: Database, account_id: str) -> AccountActivity | None:
    """First and last access of an account (``None`` if it never accessed)."""
    with database.engine.connect() as connection:
        row = connection.execute(
            select(access_account_activity).where(access_account_activity.c.account_id == account_id)
        ).first()
    if row is None:
        return None
    return AccountActivity(row.account_id, ms_to_datetime(int(row.first_access_ms)),
                           ms_to_datetime(int(row.last_access_ms)), int(row.events))
