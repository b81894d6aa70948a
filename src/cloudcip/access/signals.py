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
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from cloudcip import clock
from cloudcip.access.events import EventRow, datetime_to_ms, format_time_ms, ms_to_datetime
from cloudcip.access.schema import account_signal
from cloudcip.storage.database import Database

if TYPE_CHECKING:  # the back-ends read this module's types: imported where used
    from cloudcip.access.backends import AccessBackend

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


def store_signals(database: Database, signals: Iterable[Signal]) -> list[Signal]:
    """Store signals not stored before (by account, kind, dedupe key); return the new ones.

    One statement for all of them, in one transaction: the database skips those already stored
    (a redelivered batch re-finds them) and returns the keys it added. Of several signals with one
    key in ``signals`` the first is kept (the earliest, as the rules emit them in time order)."""
    from cloudcip.access.backends import backend_for

    pending = list(signals)
    if not pending:
        return []
    with database.write_gate(), database.engine.begin() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            return store_signals_with(cursor, backend_for(database), pending)
        finally:
            cursor.close()


def store_signals_with(cursor: Any, backend: AccessBackend, signals: Iterable[Signal]) -> list[Signal]:
    """``store_signals`` inside the caller's transaction, through its driver cursor."""
    import orjson

    pending: dict[tuple[str, str, str], Signal] = {}
    for signal in signals:
        pending.setdefault((signal.account_id, signal.kind, signal.dedupe_key), signal)
    if not pending:
        return []
    rows = [(str(uuid.uuid4()), account, kind, signal.at,
             orjson.dumps(signal.detail, option=orjson.OPT_SORT_KEYS).decode(), key)
            for (account, kind, key), signal in pending.items()]
    added = backend.store_signals(cursor, rows)
    return [signal for key, signal in pending.items() if key in added]


LAST_MS = 2**62  # "up to the account's last access"


Inputs = tuple[list[SignalAccess], SignalAccess | None, set[str]]  # accesses, previous located, known admins


def access_of_row(row: Sequence[Any]) -> SignalAccess:
    """A ``SignalAccess`` from a row of (id, time_ms, country, kind, principal)."""
    return SignalAccess(int(row[0]), int(row[1]), row[2], row[3], row[4])


def raise_signals(database: Database, account_id: str, since: datetime | int, policy: SignalPolicy) -> list[Signal]:
    """Evaluate the account's accesses from ``since`` on and store the new signals."""
    since_ms = since if isinstance(since, int) else datetime_to_ms(since)
    return raise_signals_for_accounts(database, {account_id: since_ms}, policy)


def raise_signals_for_accounts(database: Database, earliest: dict[str, int], policy: SignalPolicy) -> list[Signal]:
    """Evaluate each account from its time on (epoch ms): one connection to read, one transaction to
    store what is new. The reads are set-based (``AccessBackend.signal_inputs``); the identities'
    countries are asked for all the accounts at once."""
    windows: dict[str, tuple[int, int | None]] = {account: (since, None) for account, since in earliest.items()}
    return store_signals(database, evaluate_accounts(database, windows, policy))


def evaluate_accounts(database: Database, windows: Mapping[str, tuple[int, int | None]],
                      policy: SignalPolicy) -> list[Signal]:
    """The signals of each account's accesses in its window (epoch ms, since and until; until
    ``None``: up to its last access; with an until, the pair it forms with the next located access
    is evaluated too), stored or not: one connection to read (set-based); the identities'
    countries asked for all the accounts at once. A window that covers the new events of an account
    raises every signal they take part in."""
    from cloudcip.access.backends import backend_for

    found: list[Signal] = []
    with database.engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            inputs = backend_for(database).signal_inputs(cursor, windows, policy)
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
                                    .values(state=state, handled_at=clock.now()))
        return bool(result.rowcount)
