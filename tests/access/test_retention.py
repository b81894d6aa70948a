"""Retention clock (B1): from closure or last access, whichever is later; never under a legal hold."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from cloudcip.access.events import AccessEvent
from cloudcip.access.retention import purge_access, retention_due, years_before
from cloudcip.access.schema import access_event, legal_hold
from cloudcip.access.store import ingest
from cloudcip.storage.database import Database
from cloudcip.storage.metadata import metadata

NOW = datetime(2030, 6, 1, tzinfo=UTC)


def access(account: str, when: datetime) -> AccessEvent:
    return AccessEvent(account_id=account, principal="p", time=when, ip=ipaddress.ip_address("192.0.2.1"),
                       action="login", id=f"{account}-{when.isoformat()}")


def test_due_after_two_years_of_silence_unless_held(db: Database) -> None:
    ingest(db, [
        access("old", NOW - timedelta(days=3 * 365)),
        access("recent", NOW - timedelta(days=30)),
        access("held", NOW - timedelta(days=4 * 365)),
        access("released", NOW - timedelta(days=4 * 365)),
        access("revived", NOW - timedelta(days=5 * 365)),
        access("revived", NOW - timedelta(days=100)),
    ])
    with db.engine.begin() as connection:
        connection.execute(insert(legal_hold), [
            {"account_id": "held", "placed_at": NOW - timedelta(days=10), "released_at": None, "reason": "case 1"},
            {"account_id": "released", "placed_at": NOW - timedelta(days=100),
             "released_at": NOW - timedelta(days=1), "reason": "case 2"},
        ])
    assert retention_due(db, profile_years=2, now=NOW) == ["old", "released"]
    assert retention_due(db, profile_years=5, now=NOW) == []
    result = purge_access(db, ["old", "held"], now=NOW)
    assert result.accounts == ["old"] and result.skipped_held == ["held"] and result.events == 1
    with db.engine.connect() as connection:
        remaining = connection.execute(select(access_event.c.account_id, func.count()).group_by(
            access_event.c.account_id).order_by(access_event.c.account_id)).all()
    assert [row[0] for row in remaining] == ["held", "recent", "released", "revived"]
    assert retention_due(db, profile_years=2, now=NOW) == ["released"]


def test_closure_later_than_last_access_moves_the_clock(db: Database) -> None:
    account = metadata.tables.get("account")
    ingest(db, [access("closed-late", NOW - timedelta(days=3 * 365))])
    if account is None or "closed_at" not in account.c:
        assert retention_due(db, now=NOW) == ["closed-late"]
        return
    # the CIP record's tables (customer, account) exist: the closure date counts
    needed = [metadata.tables[name] for name in ("customer", "account") if name in metadata.tables]
    metadata.create_all(db.engine, tables=needed)
    with db.engine.begin() as connection:
        columns = {c.name for c in account.c}
        if "customer" in metadata.tables:
            customer = metadata.tables["customer"]
            connection.execute(insert(customer).values(
                id="c-1", kind="individual", status="active", created_at=NOW, updated_at=NOW))
        values = {"id": "closed-late", "customer_id": "c-1", "type": "standard", "channel": "self_serve",
                  "state": "closed", "opened_at": NOW - timedelta(days=4 * 365),
                  "closed_at": NOW - timedelta(days=365)}
        connection.execute(insert(account).values({k: v for k, v in values.items() if k in columns}))
    assert retention_due(db, now=NOW) == []
    assert retention_due(db, now=NOW + timedelta(days=366)) == ["closed-late"]


def test_years_before_handles_leap_day() -> None:
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 2) == datetime(2026, 2, 28, tzinfo=UTC)
