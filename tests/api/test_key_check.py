"""B4: a worker keeps the role and expiry of the keys it has authenticated and reads on every request
what can change of the key's row; a key revoked, expired, replaced or gone is refused by the very next
request, a wrong secret is never let through (``api.key_check``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from sqlalchemy import delete, update

from cloudcip.api.key_check import KeyCheck
from cloudcip.records import api_keys
from cloudcip.records.roles import Actor, create_api_key
from cloudcip.runtime import Services
from cloudcip.storage.schema import api_key


@pytest.fixture
def authenticated(services: Services) -> Iterator[list[str]]:
    """The keys ``records.api_keys.authenticate`` was asked about."""
    asked: list[str] = []
    original = api_keys.authenticate

    def counting(conn: object, presented: str, now: datetime | None = None) -> Actor | None:
        asked.append(presented)
        return original(conn, presented, now)  # type: ignore[arg-type]

    with mock.patch.object(api_keys, "authenticate", counting):
        yield asked


def _key(services: Services, role: str = "analyst", expires_at: datetime | None = None) -> str:
    with services.database.engine.begin() as conn:
        return create_api_key(conn, role, "test", datetime.now(UTC), expires_at=expires_at)  # type: ignore[arg-type]


#: both ways in: ``actor_of`` on a connection, ``actor_on`` on the engine's pool (``api.auth``'s)
ENTRIES = pytest.mark.parametrize("entry", ["connection", "engine"])


def _actor(services: Services, check: KeyCheck, presented: str, now: datetime | None = None,
           entry: str = "connection") -> Actor | None:
    if entry == "engine":
        return check.actor_on(services.database.engine, presented, now or datetime.now(UTC))
    with services.database.engine.connect() as conn:
        return check.actor_of(conn, presented, now or datetime.now(UTC))


@pytest.mark.requirement("B4")
@ENTRIES
def test_a_key_seen_before_is_checked_against_its_row_without_authenticating_it_again(
        services: Services, authenticated: list[str], entry: str) -> None:
    check, key = KeyCheck(), _key(services, "signup-service")
    first, again = _actor(services, check, key, entry=entry), _actor(services, check, key, entry=entry)
    assert first == again == Actor(f"apikey:{key.split('_')[1]}", "signup-service")
    assert authenticated == [key]


@pytest.mark.requirement("B4")
@ENTRIES
def test_revoked_expired_replaced_or_gone_keys_are_refused_by_the_next_request(
        services: Services, authenticated: list[str], entry: str) -> None:
    now = datetime.now(UTC)
    check = KeyCheck()
    revoked, expiring, replaced, gone = (_key(services), _key(services, expires_at=now + timedelta(hours=1)),
                                         _key(services), _key(services))
    for key in (revoked, expiring, replaced, gone):
        assert _actor(services, check, key, now, entry) is not None
    with services.database.engine.begin() as conn:
        api_keys.revoke_api_key(conn, revoked.split("_")[1], now)
        conn.execute(update(api_key).where(api_key.c.id == replaced.split("_")[1]).values(secret_hash="0" * 64))
        conn.execute(delete(api_key).where(api_key.c.id == gone.split("_")[1]))
    assert _actor(services, check, revoked, now, entry) is None
    assert _actor(services, check, expiring, now + timedelta(minutes=59), entry) is not None
    assert _actor(services, check, expiring, now + timedelta(hours=1), entry) is None
    assert _actor(services, check, replaced, now, entry) is None
    assert _actor(services, check, gone, now, entry) is None
    # each refusal was authenticate's: what was kept let none of them through
    assert authenticated[4:] == [revoked, expiring, replaced, gone]


@pytest.mark.requirement("B4")
@ENTRIES
def test_a_wrong_secret_for_a_key_seen_before_is_refused(services: Services, entry: str) -> None:
    check, key = KeyCheck(), _key(services)
    assert _actor(services, check, key, entry=entry) is not None
    prefix, key_id, secret = key.split("_", 2)
    for wrong in (f"{prefix}_{key_id}_{secret[:-1]}", f"{prefix}_{key_id}_{secret}x", f"{prefix}_{key_id}_"):
        assert _actor(services, check, wrong, entry=entry) is None
    assert _actor(services, check, key, entry=entry) is not None
