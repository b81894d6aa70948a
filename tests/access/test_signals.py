"""Signals (C4): special-measure jurisdiction, country inconsistent with the verified identity,
impossible travel, new administrative principal: each with a case that raises and one that must not."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from cloudcip.access.events import AccessEvent
from cloudcip.access.signals import (
    IMPOSSIBLE_TRAVEL,
    INCONSISTENT_COUNTRY,
    NEW_ADMIN_PRINCIPAL,
    SPECIAL_MEASURE,
    Signal,
    SignalAccess,
    SignalPolicy,
    account_signals,
    detect_signals,
    distance_km,
    set_signal_state,
)
from cloudcip.access.store import ingest
from cloudcip.storage.database import Database

T0 = datetime(2026, 5, 1, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)
# registered countries per iptocc: 8.8.8.8 US, 1.1.1.1 AU, 81.2.69.160 GB


def access(row: int, minutes: float, country: str | None, kind: str = "access", principal: str = "p") -> SignalAccess:
    return SignalAccess(row, T0_MS + int(minutes * 60_000), country, kind, principal)


def kinds(signals: list[Signal]) -> list[str]:
    return [s.kind for s in signals]


def test_special_measure_jurisdiction() -> None:
    policy = SignalPolicy(special_measure_countries={"KP", "IR"})
    assert kinds(detect_signals("a", [access(1, 0, "IR")], policy)) == [SPECIAL_MEASURE]
    assert detect_signals("a", [access(1, 0, "FR")], policy) == []
    callable_policy = SignalPolicy(special_measure_countries=lambda code: code == "FR")
    assert kinds(detect_signals("a", [access(1, 0, "FR")], callable_policy)) == [SPECIAL_MEASURE]


def test_country_inconsistent_with_identity() -> None:
    policy = SignalPolicy(identity_countries=lambda account: {"de", "FR"} if account == "known" else None)
    raised = detect_signals("known", [access(1, 0, "BR")], policy)
    assert kinds(raised) == [INCONSISTENT_COUNTRY] and raised[0].detail["country"] == "BR"
    assert detect_signals("known", [access(1, 0, "DE")], policy) == []
    assert detect_signals("unknown", [access(1, 0, "BR")], policy) == []


def test_impossible_travel_by_speed() -> None:
    policy = SignalPolicy()
    fast = detect_signals("a", [access(1, 0, "US"), access(2, 60, "JP")], policy)
    assert kinds(fast) == [IMPOSSIBLE_TRAVEL]
    assert fast[0].detail["speed_kmh"] > 1000 and fast[0].detail["rule"] == "speed"
    assert detect_signals("a", [access(1, 0, "US"), access(2, 20 * 60, "JP")], policy) == []
    assert detect_signals("a", [access(1, 0, "US"), access(2, 1, "US")], policy) == []
    across_batches = detect_signals("a", [access(2, 30, "AU")], policy, previous=access(1, 0, "GB"))
    assert kinds(across_batches) == [IMPOSSIBLE_TRAVEL]
    assert distance_km((0.0, 0.0), (0.0, 1.0)) == pytest.approx(111.19, abs=0.01)


def test_impossible_travel_without_coordinates_uses_country_change_window() -> None:
    policy = SignalPolicy(country_change_minutes=60)
    assert kinds(detect_signals("a", [access(1, 0, "US"), access(2, 30, "ZZ")], policy)) == [IMPOSSIBLE_TRAVEL]
    assert detect_signals("a", [access(1, 0, "US"), access(2, 90, "ZZ")], policy) == []


def test_new_admin_principal() -> None:
    policy = SignalPolicy()
    first_ever = [access(1, 0, None, "admin", "root")]
    assert detect_signals("a", first_ever, policy) == []
    raised = detect_signals("a", [access(1, 0, None, "admin", "root"), access(2, 5, None, "admin", "intruder"),
                                  access(3, 6, None, "admin", "intruder")], policy)
    assert kinds(raised) == [NEW_ADMIN_PRINCIPAL] and raised[0].detail["principal"] == "intruder"
    assert detect_signals("a", [access(2, 5, None, "access", "reader")], policy, known_admin_principals={"root"}) == []
    assert detect_signals("a", [access(2, 5, None, "admin", "root")], policy, known_admin_principals={"root"}) == []


def ev(n: int, minutes: float, ip: str, kind: str = "access", principal: str = "p") -> AccessEvent:
    return AccessEvent(account_id="acct", principal=principal, time=T0 + timedelta(minutes=minutes),
                       ip=ipaddress.ip_address(ip), action="x", kind=kind, id=f"s-{n}")  # type: ignore[arg-type]


def test_signals_at_intake_are_stored_once(db: Database) -> None:
    policy = SignalPolicy(special_measure_countries={"AU"}, identity_countries=lambda _a: {"US"})
    ingest(db, [ev(1, 0, "8.8.8.8", "admin", "root"), ev(2, 1, "8.8.8.8")], signal_policy=policy)
    assert account_signals(db, "acct") == []
    ingest(db, [ev(3, 30, "1.1.1.1"), ev(4, 40, "8.8.8.8", "admin", "newcomer")], signal_policy=policy)
    stored = account_signals(db, "acct")
    assert sorted(s.kind for s in stored) == sorted(
        [SPECIAL_MEASURE, INCONSISTENT_COUNTRY, IMPOSSIBLE_TRAVEL, IMPOSSIBLE_TRAVEL, NEW_ADMIN_PRINCIPAL])
    assert all(s.state == "open" for s in stored)
    assert all("1.1.1.1" not in str(s.detail) and "8.8.8.8" not in str(s.detail) for s in stored)
    ingest(db, [ev(3, 30, "1.1.1.1"), ev(4, 40, "8.8.8.8", "admin", "newcomer")], signal_policy=policy)
    assert len(account_signals(db, "acct")) == len(stored)
    assert set_signal_state(db, stored[0].id, "routed")
    assert account_signals(db, "acct")[0].state == "routed"


def test_store_signals_returns_only_what_it_added(db: Database) -> None:
    """One statement per round: the first of several signals with one key is kept, a key stored
    before is skipped, and what is read back is what was given (time to the microsecond, detail)."""
    from cloudcip.access.signals import store_signals

    at = T0 + timedelta(milliseconds=123)
    first = Signal("acct", SPECIAL_MEASURE, at, {"country": "IR", "event_row": 1}, "IR")
    again = Signal("acct", SPECIAL_MEASURE, at + timedelta(minutes=5), {"country": "IR", "event_row": 2}, "IR")
    other = Signal("acct", IMPOSSIBLE_TRAVEL, at, {"from_country": "US", "to_country": "AU", "speed_kmh": 5000.5},
                   "1-2")
    assert store_signals(db, [first, again, other]) == [first, other]
    assert store_signals(db, [again]) == []
    third = Signal("acct-2", SPECIAL_MEASURE, at, {"country": "IR", "event_row": 9}, "IR")
    assert store_signals(db, [again, third]) == [third]
    stored = sorted((s.kind, s.at, s.detail, s.state) for s in account_signals(db, "acct"))
    assert stored == [(IMPOSSIBLE_TRAVEL, at, other.detail, "open"), (SPECIAL_MEASURE, at, first.detail, "open")]
