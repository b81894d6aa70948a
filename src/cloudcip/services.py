"""The objects one cloudcip process shares (B1, B2, B3): settings, the database, the keyring, the
ledger and the customer store.

This container lives apart from :mod:`cloudcip.runtime` so that capability packages may take it
without importing the wiring: ``runtime.open_services`` builds it (and only builds it), the API, the
CLI and the job runner pass it in. A new service should rather take the few things it uses (a
``Database``, a ``Ledger``, a ``CustomerStore``, a keyring, settings values, a clock); ``Services`` is
for the capabilities that already take it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cloudcip.crypto.keyring import LocalKeyring
from cloudcip.ledger.store import Ledger
from cloudcip.records.customer_store import CustomerStore
from cloudcip.settings import Settings
from cloudcip.storage.database import Database


@dataclass
class Services:
    settings: Settings
    database: Database
    keyring: LocalKeyring
    ledger: Ledger
    customers: CustomerStore
    #: what the wiring builds once per process and shares, by name (``runtime.screening_service``,
    #: ``runtime.regulatory_profile``); capabilities receive those objects as arguments, never from here
    wired: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def close(self) -> None:
        self.database.dispose()
