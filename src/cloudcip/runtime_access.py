"""The access capability's hooks into screening and verification, built by the wiring (C4, D1, D2, G2).

``signup_ip_lookup`` gives the signup decision the facts of the signup address
(``verification.assessment.SignupIpLookup``) from the imported IP intelligence; ``service_signal_policy``
gives the access-event intake what screening and verification know (the jurisdictions under a special
measure, the countries a verified identity is connected to), with a short cache. The API, ``serve``
and the CLI build them here; like ``runtime``, no capability package imports this module
(``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from cloudcip.services import Services

if TYPE_CHECKING:
    from cloudcip.access.signals import SignalPolicy
    from cloudcip.screening.service import ScreeningService
    from cloudcip.storage.database import Database
    from cloudcip.verification.assessment import SignupAddress


def signup_ip_lookup(database: Database) -> Callable[[str], SignupAddress]:
    """The signup address's facts for the signup decision (``verification.assessment.SignupIpLookup``):
    the offline registered country, and whether the address is a Tor exit or lies in an imported
    hosting/VPN range (``access.ipintel``), over the IP intelligence imported when it is built (one
    load, then in memory). An address in such a range counts for nothing in the location decision and
    raises the risk tier."""
    import ipaddress

    from cloudcip.access.events import ip_to_bytes
    from cloudcip.access.ipintel import IpIntel
    from cloudcip.verification.assessment import SignupAddress

    intel = IpIntel.load(database)
    # the signup decision asks twice of the same address (its assessment, then its links): the last
    # answer is kept (the intelligence is loaded once, so an address's facts do not change)
    last: list[tuple[str, SignupAddress]] = []

    def lookup(address: str) -> SignupAddress:
        kept = last[0] if last else None
        if kept is not None and kept[0] == address:
            return kept[1]
        try:
            facts = intel.facts(ip_to_bytes(ipaddress.ip_address(address)))
        except ValueError:
            found = SignupAddress()
        else:
            found = SignupAddress(facts.country, bool(facts.hosting), bool(facts.tor_exit), facts.asn)
        last[:] = [(address, found)]
        return found

    return lookup


def service_signal_policy(services: Services, screening: ScreeningService, ttl_seconds: float = 30.0) -> SignalPolicy:
    """The signal policy of a running service (C4, D1, D2): access from a jurisdiction under a special
    measure, and access from a country the verified identity is not connected to, need what the
    screening and verification capabilities know; this asks them, with a short cache, so intake does
    not query them per event."""
    import json
    import time

    from sqlalchemy import select

    from cloudcip import clock
    from cloudcip.access.signals import SignalPolicy
    from cloudcip.verification.schema import application

    cache: dict[str, tuple[float, object]] = {}

    def measure_covers(country: str) -> bool:
        today = clock.today()
        return any(m.status(today) == "in_force" and m.applies_to_jurisdiction(country)
                   for m in screening.measures())

    def _countries(response_json: str) -> Collection[str]:
        return {code[:2] for code in json.loads(response_json).get("location", []) if len(code) >= 2}

    def identity_countries(account_id: str) -> Collection[str] | None:
        return identity_countries_many([account_id])[account_id]

    def identity_countries_many(accounts: Sequence[str]) -> dict[str, Collection[str] | None]:
        """The latest application's locations of each account: the cached ones, and one query per
        500 of the others."""
        now = time.monotonic()
        found: dict[str, Collection[str] | None] = {}
        missing: list[str] = []
        for account_id in accounts:
            hit = cache.get(account_id)
            if hit is not None and hit[0] > now:
                found[account_id] = hit[1]  # type: ignore[assignment]
            else:
                missing.append(account_id)
        if missing:
            with services.database.engine.connect() as conn:
                for start in range(0, len(missing), 500):
                    chunk = missing[start:start + 500]
                    latest: dict[str, str] = {}
                    for row in conn.execute(select(application.c.account_id, application.c.response_json)
                                            .where(application.c.account_id.in_(chunk))
                                            .order_by(application.c.account_id, application.c.created_at)):
                        latest[row.account_id] = row.response_json  # the newest one comes last
                    for account_id in chunk:
                        answer = latest.get(account_id)
                        found[account_id] = _countries(answer) if answer is not None else None
            expires = time.monotonic() + ttl_seconds
            if len(cache) > 100_000:
                cache.clear()
            for account_id in missing:
                cache[account_id] = (expires, found[account_id])
        return found

    return SignalPolicy(special_measure_countries=measure_covers, identity_countries=identity_countries,
                        identity_countries_many=identity_countries_many)
