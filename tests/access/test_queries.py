"""Queries (C3): an account's IPs in a window, raw events paged by cursor, accounts seen from an
IP or a CIDR (IPv4 and IPv6), first and last access; SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest

from cloudcip.access.events import AccessEvent, EventError, datetime_to_ms, network_range
from cloudcip.access.queries import (
    account_activity,
    account_events,
    account_ips,
    accounts_from,
    accounts_from_many,
)
from cloudcip.access.store import ingest
from cloudcip.storage.database import Database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ev(account: str, ip: str, minutes: int, n: int) -> AccessEvent:
    return AccessEvent(account_id=account, principal="p", time=T0 + timedelta(minutes=minutes),
                       ip=ipaddress.ip_address(ip), action="api.call", id=f"{account}-{n}")


@pytest.fixture
def loaded(db: Database) -> Database:
    events = [
        ev("alpha", "192.0.2.10", 0, 1),
        ev("alpha", "192.0.2.10", 60, 2),
        ev("alpha", "2001:db8:aa::1", 120, 3),
        ev("alpha", "192.0.2.10", 600, 4),
        ev("beta", "192.0.2.200", 30, 1),
        ev("beta", "198.51.100.1", 90, 2),
        ev("gamma", "2001:db8:aa::ffff", 45, 1),
        ev("gamma", "2001:db8:bb::1", 50, 2),
        ev("delta", "192.0.3.1", 10, 1),  # just outside 192.0.2.0/24
    ]
    ingest(db, events)
    return db


def test_account_ips_whole_history_and_window(loaded: Database) -> None:
    everything = account_ips(loaded, "alpha")
    assert [(str(i.ip), i.count) for i in everything] == [("192.0.2.10", 3), ("2001:db8:aa::1", 1)]
    assert everything[0].first_seen == T0 and everything[0].last_seen == T0 + timedelta(minutes=600)
    window = account_ips(loaded, "alpha", T0 + timedelta(minutes=30), T0 + timedelta(minutes=130))
    assert [(str(i.ip), i.count, i.first_seen) for i in window] == [
        ("192.0.2.10", 1, T0 + timedelta(minutes=60)), ("2001:db8:aa::1", 1, T0 + timedelta(minutes=120))]
    assert account_ips(loaded, "alpha", T0 + timedelta(days=1)) == []
    assert account_ips(loaded, "nobody") == []


def test_accounts_from_single_ip_and_cidr(loaded: Database) -> None:
    assert [(a.account_id, a.count) for a in accounts_from(loaded, "192.0.2.10")] == [("alpha", 3)]
    cidr = accounts_from(loaded, "192.0.2.0/24")
    assert sorted({a.account_id for a in cidr}) == ["alpha", "beta"]
    windowed = accounts_from(loaded, "192.0.2.0/24", T0 + timedelta(minutes=50), T0 + timedelta(minutes=100))
    assert [(a.account_id, str(a.ip), a.count) for a in windowed] == [("alpha", "192.0.2.10", 1)]


# (network, window start, window end in minutes from T0 (None: open), the (account, count) pairs seen):
# asked one by one and all at once
MANY_CASES = [
    ("192.0.2.10", None, None, [("alpha", 3)]),  # the rollup answers, exactly
    ("192.0.2.10", 50, 100, [("alpha", 1)]),  # one of alpha's three (re-counted from the events)
    ("192.0.2.0/24", 20, 700, [("alpha", 2), ("beta", 1)]),
    ("192.0.2.0/24", 700, 800, []),  # after everything
    ("2001:db8::/32", 46, 130, [("alpha", 1), ("gamma", 1)]),  # not gamma's first (at 45)
    ("192.0.3.0/30", 0, 10, [("delta", 1)]),  # at the window's very end (inclusive)
]


@pytest.mark.requirement("G3")
def test_accounts_from_many_answers_as_accounts_from_one_by_one(loaded: Database) -> None:
    """A peer's batch of indicators is matched set-based; each network's answer is the one-by-one query's."""
    def at(minutes: int | None) -> datetime | None:
        return None if minutes is None else T0 + timedelta(minutes=minutes)

    def ms(minutes: int | None, open_end: int) -> int:
        return open_end if minutes is None else datetime_to_ms(T0 + timedelta(minutes=minutes))

    queries = [(key, *network_range(network), ms(low, 0), ms(high, 253_402_300_800_000))
               for key, (network, low, high, _seen) in enumerate(MANY_CASES)]
    with loaded.engine.connect() as connection:
        many = accounts_from_many(connection, queries)
    for key, (network, low, high, expected) in enumerate(MANY_CASES):
        answer = [seen for found, seen in many if found == key]
        assert answer == accounts_from(loaded, network, at(low), at(high))
        assert [(seen.account_id, seen.count) for seen in answer] == expected


def test_accounts_from_ipv6_networks(loaded: Database) -> None:
    assert [a.account_id for a in accounts_from(loaded, "2001:db8:aa::/48")] == ["alpha", "gamma"]
    assert [a.account_id for a in accounts_from(loaded, "2001:db8::/32")] == ["alpha", "gamma", "gamma"]
    assert accounts_from(loaded, "2001:db8:cc::/48") == []
    assert [a.account_id for a in accounts_from(loaded, "::ffff:192.0.2.10")] == ["alpha"]
    with pytest.raises(EventError):
        accounts_from(loaded, "192.0.2.0/33")


def test_account_events_are_paged_by_cursor(loaded: Database) -> None:
    ingest(loaded, [ev("alpha", "192.0.2.10", 600, 50 + n) for n in range(5)])  # same millisecond
    pages = []
    cursor = None
    while True:
        page = account_events(loaded, "alpha", limit=3, cursor=cursor)
        pages.append([stored.event.id for stored in page.events])
        cursor = page.next_cursor
        if cursor is None:
            break
    flat = [event_id for page in pages for event_id in page]
    assert len(flat) == 9 and len(set(flat)) == 9
    assert flat[:3] == ["alpha-1", "alpha-2", "alpha-3"]
    assert all(len(page) == 3 for page in pages)
    with pytest.raises(EventError):
        account_events(loaded, "alpha", cursor="garbage")


def test_first_and_last_access(loaded: Database) -> None:
    activity = account_activity(loaded, "alpha")
    assert activity is not None
    assert (activity.first_access, activity.last_access, activity.events) == (T0, T0 + timedelta(minutes=600), 4)
    assert account_activity(loaded, "nobody") is None
