"""The objects one cloudcip process shares, built from its settings (B1, B2, B3).

``initialise`` is what ``cloudcip init`` does (idempotent); ``open_services`` builds the
:class:`cloudcip.services.Services` every command and the API use afterwards. Only the outer layer
(``api``, ``cli``, ``console``, ``jobs`` wiring, benchmarks, tests) imports this module; capability
packages take ``Services`` from :mod:`cloudcip.services` (``docs/architecture.md``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, insert, select

from cloudcip.crypto.keyring import LocalKeyring
from cloudcip.errors import Unavailable
from cloudcip.ledger.schema import ledger_state
from cloudcip.ledger.store import (
    Checkpoint,
    Ledger,
    create_signing_key,
    initial_state_row,
    load_signing_key,
)
from cloudcip.records.customer_store import CustomerStore
from cloudcip.records.purge import Forget
from cloudcip.records.roles import Actor
from cloudcip.services import Services as Services  # re-exported: the wiring builds it here
from cloudcip.settings import Settings
from cloudcip.storage import migrate
from cloudcip.storage.database import open_database

if TYPE_CHECKING:
    from cloudcip.exemptions.register import ExemptionRegister
    from cloudcip.jobs.runner import PeriodicTask
    from cloudcip.legal.production import ProductionService
    from cloudcip.records.legal_process import LegalProcessService
    from cloudcip.records.lifecycle import AccountLifecycle
    from cloudcip.records.preservation import HoldService
    from cloudcip.records.retention import RetentionService
    from cloudcip.records.roles import Actor
    from cloudcip.reports.attestation import AttestationService
    from cloudcip.reports.certification import CertificationService
    from cloudcip.reports.cip_requests import CipCopyRequests
    from cloudcip.reports.contact import ContactService
    from cloudcip.reports.roster import RosterService
    from cloudcip.resellers.linking import SubLesseeLinks
    from cloudcip.resellers.services import ResellerService
    from cloudcip.screening.rescreen import ThenRescreen
    from cloudcip.screening.service import ScreeningService
    from cloudcip.sharing.ingest import IndicatorIntake
    from cloudcip.verification.applications import ApplicationService
    from cloudcip.verification.assessment import SignupIpLookup
    from cloudcip.verification.policy import CipPolicy
    from cloudcip.verification.profile import RegulatoryProfile


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
            from cloudcip.screening.hits import seal_clear_explanations

            # B2: hit explanations stored in clear before migration 0013 are sealed (a migration holds no key)
            seal_clear_explanations(conn, LocalKeyring(settings.keyring_path).blind_index_key())
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
    services.customers.forget = purge_hooks()
    services.customers.on_break_glass = break_glass_alarm
    return services


_T = TypeVar("_T")
_wiring_lock = threading.Lock()


def _built_once(services: Services, name: str, kind: type[_T], build: Callable[[], _T]) -> _T:
    """The object ``name`` of ``services``, built by ``build`` the first time it is asked for."""
    with _wiring_lock:
        found = services.wired.get(name)
        if not isinstance(found, kind):
            found = build()
            services.wired[name] = found
        return found


def screening_service(services: Services) -> ScreeningService:
    """D3, D4: the process's one screening service (one in-memory index of the in-force lists and
    measures): decisions, the screening routes, the console, re-screening, sub-lessees, the signal
    follower and the CLI all take this one."""
    from cloudcip.screening.service import ScreeningService

    return _built_once(services, "screening", ScreeningService, lambda: ScreeningService(services))


def regulatory_profile(services: Services) -> RegulatoryProfile:
    """The regulatory profile in force (``CLOUDCIP_PROFILE``: a shipped name or a YAML file), read once."""
    from cloudcip.verification.profile import RegulatoryProfile, load_profile

    return _built_once(services, "profile", RegulatoryProfile, lambda: load_profile(services.settings.profile))


def application_service(services: Services, *, ip_lookup: SignupIpLookup | None = None) -> ApplicationService:
    """The application service of a process, on its one screening service (A1-A8)."""
    from cloudcip.verification.applications import build_application_service

    return build_application_service(services, screening=screening_service(services), ip_lookup=ip_lookup)


BREAK_GLASS_EVENT = "record.break_glass"


def break_glass_alarm(conn: Connection, actor: Actor, customer_id: str) -> None:
    """B4: a break-glass read is loud: a webhook notice to the provider (``record.break_glass``, in the
    read's transaction) and the ``cloudcip_break_glass_reads_total`` metric, beside its ledger entry."""
    from cloudcip.jobs.webhooks import enqueue
    from cloudcip.metrics import BREAK_GLASS_READS

    enqueue(conn, BREAK_GLASS_EVENT, {"customer_id": customer_id, "actor_id": actor.name, "actor_kind": actor.role})
    BREAK_GLASS_READS.inc()


def purge_hooks() -> tuple[Forget, ...]:
    """B1, B2: what each capability forgets of a purged customer record, inside the one purge's
    transaction (``records.purge``), in this order."""
    from cloudcip.linkage.forget import forget_links
    from cloudcip.resellers.retention import forget_sub_lessees
    from cloudcip.screening.hits import forget_hits
    from cloudcip.verification.forget import forget_applications

    return (forget_hits, forget_sub_lessees, forget_applications, forget_links)


# -- the records lifecycle's services (B1, B4, B5), built from the shared objects --------------------
def account_lifecycle(services: Services) -> AccountLifecycle:
    from cloudcip.records.lifecycle import AccountLifecycle

    return AccountLifecycle(services.database, services.ledger, regulatory_profile(services).retention.years)


def retention_service(services: Services) -> RetentionService:
    from cloudcip.records.retention import RetentionService

    return RetentionService(services.database, services.ledger, services.customers,
                            regulatory_profile(services).retention.years)


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
    from cloudcip.verification.policy_store import policy_in_force as in_force

    return in_force(services.database, services.settings.policy_path).policy


def certification_service(services: Services) -> CertificationService:
    from cloudcip.reports.certification import CertificationService

    def release_held_cases(actor: Actor) -> int:
        return gate_applications(services, application_service(services)).release_held_cases(actor)

    return CertificationService(services.database, services.ledger, services.customers, policy_in_force(services),
                                on_filed=release_held_cases)


def roster_service(services: Services) -> RosterService:
    from cloudcip.reports.roster import RosterService

    return RosterService(services.database, services.ledger, regulatory_profile(services).retention.years)


def reporting_contacts(services: Services) -> ContactService:
    from cloudcip.reports.contact import ContactService

    return ContactService(services.ledger)


def gate_applications(services: Services, applications: ApplicationService) -> ApplicationService:
    """The signup decision's hooks into other capabilities (the API, the CLI and ``serve`` all build the
    application service through here):

    - H1: with the certification gate on (``CLOUDCIP_CERTIFICATION_GATE``, on by default), the decision
      asks whether a CIP certification is filed before granting a foreign customer access;
    - F1: the exemption register answers which exemptions apply to a signup
      (``verification.signup_exemptions``) and keeps their use;
    - G1: the signup asks the linkage graph for links to flagged accounts (a strong one is a ban-evasion
      signal the policy's ``ban_evasion_link`` trigger sends to review) and records the newcomer in it.
    """
    if services.settings.certification_gate:
        from cloudcip.reports.certification import certification_gate

        applications.approval_gate = certification_gate(services.database)
    if applications.signup_links is None:
        from cloudcip.linkage.hook import LinkageSignupHook
        from cloudcip.linkage.service import LinkageService

        applications.signup_links = LinkageSignupHook(LinkageService(
            services.database, services.keyring, services.ledger, address_facts=signup_address_facts(applications),
            now=lambda: services.ledger.clock()))
    applications.exemptions = exemption_register(services)  # F1: the signup exemptions hook
    return applications


def signup_address_facts(applications: ApplicationService) -> Callable[[str], tuple[int | None, bool]] | None:
    """G1: the ASN of a signup address and whether it lies in a hosting/VPN range, from the IP
    intelligence the signup decision already holds (``applications.ip_lookup``, ``signup_ip_lookup``):
    the linkage graph links two signups by ASN only when it is a hosting provider's (an address in an
    imported hosting range, whose ASN is known); a residential or mobile carrier's ASN links nobody."""
    lookup = applications.ip_lookup
    if lookup is None:
        return None

    def facts(address: str) -> tuple[int | None, bool]:
        found = lookup(address)
        return found.asn, found.hosting

    return facts


def sub_lessee_links(services: Services) -> SubLesseeLinks:
    """E2, G1, G3: a shared sub-lessee joins the linkage graph on arrival (its links to flagged subjects
    and its matches of the peers' stored indicators are in the share's answer)."""
    from cloudcip.linkage.hook import LinkageSubLesseeHook
    from cloudcip.linkage.service import LinkageService

    return LinkageSubLesseeHook(LinkageService(services.database, services.keyring, services.ledger,
                                               now=lambda: services.ledger.clock()))


def indicator_intake(services: Services) -> IndicatorIntake:
    """G3: the intake of peers' indicators, matching e-mail and wallet observables through the linkage
    graph (customers, beneficial owners and sub-lessees) besides the access ledger and payment means."""
    from cloudcip.linkage.indicators import LinkedHolders
    from cloudcip.sharing.ingest import IndicatorIntake

    key = services.keyring.blind_index_key()
    return IndicatorIntake(services.database, services.ledger, key, holders=LinkedHolders(key))


def exemption_register(services: Services) -> ExemptionRegister:
    """F1: the exemption register, on the ledger's clock (the signup decision's)."""
    from cloudcip.exemptions.register import ExemptionRegister

    return ExemptionRegister(services.database, services.ledger, now=lambda: services.ledger.clock())


def attestation_service(services: Services) -> AttestationService:
    from cloudcip.reports.attestation import AttestationService

    return AttestationService(services.database, services.ledger, certification_service(services),
                              policy_in_force(services),
                              regulatory_profile(services).certification.attestation_interval_days)


def cip_copy_requests(services: Services) -> CipCopyRequests:
    from cloudcip.reports.cip_requests import CipCopyRequests

    return CipCopyRequests(services.database, services.ledger, policy_in_force(services), regulatory_profile(services),
                           reseller_cips=lambda actor: reseller_service(services).foreign_cip_documents(actor))


# -- the periodic tasks every cloudcip process runs (A6, B1, E3, F1, H2, H3) ---------------------------------
RETENTION_TASK = "retention"
REPORTING_REMINDERS_TASK = "reporting-reminders"
ACCOUNT_CLOSURES_TASK = "account-closures"


def run_retention(services: Services, now: datetime) -> object:
    """B1: the daily retention run: purge what the retention period no longer keeps, never under a hold."""
    return retention_service(services).run(now)


def follow_account_closures(services: Services, _now: datetime) -> object:
    """B1: close the accounts whose ``account.closed`` events arrived in the access-event stream."""
    return account_lifecycle(services).follow_closures()


def send_reporting_reminders(services: Services, now: datetime) -> object:
    """H2, H3: a ``reporting.due`` webhook for each reporting item due within 14 days or overdue."""
    return attestation_service(services).send_reminders(now.date())


RESELLER_CLOCKS_TASK = "reseller-termination-clocks"
RESELLER_REVIEWS_TASK = "reseller-reviews"
EXEMPTIONS_ENDED_TASK = "exemptions-ended"
#: who the scheduled oversight acts as, on the ledger
OVERSIGHT_JOB = Actor("job:reseller-oversight", "compliance-officer")
EXEMPTIONS_JOB = Actor("job:exemptions", "compliance-officer")


def run_reseller_clocks(services: Services, now: datetime) -> object:
    """E3: the termination clocks on the job's day: reminders at 14, 7, 3 and 1 days left, and on the last
    day the reseller's accounts restricted and the relationship terminated (idempotent within a day)."""
    service = reseller_service(services)
    service.now = lambda: now
    return service.run_clocks(OVERSIGHT_JOB, now.date())


def run_reseller_reviews(services: Services, now: datetime) -> object:
    """E3: the scheduled reviews that fall due on the job's day open and draw their sample."""
    service = reseller_service(services)
    service.now = lambda: now
    return service.run_due_reviews(OVERSIGHT_JOB)


def flag_ended_exemptions(services: Services, now: datetime) -> object:
    """F1: exemptions that expired or were revoked by ``now``: their exempted steps go back on the accounts
    that used them (re-verification due); a signup after the end is never exempted by them."""
    from cloudcip.exemptions.register import ExemptionRegister

    return ExemptionRegister(services.database, services.ledger, now=lambda: now).flag_ended(EXEMPTIONS_JOB)


def default_tasks() -> list[PeriodicTask]:
    """The periodic tasks every cloudcip process runs (the job runner's webhook delivery, then the
    records' and reporting's, built here because they need the wiring); ``serve`` appends its own."""
    from cloudcip.jobs.runner import WEBHOOK_DELIVERY_TASK, PeriodicTask, deliver_webhooks

    return [
        PeriodicTask(WEBHOOK_DELIVERY_TASK, every_seconds=10.0, run=deliver_webhooks),
        PeriodicTask(ACCOUNT_CLOSURES_TASK, every_seconds=10.0, run=follow_account_closures),
        PeriodicTask(RESELLER_CLOCKS_TASK, every_seconds=3600.0, run=run_reseller_clocks),
        PeriodicTask(RESELLER_REVIEWS_TASK, every_seconds=3600.0, run=run_reseller_reviews),
        PeriodicTask(EXEMPTIONS_ENDED_TASK, every_seconds=600.0, run=flag_ended_exemptions),
        PeriodicTask(RETENTION_TASK, every_seconds=86_400.0, run=run_retention),
        PeriodicTask(REPORTING_REMINDERS_TASK, every_seconds=86_400.0, run=send_reporting_reminders),
    ]


def reseller_service(services: Services) -> ResellerService:
    """E1, E3, G4: the reseller register with the profile's termination days; a finding of
    non-compliance or malicious activity reports through the incident service."""

    from cloudcip.incidents.service import IncidentService
    from cloudcip.resellers.services import ResellerService

    incidents = IncidentService(services.database, services.ledger, services.customers)
    settings = regulatory_profile(services).resellers
    return ResellerService(services.database, services.ledger, services.customers,
                           termination_days=settings.termination_days, reporter=incidents.reseller_report,
                           review_interval_days=settings.review_interval_days,
                           review_sample_size=settings.review_sample_size)


def sub_lessee_rescreen(services: Services) -> ThenRescreen:
    """D4, E2: what re-screening runs after the customers: the resellers' sub-lessees, in a resumable
    run of their own (``resellers.rescreen``), so screening needs no import of resellers."""
    from cloudcip.resellers.rescreen import rescreen_sub_lessees

    def then(screening: ScreeningService, now: datetime, actor: Actor, reason: str
             ) -> tuple[int, int, list[dict[str, Any]]]:
        return rescreen_sub_lessees(services, screening, now, actor=actor, reason=reason)

    return then
