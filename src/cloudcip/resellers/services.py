"""The one reseller service: the register (E1), its oversight (E3) with the scheduled reviews and the
termination clock (E3), with the incident reports of reseller non-compliance and malicious activity (G4).

``runtime.reseller_service`` builds it from a process's services: the profile's termination days and
the incident reporter (a Protocol, so this package does not import the incidents package).
"""

from __future__ import annotations

from cloudcip.resellers.scheduled import ScheduledReviews
from cloudcip.resellers.termination import ResellerTermination


class ResellerService(ScheduledReviews, ResellerTermination):
    """Register, oversight and termination of one database; every change and read on the ledger."""


__all__ = ["ResellerService"]
