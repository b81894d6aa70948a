"""B1: deleting an account's access history (events, rollups, first/last access, signals) on both engines;
whose retention ended and which holds stand is decided by records.retention (tests/records)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from cloudcip.access.events import AccessEvent
from cloudcip.access.retention import delete_access_history
from cloudcip.access.schema import access_account_activity, access_event, access_ip_seen
from cloudcip.access.store import ingest
from cloudcip.storage.database import Database

NOW = datetime(2030, 6, 1, tzinfo=UTC)


def access(account: str, when: datetime) -> AccessEvent:
    return AccessEvent(account_id=account, principal="p", time=when, ip=ipaddress.ip_address("192.0.2.1"),
                       action="login", id=f"{account}-{when.isoformat()}")


def test_the_history_of_the_given_accounts_goes_and_nothing_else(db: Database) -> None:
    ingest(db, [access("old", NOW - timedelta(days=3 * 365)), access("old", NOW - timedelta(days=900)),
                access("kept", NOW - timedelta(days=30))])
    with db.engine.begin() as connection:
        assert delete_access_history(connection, ["old", "never-seen"]) == 2
    with db.engine.connect() as connection:
        for table in (access_event, access_ip_seen, access_account_activity):
            assert connection.execute(select(table.c.account_id, func.count()).group_by(table.c.account_id)
                                      ).all() == [("kept", 1)]
