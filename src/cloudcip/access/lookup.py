"""The signup address's facts for the signup decision (C4 intelligence used by D2 and G2).

The verification capability asks through a hook (``verification.assessment.SignupIpLookup``); the
wiring (API, CLI) passes this one: the offline registered country, and whether the address is a Tor
exit or lies in an imported hosting/VPN range (``ipintel``). An address in such a range counts for
nothing in the location decision and raises the risk tier.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from cloudcip.access.events import ip_to_bytes
from cloudcip.access.ipintel import IpIntel
from cloudcip.storage.database import Database
from cloudcip.verification.assessment import SignupAddress


def signup_ip_lookup(database: Database) -> Callable[[str], SignupAddress]:
    """A lookup over the IP intelligence imported when it is built (one load, then in memory)."""
    intel = IpIntel.load(database)

    def lookup(address: str) -> SignupAddress:
        try:
            facts = intel.facts(ip_to_bytes(ipaddress.ip_address(address)))
        except ValueError:
            return SignupAddress()
        return SignupAddress(facts.country, bool(facts.hosting), bool(facts.tor_exit))

    return lookup
