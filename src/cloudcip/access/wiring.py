"""The signal policy of a running service: measures in force and verified locations (C4, D1, D2).

Access from a jurisdiction under a special measure, and access from a country the verified identity
is not connected to, need what the screening and verification capabilities know; this module asks
them, with a short cache, so intake does not query them per event.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from datetime import date

from sqlalchemy import select

from cloudcip.access.signals import SignalPolicy
from cloudcip.runtime import Services
from cloudcip.screening.service import ScreeningService


def service_signal_policy(services: Services, screening: ScreeningService, ttl_seconds: float = 30.0) -> SignalPolicy:
    """A ``SignalPolicy`` whose measure countries and identity countries come from the live records."""
    from cloudcip.verification.schema import application

    cache: dict[str, tuple[float, object]] = {}

    def measure_covers(country: str) -> bool:
        today = date.today()
        return any(m.status(today) == "in_force" and m.applies_to_jurisdiction(country)
                   for m in screening.measures())

    def identity_countries(account_id: str) -> Collection[str] | None:
        hit = cache.get(account_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]  # type: ignore[return-value]
        with services.database.engine.connect() as conn:
            row = conn.execute(select(application.c.response_json).where(application.c.account_id == account_id)
                               .order_by(application.c.created_at.desc()).limit(1)).first()
        countries: Collection[str] | None = None
        if row is not None:
            countries = {code[:2] for code in json.loads(row.response_json).get("location", []) if len(code) >= 2}
        cache[account_id] = (time.monotonic() + ttl_seconds, countries)
        return countries

    return SignalPolicy(special_measure_countries=measure_covers, identity_countries=identity_countries)
