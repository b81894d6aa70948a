"""The objects one cloudcip process shares, built from its settings (B1, B2, B3).

``initialise`` is what ``cloudcip init`` does (idempotent); ``open_services`` builds the
:class:`cloudcip.services.Services` every command and the API use afterwards. Only the outer layer
(``api``, ``cli``, ``console``, ``jobs`` wiring, benchmarks, tests) imports this module; capability
packages take ``Services`` from :mod:`cloudcip.services` (``docs/architecture.md``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from cloudcip.crypto.keyring import LocalKeyring
from cloudcip.errors import Unavailable
from cloudcip.ledger.schema import ledger_state
from cloudcip.ledger.store import Checkpoint, Ledger, create_signing_key, initial_state_row, load_signing_key
from cloudcip.records.customer_store import CustomerStore
from cloudcip.services import Services as Services  # re-exported: the wiring builds it here
from cloudcip.settings import Settings
from cloudcip.storage import migrate
from cloudcip.storage.database import open_database

if TYPE_CHECKING:
    from cloudcip.legal.production import ProductionService
    from cloudcip.records.legal_process import LegalProcessService
    from cloudcip.records.lifecycle import AccountLifecycle
    from cloudcip.records.preservation import HoldService
    from cloudcip.records.retention import RetentionService
    from cloudcip.reports.attestation import AttestationService
    from cloudcip.reports.certification import CertificationService
    from cloudcip.reports.cip_requests import CipCopyRequests
    from cloudcip.reports.contact import ContactService
    from cloudcip.reports.roster import RosterService
    from cloudcip.verification.applications import ApplicationService
    from cloudcip.verification.policy import CipPolicy


class NotInitialised(Unavailable, RuntimeError):
    """The data directory or database has not been set up with ``cloudcip init`` (the command exits 2,
    as for any other usage error)."""

    exit_code = 2


@dataclass
class InitReport:
    created_data_dir: bool
    created_keyring: bool
    created_signing_key: bool
    migrated_from: frozenset[str]
    migrated_to: frozenset[str]


def initialise(settings: Settings, *, schema: str | None = None) -> InitReport:
    """Create the data directory, keyring (0600), ledger signing key, and migrate the database."""
    created_dir = not settings.data_dir.exists()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.data_dir, 0o700)
    created_keyring = not settings.keyring_path.exists()
    if created_keyring:
        LocalKeyring.create(settings.keyring_path)
    created_key = not settings.ledger_key_path.exists()
    if created_key:
        create_signing_key(settings.ledger_key_path)
    from cloudcip.jobs.webhooks import ensure_webhook_secret

    ensure_webhook_secret(settings.data_dir)
    database = open_database(settings.database_url, schema=schema)
    try:
        before = migrate.current_revisions(database)
        migrate.upgrade(database)
        with database.engine.begin() as conn:
            if conn.execute(select(ledger_state.c.id)).first() is None:
                conn.execute(insert(ledger_state), [initial_state_row()])
        after = migrate.current_revisions(database)
    finally:
        database.dispose()
    return InitReport(created_dir, created_keyring, created_key, before, after)


def open_services(settings: Settings, *, schema: str | None = None) -> Services:
    if not settings.keyring_path.exists() or not settings.ledger_key_path.exists():
        raise NotInitialised(f"{settings.data_dir} is not initialised; run `cloudcip init`")
    database = open_database(settings.database_url, schema=schema)
    if migrate.current_revisions(database) != migrate.head_revisions(database):
        database.dispose()
        raise NotInitialised("the database schema is not up to date; run `cloudcip init`")
    keyring = LocalKeyring(settings.keyring_path)
    ledger = Ledger(
        database=database,
        signing_key=load_signing_key(settings.ledger_key_path),
        checkpoint=Checkpoint(settings.ledger_checkpoint_path, settings.witness_url),
    )
    services = Services(settings, database, keyring, ledger, CustomerStore(database, keyring, ledger))
    services.customers.purge_guard = retention_service(services).early_purge_guard
    return services


# -- the records lifecycle's services (B1, B4, B5), built from the shared objects --------------------
def account_lifecycle(services: Services) -> AccountLifecycle:
    from cloudcip.records.lifecycle import AccountLifecycle

    return AccountLifecycle(services.database, services.ledger, services.profile.retention.years)


def retention_service(services: Services) -> RetentionService:
    from cloudcip.records.retention import RetentionService
    from cloudcip.resellers.retention import delete_sub_lessees

    return RetentionService(services.database, services.ledger, services.customers,
                            services.profile.retention.years, reseller_purge=delete_sub_lessees)


def legal_processes(services: Services) -> LegalProcessService:
    from cloudcip.records.legal_process import LegalProcessService

    return LegalProcessService(services.database, services.ledger, services.keyring)


def legal_holds(services: Services) -> HoldService:
    from cloudcip.records.preservation import HoldService

    return HoldService(services.database, services.ledger)


def productions(services: Services) -> ProductionService:
    from cloudcip.legal.production import ProductionService

    return ProductionService(services.database, services.ledger, services.customers)


# -- reporting to Commerce (H1, H3) -------------------------------------------------------------------
def policy_in_force(services: Services) -> CipPolicy:
    from cloudcip.verification.policy import default_policy, load_policy

    path = services.settings.policy_path
    return load_policy(path) if path else default_policy()


def certification_service(services: Services) -> CertificationService:
    from cloudcip.reports.certification import CertificationService

    return CertificationService(services.database, services.ledger, services.customers, policy_in_force(services))


def roster_service(services: Services) -> RosterService:
    from cloudcip.reports.roster import RosterService

    return RosterService(services.database, services.ledger, services.profile.retention.years)


def reporting_contacts(services: Services) -> ContactService:
    from cloudcip.reports.contact import ContactService

    return ContactService(services.ledger)


def gate_applications(services: Services, applications: ApplicationService) -> ApplicationService:
    """H1: with the certification gate on (``CLOUDCIP_CERTIFICATION_GATE``, on by default), the signup
    decision asks whether a CIP certification is filed before granting a foreign customer access."""
    if services.settings.certification_gate:
        from cloudcip.reports.certification import certification_gate

        applications.approval_gate = certification_gate(services.database)
    return applications


def attestation_service(services: Services) -> AttestationService:
    from cloudcip.reports.attestation import AttestationService

    return AttestationService(services.database, services.ledger, certification_service(services),
                              policy_in_force(services), services.profile.certification.attestation_interval_days)


def cip_copy_requests(services: Services) -> CipCopyRequests:
    from cloudcip.reports.cip_requests import CipCopyRequests

    return CipCopyRequests(services.database, services.ledger, policy_in_force(services), services.profile)
