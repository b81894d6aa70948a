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
- ``accounts_from_many``: the same for many networks and windows at once, set-based (a batch of peers'
  indicators, G3): one statement per chunk over the rollup, one more for the pairs to re-count.
- ``account_activity``: first and last access of an account.

Callers (API, CLI) record each query in the ledger with its purpose (B3); this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    literal_column,
    select,
)

from cloudcip.access.backends import backend_for, backend_named
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


MANY_CHUNK = 2_000  # networks per statement over the rollup
# the networks and windows as a VALUES list joined to the rollup's (ip, account_id) index (raw SQL: built
# by SQLAlchemy, 10,000 bound values cost more to compile than to run)
_ACCOUNTS_FROM_MANY = (
    "WITH wanted(k, ip_low, ip_high, low, high) AS (VALUES {rows}) "
    "SELECT w.k, w.low, w.high, s.account_id, s.ip, s.first_seen_ms, s.last_seen_ms, s.count "
    "FROM wanted AS w JOIN access_ip_seen AS s ON s.ip >= w.ip_low AND s.ip <= w.ip_high "
    "AND s.first_seen_ms <= w.high AND s.last_seen_ms >= w.low")


def accounts_from_many(
    connection: Connection, queries: Sequence[tuple[int, bytes, bytes, int, int]]
) -> list[tuple[int, AccountSeen]]:
    """``accounts_from`` for many ``(key, ip_low, ip_high, low_ms, high_ms)`` at once (G3), in the
    caller's connection: the rollup's ``(ip, account_id)`` index is sought once per network by the
    database itself; pairs whose whole span lies inside their window are exact, the others are
    re-counted from the events by the engine's back-end in one set-based statement. Each key's
    accounts as ``accounts_from`` orders them (account, then first seen)."""
    exact: list[tuple[int, AccountSeen]] = []
    partial: list[tuple[int, str, bytes, int, int]] = []
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    row_markers = f"(CAST({marker} AS BIGINT), {marker}, {marker}, CAST({marker} AS BIGINT), CAST({marker} AS BIGINT))"
    for start in range(0, len(queries), MANY_CHUNK):
        chunk = queries[start:start + MANY_CHUNK]
        statement = _ACCOUNTS_FROM_MANY.format(rows=",".join([row_markers] * len(chunk)))  # placeholders only
        rows = connection.exec_driver_sql(statement, tuple(value for query in chunk for value in query)).all()
        for key, low, high, account_id, ip, first, last, count in rows:
            if low <= first and last <= high:
                exact.append((int(key), AccountSeen(account_id, bytes_to_ip(bytes(ip)), ms_to_datetime(first),
                                                    ms_to_datetime(last), int(count))))
            else:
                partial.append((int(key), account_id, bytes(ip), max(int(low), int(first)), min(int(high), int(last))))
    counted = backend_named(connection.dialect.name).window_counts(
        connection, [(position, *pair[1:]) for position, pair in enumerate(partial)])
    for position, (first, last, count) in counted.items():
        key, account_id, ip, _low, _high = partial[position]
        exact.append((key, AccountSeen(account_id, bytes_to_ip(ip), ms_to_datetime(first), ms_to_datetime(last),
                                       count)))
    exact.sort(key=lambda item: (item[0], item[1].account_id, item[1].first_seen))
    return exact


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
