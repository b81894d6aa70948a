"""Benchmark of the record store and the ledger (B2, B3): ``cloudcip bench store --json``.

Figures: customer creates per second in process (sealed, blind-indexed, ledger appended), one per
transaction and in batches; a purge among N customers: until it is answered (the committed purge) and
the shredding after the answer (SQLite: the checkpoint; PostgreSQL: the new purge epoch re-wrapping
every other data key); ledger appends per second in batches; ``ledger verify`` time for a ledger of
N entries. On SQLite, and on PostgreSQL when a URL is given.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import Services, initialise, open_services
from cloudcip.settings import Settings

SIGNUP = Actor("bench:signup", "signup-service")
ADMIN = Actor("bench:admin", "admin")
PURGES = 3


def _measure(services: Services, customers: int, ledger_entries: int) -> dict[str, Any]:
    records = list(SyntheticCustomers(seed=99).records(customers))
    figures: dict[str, Any] = {}

    singles = records[: max(customers // 5, 1)]
    created: list[str] = []
    started = time.perf_counter()
    for record in singles:
        created += services.customers.create([record], SIGNUP)
    elapsed = time.perf_counter() - started
    figures["customer_creates_per_s_one_per_commit"] = round(len(singles) / elapsed)

    batched = records[len(singles):]
    started = time.perf_counter()
    for start in range(0, len(batched), 100):
        services.customers.create(batched[start:start + 100], SIGNUP)
    elapsed = time.perf_counter() - started
    figures["customer_creates_per_s_batch_100"] = round(len(batched) / elapsed)

    services.customers.purge_guard = None  # the retention period is not what is measured here
    answered, shredded = [], []
    for customer_id in created[:PURGES]:
        started = time.perf_counter()
        services.customers.purge(customer_id, ADMIN, purpose="benchmark", shred=False)
        answered.append(time.perf_counter() - started)
        started = time.perf_counter()
        services.customers.shred_files(ADMIN)
        shredded.append(time.perf_counter() - started)
    figures["purge_answered_ms_median"] = round(statistics.median(answered) * 1000, 1)
    figures["purge_shred_after_answer_s_median"] = round(statistics.median(shredded), 3)

    batch = 1000
    appended = 0
    started = time.perf_counter()
    while appended < ledger_entries:
        count = min(batch, ledger_entries - appended)
        actions = [LedgerAction("bench:analyst", "analyst", "read", "customer", f"c{appended + i}",
                                purpose="benchmark") for i in range(count)]
        with services.ledger.unit_of_work() as work:
            for action in actions:
                work.log(action)
        appended += count
    elapsed = time.perf_counter() - started
    figures["ledger_appends_per_s_batch_1000"] = round(appended / elapsed)

    report = services.ledger.verify()
    if not report.ok:
        raise RuntimeError(f"benchmark ledger failed verification: {report.problem}")
    figures["ledger_verify_entries"] = report.tree_size
    figures["ledger_verify_signed_heads"] = report.heads_checked
    figures["ledger_verify_seconds"] = round(report.seconds, 2)
    return figures


def run(customers: int = 5000, ledger_entries: int = 1_000_000, postgres_url: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"customers": customers, "ledger_entries": ledger_entries}
    with tempfile.TemporaryDirectory(prefix="cloudcip-bench-") as directory:
        settings = Settings(data_dir=Path(directory) / "data", database_url=f"sqlite:///{directory}/bench.db")
        initialise(settings)
        services = open_services(settings)
        try:
            result["sqlite"] = _measure(services, customers, ledger_entries)
        finally:
            services.close()
        if postgres_url:
            schema = "bench_" + secrets.token_hex(4)
            admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                separator = "&" if "?" in postgres_url else "?"
                url = f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
                pg_settings = Settings(data_dir=Path(directory) / "pgdata", database_url=url)
                initialise(pg_settings)
                services = open_services(pg_settings)
                try:
                    result["postgresql"] = _measure(services, customers, ledger_entries)
                finally:
                    services.close()
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--ledger-entries", type=int, default=1_000_000)
    parser.add_argument("--postgres-url")
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.customers, arguments.ledger_entries, arguments.postgres_url)))
