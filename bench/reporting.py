"""Reporting and records-lifecycle figures (H1, H3, B1, B5): ``cloudcip bench reporting --json``.

Generates N customers (default 100,000; individuals and entities with beneficial owners, a share of
Reseller Accounts with accounts under them, access history for every account), each account with a
decided case and U.S./foreign determinations, all closed three years before now. Then measures:

- the examiner's roster exported as CSV (every account);
- the certification rendered from live data;
- a production of 1,000 accounts (a court order naming their customers) with inclusion proofs, and
  its offline verification;
- the retention run over every record (all due).

Peak memory (ru_maxrss) is read after the data is generated and after each step: the steps stream,
so it does not grow with the number of accounts. Each step's wall-clock time comes with the CPU time
the process spent on it (``*_cpu_s``: on a shared machine the wall clock mostly measures the wait for
a core), and the figures with the machine's load at the start and at the end.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cloudcip import clock
from cloudcip.access.events import AccessEvent
from cloudcip.access.store import ingest
from cloudcip.domain.customer import EntityCustomer
from cloudcip.legal.package import verify_package
from cloudcip.records.legal_process import LegalProcessInput
from cloudcip.records.roles import Actor
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import (
    certification_service,
    initialise,
    legal_processes,
    open_services,
    productions,
    retention_service,
    roster_service,
)
from cloudcip.settings import Settings
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.schema import account
from cloudcip.verification.schema import application, person_determination

SIGNUP = Actor("bench:signup", "signup-service")
OFFICER = Actor("bench:officer", "compliance-officer")
LEGAL = Actor("bench:legal", "legal")
ADMIN = Actor("bench:admin", "admin")


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _generate(services: Any, customers: int, events_per_account: int, batch: int = 1_000) -> list[str]:
    """Customers, accounts (2 % resellers, 5 % of the rest under one), decided cases, access history."""
    generator = SyntheticCustomers(seed=14)
    rng = random.Random(14)
    opened = clock.now() - timedelta(days=5 * 365)
    closed = clock.now() - timedelta(days=3 * 365)
    customer_ids: list[str] = []
    resellers: list[str] = []
    made = 0
    while made < customers:
        records = list(generator.records(min(batch, customers - made)))
        ids = services.customers.create(records, SIGNUP)
        accounts, cases, determinations, events = [], [], [], []
        for record, customer_id in zip(records, ids, strict=True):
            account_id = str(uuid.uuid4())
            kind = "reseller" if rng.random() < 0.02 else "standard"
            parent = rng.choice(resellers) if resellers and kind == "standard" and rng.random() < 0.05 else None
            if kind == "reseller":
                resellers.append(account_id)
            foreign = record.address.country != "US"
            state = "approved" if rng.random() < 0.8 else "pending_evidence"
            accounts.append({"id": account_id, "customer_id": customer_id, "type": kind, "channel": "self_serve",
                             "state": "closed", "parent_account_id": parent, "external_ref": None,
                             "opened_at": opened, "closed_at": closed})
            case_id = str(uuid.uuid4())
            cases.append({
                "id": case_id, "customer_id": customer_id, "account_id": account_id, "idempotency_key": None,
                "request_hash": "0" * 64, "account_type": kind, "channel": "self_serve", "risk_tier": "standard",
                "state": state, "decision": state, "policy_rule": "standard-individual", "failure_action": "restrict",
                "notice_version": "notice-2024-01", "deadline": None, "reverify_due": None, "resolution": None,
                "signup_ip_sealed": None, "response_json": json.dumps({"location": [record.address.country]}),
                "created_at": opened, "updated_at": opened})
            determinations.append({"application_id": case_id, "subject": "customer",
                                   "status": "foreign_person" if foreign else "us_person",
                                   "basis": "undetermined" if foreign else "us_location", "evidence_json": "[]",
                                   "decided_at": opened})
            if isinstance(record, EntityCustomer):
                determinations += [{"application_id": case_id, "subject": f"beneficial_owner:{position}",
                                    "status": "foreign_person" if owner.nationality != "US" else "us_person",
                                    "basis": "nationality", "evidence_json": "[]", "decided_at": opened}
                                   for position, owner in enumerate(record.beneficial_owners)]
            address = ipaddress.ip_address(f"198.51.{rng.randrange(256)}.{rng.randrange(1, 255)}")
            events += [AccessEvent(account_id=account_id, principal="root", ip=address, action="login",
                                   time=opened + timedelta(days=rng.randrange(700)), id=f"{account_id}-{n}")
                       for n in range(events_per_account)]
        with services.database.engine.begin() as conn:
            insert_rows(conn, account, accounts)
            insert_rows(conn, application, cases)
            insert_rows(conn, person_determination, determinations)
        ingest(services.database, events, enrich=None)
        customer_ids.extend(ids)
        made += len(ids)
    return customer_ids


def run(customers: int = 100_000, events_per_account: int = 3, production_accounts: int = 1_000) -> dict[str, Any]:
    figures: dict[str, Any] = {"customers": customers, "events_per_account": events_per_account}
    with tempfile.TemporaryDirectory(prefix="cloudcip-bench-reporting-") as directory:
        settings = Settings(data_dir=Path(directory) / "data", database_url=f"sqlite:///{directory}/data/cloudcip.db")
        initialise(settings)
        services = open_services(settings)
        try:
            figures["load_average_1m_at_start"] = round(os.getloadavg()[0], 2)
            started = time.perf_counter()
            customer_ids = _generate(services, customers, events_per_account)
            figures["generate_s"] = round(time.perf_counter() - started, 1)
            figures["rss_after_generate_mib"] = _rss_mib()

            started, cpu = time.perf_counter(), time.process_time()
            rows = roster_service(services).export(Path(directory) / "roster.csv", "csv", OFFICER)
            figures.update({"roster_rows": rows, "roster_export_s": round(time.perf_counter() - started, 2),
                            "roster_export_cpu_s": round(time.process_time() - cpu, 2),
                            "rss_after_roster_mib": _rss_mib()})

            started, cpu = time.perf_counter(), time.process_time()
            form = certification_service(services).render(OFFICER)
            figures.update({"certification_s": round(time.perf_counter() - started, 2),
                            "certification_cpu_s": round(time.process_time() - cpu, 2),
                            "certification_customers": form["items"]["customers"]["total"],
                            "rss_after_certification_mib": _rss_mib()})

            named = random.Random(3).sample(customer_ids, min(production_accounts, len(customer_ids)))
            process = legal_processes(services).register(LegalProcessInput(
                kind="court_order", authority="bench court", reference="bench-1", customers=named), LEGAL)
            package = Path(directory) / "production.zip"
            started, cpu = time.perf_counter(), time.process_time()
            made = productions(services).create(process.id, package, LEGAL)
            figures.update({"production_accounts": made.accounts, "production_ledger_entries": made.ledger_entries,
                            "production_s": round(time.perf_counter() - started, 2),
                            "production_cpu_s": round(time.process_time() - cpu, 2),
                            "production_bytes": package.stat().st_size, "rss_after_production_mib": _rss_mib()})
            started, cpu = time.perf_counter(), time.process_time()
            check = verify_package(package, services.ledger.public_key)
            figures.update({"production_verify_ok": check.ok, "production_verify_s":
                            round(time.perf_counter() - started, 2),
                            "production_verify_cpu_s": round(time.process_time() - cpu, 2)})
            legal_processes(services).close(process.id, LEGAL)

            started, cpu = time.perf_counter(), time.process_time()
            report = retention_service(services).run(clock.now(), actor=ADMIN)
            figures.update({"retention_customers_purged": report.customers_purged,
                            "retention_accounts_purged": report.accounts_purged,
                            "retention_events_deleted": report.events_deleted,
                            "retention_run_s": round(time.perf_counter() - started, 2),
                            "retention_run_cpu_s": round(time.process_time() - cpu, 2),
                            "rss_after_retention_mib": _rss_mib(),
                            "ledger_size": services.ledger.size()})
            figures.update({"load_average_1m": round(os.getloadavg()[0], 2),
                            "measured_at": datetime.now(UTC).isoformat(timespec="seconds")})
        finally:
            services.close()
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.customers)))
