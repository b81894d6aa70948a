"""Ongoing-verification signals raised from an account's accesses (C4).

Four kinds, each stored once per account and dedupe key in ``account_signal`` (so re-running over
the same events, or a redelivery, raises nothing new):

- ``special_measure_jurisdiction``: an access from a country under a special measure (the policy
  gives the set of ISO codes, or a callable, e.g. the measures register of D1); one per country.
- ``country_inconsistent_with_identity``: an access from a country the verified identity does not
  connect to (the policy gives, per account, the countries of nationality, residence, ID issue,
  phone, payment...; ``None`` = unknown, no signal); one per country.
- ``impossible_travel``: two consecutive accesses (with known countries) whose country centroids lie
  further apart than ``max_speed_kmh`` allows (default 1000 km/h). When a country has no centroid in
  ``COUNTRY_CENTROIDS`` the rule is a change of country within ``country_change_minutes``.
- ``new_admin_principal``: the first administrative action by a principal the account had not seen
  act administratively before (the account's very first administrative principal is not a signal
  unless ``include_first_admin_principal``).

The details stored hold countries, times and event row numbers, never an IP address.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from cloudcip.access.events import EventRow, datetime_to_ms, format_time_ms, ms_to_datetime
from cloudcip.access.schema import account_signal, bucket_of, buckets_between
from cloudcip.storage.database import Database

SPECIAL_MEASURE = "special_measure_jurisdiction"
INCONSISTENT_COUNTRY = "country_inconsistent_with_identity"
IMPOSSIBLE_TRAVEL = "impossible_travel"
NEW_ADMIN_PRINCIPAL = "new_admin_principal"
SIGNAL_KINDS: tuple[str, ...] = (SPECIAL_MEASURE, INCONSISTENT_COUNTRY, IMPOSSIBLE_TRAVEL, NEW_ADMIN_PRINCIPAL)
SIGNAL_STATES: tuple[str, ...] = ("open", "routed", "dismissed", "actioned")

# Approximate geographic centroids (latitude, longitude in degrees) of the countries most often seen
# in access logs; compiled for this project from general geographic knowledge, rounded to 0.1 degree.
COUNTRY_CENTROIDS: dict[str, tuple[float, float]] = {
    "AE": (23.4, 53.8), "AF": (33.9, 67.7), "AR": (-38.4, -63.6), "AT": (47.5, 14.6),
    "AU": (-25.3, 133.8), "BD": (23.7, 90.4), "BE": (50.5, 4.5), "BG": (42.7, 25.5),
    "BR": (-14.2, -51.9), "BY": (53.7, 28.0), "CA": (56.1, -106.3), "CH": (46.8, 8.2),
    "CL": (-35.7, -71.5), "CN": (35.9, 104.2), "CO": (4.6, -74.3), "CU": (21.5, -77.8),
    "CZ": (49.8, 15.5), "DE": (51.2, 10.5), "DK": (56.3, 9.5), "DZ": (28.0, 1.7),
    "EC": (-1.8, -78.2), "EE": (58.6, 25.0), "EG": (26.8, 30.8), "ES": (40.5, -3.7),
    "ET": (9.1, 40.5), "FI": (61.9, 25.7), "FR": (46.2, 2.2), "GB": (55.4, -3.4),
    "GH": (7.9, -1.0), "GR": (39.1, 21.8), "HK": (22.4, 114.1), "HR": (45.1, 15.2),
    "HU": (47.2, 19.5), "ID": (-0.8, 113.9), "IE": (53.4, -8.2), "IL": (31.0, 34.9),
    "IN": (20.6, 79.0), "IQ": (33.2, 43.7), "IR": (32.4, 53.7), "IS": (65.0, -19.0),
    "IT": (41.9, 12.6), "JP": (36.2, 138.3), "KE": (0.0, 37.9), "KH": (12.6, 105.0),
    "KP": (40.3, 127.5), "KR": (35.9, 127.8), "KW": (29.3, 47.5), "KZ": (48.0, 66.9),
    "LK": (7.9, 80.8), "LT": (55.2, 23.9), "LU": (49.8, 6.1), "LV": (56.9, 24.6),
    "MA": (31.8, -7.1), "MD": (47.4, 28.4), "MM": (21.9, 96.0), "MN": (46.9, 103.8),
    "MX": (23.6, -102.5), "MY": (4.2, 102.0), "NG": (9.1, 8.7), "NL": (52.1, 5.3),
    "NO": (60.5, 8.5), "NP": (28.4, 84.1), "NZ": (-40.9, 174.9), "PE": (-9.2, -75.0),
    "PH": (12.9, 121.8), "PK": (30.4, 69.3), "PL": (51.9, 19.1), "PT": (39.4, -8.2),
    "QA": (25.4, 51.2), "RO": (45.9, 25.0), "RS": (44.0, 21.0), "RU": (61.5, 105.3),
    "SA": (23.9, 45.1), "SE": (60.1, 18.6), "SG": (1.35, 103.8), "SI": (46.2, 15.0),
    "SK": (48.7, 19.7), "SY": (34.8, 39.0), "TH": (15.9, 101.0), "TN": (33.9, 9.5),
    "TR": (39.0, 35.2), "TW": (23.7, 121.0), "UA": (48.4, 31.2), "US": (39.8, -98.6),
    "UZ": (41.4, 64.6), "VE": (6.4, -66.6), "VN": (14.1, 108.3), "ZA": (-30.6, 22.9),
}


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371 km)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class SignalPolicy:
    """What raises a signal. Country sets may be given as collections or as callables."""

    special_measure_countries: Collection[str] | Callable[[str], bool] = frozenset()
    identity_countries: Callable[[str], Collection[str] | None] | None = None
    # optional: the same for many accounts at once (one query per round instead of one per account)
    identity_countries_many: Callable[[Sequence[str]], Mapping[str, Collection[str] | None]] | None = None
    max_speed_kmh: float = 1000.0
    country_change_minutes: float = 60.0
    new_admin_principal: bool = True
    include_first_admin_principal: bool = False
    centroids: dict[str, tuple[float, float]] = field(default_factory=lambda: COUNTRY_CENTROIDS)

    def under_special_measure(self, country: str) -> bool:
        check = self.special_measure_countries
        if callable(check):
            return bool(check(country))
        return country in check

    def identities_of(self, accounts: Sequence[str]) -> Mapping[str, Collection[str] | None]:
        """The verified identity's countries of each account (``None``: unknown)."""
        if self.identity_countries_many is not None:
            return self.identity_countries_many(accounts)
        if self.identity_countries is None:
            return {}
        return {account: self.identity_countries(account) for account in accounts}


@dataclass(frozen=True, slots=True)
class SignalAccess:
    """What the signal rules need of one access."""

    row: int
    time_ms: int
    country: str | None
    kind: str
    principal: str


@dataclass(frozen=True)
class Signal:
    account_id: str
    kind: str
    at: datetime
    detail: dict[str, Any]
    dedupe_key: str


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


_ASK: Any = object()


def detect_signals(
    account_id: str,
    accesses: Sequence[SignalAccess],
    policy: SignalPolicy,
    *,
    previous: SignalAccess | None = None,
    known_admin_principals: Collection[str] = (),
    identity: Collection[str] | None = _ASK,
    measured: dict[str, bool] | None = None,
) -> list[Signal]:
    """The signals raised by ``accesses`` (oldest first), given the access just before them and the
    principals already seen acting administratively on the account. Pure: reads no database.
    ``identity``: the identity's countries when the caller looked them up for many accounts at
    once (else the policy is asked); ``measured``: a cache of ``under_special_measure`` by country
    that the caller shares between accounts."""
    signals: list[Signal] = []
    if identity is _ASK:
        identity = policy.identity_countries(account_id) if policy.identity_countries is not None else None
    identity_set = {code.upper() for code in identity} if identity is not None else None
    known = set(known_admin_principals)
    had_admin = bool(known)
    last_located = previous if previous is not None and previous.country else None
    if measured is None:
        measured = {}
    for access in accesses:
        country = access.country
        if country:
            under = measured.get(country)
            if under is None:
                under = measured[country] = policy.under_special_measure(country)
            if under:
                signals.append(Signal(account_id, SPECIAL_MEASURE, ms_to_datetime(access.time_ms),
                                      {"country": country, "event_row": access.row}, country))
            if identity_set is not None and country not in identity_set:
                signals.append(Signal(account_id, INCONSISTENT_COUNTRY, ms_to_datetime(access.time_ms),
                                      {"country": country, "identity_countries": sorted(identity_set),
                                       "event_row": access.row}, country))
            if last_located is not None and last_located.country != country:
                travel = _impossible_travel(last_located, access, policy)
                if travel is not None:
                    signals.append(Signal(account_id, IMPOSSIBLE_TRAVEL, ms_to_datetime(access.time_ms), travel,
                                          f"{last_located.row}-{access.row}"))
            last_located = access
        if access.kind == "admin" and policy.new_admin_principal and access.principal not in known:
            if had_admin or policy.include_first_admin_principal:
                signals.append(Signal(account_id, NEW_ADMIN_PRINCIPAL, ms_to_datetime(access.time_ms),
                                      {"principal": access.principal, "event_row": access.row},
                                      _digest(access.principal)))
            known.add(access.principal)
            had_admin = True
    return signals


def _impossible_travel(before: SignalAccess, after: SignalAccess, policy: SignalPolicy) -> dict[str, Any] | None:
    assert before.country is not None and after.country is not None
    elapsed_ms = max(1000, after.time_ms - before.time_ms)  # one second at least
    start = policy.centroids.get(before.country)
    end = policy.centroids.get(after.country)
    rule: dict[str, Any]
    if start is not None and end is not None:
        kilometres = distance_km(start, end)
        speed = kilometres / (elapsed_ms / 3_600_000)
        if speed <= policy.max_speed_kmh:
            return None
        rule = {"rule": "speed", "distance_km": round(kilometres, 1), "speed_kmh": round(speed, 1),
                "threshold_kmh": policy.max_speed_kmh}
    elif elapsed_ms <= policy.country_change_minutes * 60_000:
        rule = {"rule": "country_change", "threshold_minutes": policy.country_change_minutes}
    else:
        return None
    return {
        "from_country": before.country,
        "to_country": after.country,
        "from_time": format_time_ms(before.time_ms),
        "to_time": format_time_ms(after.time_ms),
        "from_event_row": before.row,
        "to_event_row": after.row,
        **rule,
    }


# --------------------------------------------------------------------------------------------------
# With the database


_STORE_SQLITE = (
    "INSERT INTO account_signal (id, account_id, kind, at, detail_json, state, dedupe_key) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), "
    "json_extract(value, '$[3]'), json_extract(value, '$[4]'), 'open', json_extract(value, '$[5]') "
    "FROM json_each(?) WHERE true ON CONFLICT (account_id, kind, dedupe_key) DO NOTHING "
    "RETURNING account_id, kind, dedupe_key")
_STORE_POSTGRES = (
    "INSERT INTO account_signal (id, account_id, kind, at, detail_json, state, dedupe_key) "
    "SELECT id, account_id, kind, at, detail_json, 'open', dedupe_key FROM unnest("
    "%s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::text[], %s::text[]) "
    "AS s(id, account_id, kind, at, detail_json, dedupe_key) "
    "ON CONFLICT (account_id, kind, dedupe_key) DO NOTHING RETURNING account_id, kind, dedupe_key")


def store_signals(database: Database, signals: Iterable[Signal]) -> list[Signal]:
    """Store signals not stored before (by account, kind, dedupe key); return the new ones.

    One statement for all of them, in one transaction: the database skips those already stored
    (a redelivered batch re-finds them) and returns the keys it added. Of several signals with one
    key in ``signals`` the first is kept (the earliest, as the rules emit them in time order)."""
    pending = list(signals)
    if not pending:
        return []
    with database.write_gate(), database.engine.begin() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            return store_signals_with(cursor, database.is_postgresql, pending)
        finally:
            cursor.close()


def store_signals_with(cursor: Any, postgresql: bool, signals: Iterable[Signal]) -> list[Signal]:
    """``store_signals`` inside the caller's transaction, through its driver cursor."""
    import orjson

    pending: dict[tuple[str, str, str], Signal] = {}
    for signal in signals:
        pending.setdefault((signal.account_id, signal.kind, signal.dedupe_key), signal)
    if not pending:
        return []
    ids = [str(uuid.uuid4()) for _ in pending]
    details = [orjson.dumps(signal.detail, option=orjson.OPT_SORT_KEYS).decode() for signal in pending.values()]
    if postgresql:
        keys = list(pending)
        cursor.execute(_STORE_POSTGRES, (ids, [k[0] for k in keys], [k[1] for k in keys],
                                         [signal.at for signal in pending.values()], details, [k[2] for k in keys]))
    else:  # the text form SQLAlchemy gives a DateTime on SQLite (UTC, no offset)
        rows = [(row_id, account, kind, f"{signal.at.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}", detail, key)
                for row_id, (account, kind, key), signal, detail
                in zip(ids, pending, pending.values(), details, strict=True)]
        cursor.execute(_STORE_SQLITE, (orjson.dumps(rows).decode(),))
    added = {(account, kind, key) for account, kind, key in cursor.fetchall()}
    return [signal for key, signal in pending.items() if key in added]


LAST_MS = 2**62  # "up to the account's last access"


def _activity_spans(cursor: Any, accounts: list[str]) -> dict[str, tuple[int, int]]:
    """SQLite: first and last access of many accounts, 500 per query."""
    spans: dict[str, tuple[int, int]] = {}
    for start in range(0, len(accounts), 500):
        chunk = accounts[start:start + 500]
        markers = ",".join("?" * len(chunk))  # placeholders only: the ids are bound
        cursor.execute("SELECT account_id, first_access_ms, last_access_ms FROM access_account_activity "  # noqa: S608
                       f"WHERE account_id IN ({markers})", chunk)
        spans.update((account, (int(first), int(last))) for account, first, last in cursor.fetchall())
    return spans


Inputs = tuple[list[SignalAccess], SignalAccess | None, set[str]]  # accesses, previous located, known admins


def _access_of(row: Sequence[Any]) -> SignalAccess:
    return SignalAccess(int(row[0]), int(row[1]), row[2], row[3], row[4])


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
    import orjson

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


def _sqlite_inputs(cursor: Any, windows: Mapping[str, tuple[int, int | None]],
                   spans: Mapping[str, tuple[int, int]], policy: SignalPolicy) -> dict[str, Inputs]:
    """The rules' inputs of many accounts at once (``Inputs``: the accesses, the located access just
    before, the principals that acted administratively before), for each account's
    window (since, until; until ``None``: its last access): the accesses in it, for every period it
    covers; the located access before it and (with an until) the one after it, searched period by
    period, all accounts in step; the known administrative principals over the periods before it."""
    import orjson

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
    by_id = {int(row[0]): _access_of(row) for row in cursor.execute(
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


# Set-based reads (PostgreSQL): the windows as arrays, each read one statement for all accounts.
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


def _postgres_inputs(cursor: Any, windows: Mapping[str, tuple[int, int | None]],
                     policy: SignalPolicy) -> dict[str, Inputs]:
    """The rules' inputs of many accounts at once on PostgreSQL (as ``_sqlite_inputs``): four
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
        previous = {row[0]: _access_of(row[1:]) for row in cursor.fetchall()}
        bounded = [account for account in located if windows[account][1] is not None]
        if bounded:
            cursor.execute(_PG_NEXT, arrays(bounded, lambda a: windows[a][1] or 0))
            for row in cursor.fetchall():
                accesses[row[0]].append(_access_of(row[1:]))
    known: dict[str, set[str]] = {}
    admins = sorted(account for account, rows in accesses.items() if any(access.kind == "admin" for access in rows))
    if policy.new_admin_principal and admins:
        cursor.execute(_PG_KNOWN_ADMINS, arrays(admins, lambda a: 0))
        for account, principal in cursor.fetchall():
            known.setdefault(account, set()).add(principal)
    return {account: (rows, previous.get(account), known.get(account, set())) for account, rows in accesses.items()}


def raise_signals(database: Database, account_id: str, since: datetime | int, policy: SignalPolicy) -> list[Signal]:
    """Evaluate the account's accesses from ``since`` on and store the new signals."""
    since_ms = since if isinstance(since, int) else datetime_to_ms(since)
    return raise_signals_for_accounts(database, {account_id: since_ms}, policy)


def raise_signals_for_accounts(database: Database, earliest: dict[str, int], policy: SignalPolicy) -> list[Signal]:
    """Evaluate each account from its time on (epoch ms): one connection to read, one transaction to
    store what is new. On SQLite the reads are set-based (``_sqlite_inputs``); the identities'
    countries are asked for all the accounts at once."""
    windows: dict[str, tuple[int, int | None]] = {account: (since, None) for account, since in earliest.items()}
    return store_signals(database, evaluate_accounts(database, windows, policy))


def evaluate_accounts(database: Database, windows: Mapping[str, tuple[int, int | None]],
                      policy: SignalPolicy) -> list[Signal]:
    """The signals of each account's accesses in its window (epoch ms, since and until; until
    ``None``: up to its last access; with an until, the pair it forms with the next located access
    is evaluated too), stored or not: one connection to read (set-based on SQLite); the identities'
    countries asked for all the accounts at once. A window that covers the new events of an account
    raises every signal they take part in."""
    found: list[Signal] = []
    with database.engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            accounts = sorted(windows)
            if database.is_sqlite:
                # an account without an activity row has no access stored (a purge raced the batch)
                inputs = _sqlite_inputs(cursor, windows, _activity_spans(cursor, accounts), policy)
            else:
                inputs = _postgres_inputs(cursor, windows, policy)
        finally:
            cursor.close()
    identities = policy.identities_of(sorted(inputs))
    measured: dict[str, bool] = {}
    for account_id in sorted(inputs):
        accesses, previous, known = inputs[account_id]
        found.extend(detect_signals(account_id, accesses, policy, previous=previous, known_admin_principals=known,
                                    identity=identities.get(account_id), measured=measured))
    return found


def raise_signals_for_rows(database: Database, rows: Iterable[EventRow], policy: SignalPolicy) -> list[Signal]:
    """Evaluate every account of a just-stored batch from the batch's earliest time for it on."""
    earliest: dict[str, int] = {}
    for row in rows:
        current = earliest.get(row[1])
        if current is None or row[3] < current:
            earliest[row[1]] = row[3]
    return raise_signals_for_accounts(database, earliest, policy)


@dataclass(frozen=True)
class StoredSignal:
    id: str
    account_id: str
    kind: str
    at: datetime
    detail: dict[str, Any]
    state: str


def account_signals(database: Database, account_id: str) -> list[StoredSignal]:
    """The signals of an account, oldest first (what the account page shows)."""
    with database.engine.connect() as connection:
        rows = connection.execute(
            select(account_signal).where(account_signal.c.account_id == account_id)
            .order_by(account_signal.c.at, account_signal.c.id)
        ).all()
    result = []
    for row in rows:
        at = row.at if row.at.tzinfo is not None else row.at.replace(tzinfo=UTC)
        result.append(StoredSignal(row.id, row.account_id, row.kind, at, json.loads(row.detail_json), row.state))
    return result


def set_signal_state(database: Database, signal_id: str, state: str) -> bool:
    """Move a signal to ``routed``, ``dismissed`` or ``actioned`` (the policy's review routing)."""
    if state not in SIGNAL_STATES:
        raise ValueError(f"state must be one of {', '.join(SIGNAL_STATES)}")
    with database.engine.begin() as connection:
        result = connection.execute(update(account_signal).where(account_signal.c.id == signal_id)
                                    .values(state=state))
        return bool(result.rowcount)
