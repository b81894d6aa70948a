"""The access history of customers' accounts as location evidence (C1, D2).

The location decision counts the countries an account is persistently accessed from
(``screening.location``: weak below 7 days, medium from 7, strong from 30). This reads them from the
per-account rollup kept at intake (``access_ip_seen``): for each customer and country, the days
between the first and the last access from that country, but never more days than accesses; Tor exits
and hosting or VPN addresses are left out (they say nothing of where a person is). One query per
batch of customers; re-screening receives it through a hook (``rescreen_all(access_history=...)``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, false, func, select

from cloudcip.access.schema import access_ip_seen
from cloudcip.storage.schema import account

DAY_MS = 86_400_000


def access_history_by_customer(conn: Connection, customer_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Customer id -> country -> days of access (see the module docstring)."""
    found: dict[str, dict[str, int]] = {}
    ids = list(customer_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(account.c.customer_id, access_ip_seen.c.country, func.min(access_ip_seen.c.first_seen_ms),
                   func.max(access_ip_seen.c.last_seen_ms), func.sum(access_ip_seen.c.count))
            .join(account, account.c.id == access_ip_seen.c.account_id)
            .where(account.c.customer_id.in_(ids[start:start + 500]), access_ip_seen.c.country.is_not(None),
                   func.coalesce(access_ip_seen.c.tor_exit, false()) == false(),
                   func.coalesce(access_ip_seen.c.hosting, false()) == false())
            .group_by(account.c.customer_id, access_ip_seen.c.country))
        for customer_id, country, first, last, count in rows:
            days = min(int((int(last) - int(first)) // DAY_MS) + 1, int(count or 0))
            if days > 0:
                found.setdefault(str(customer_id), {})[str(country)] = days
    return found
