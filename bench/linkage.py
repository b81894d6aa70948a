"""Benchmark of linkage (G1): ``cloudcip bench linkage --json``.

Stores N customers (default 1,000,000) with one account each (2 % refused or closed), and their link
identifiers as the signup would (e-mail, phone, card, signup /24 shared by 50 customers behind one
NAT; 1 % of customers share a card with another), then measures:

- ``rebuild_s``: a full cluster rebuild (union-find over the strong identifiers);
- ``check_ms_p50/p99`` (wall) and ``check_cpu_ms_p50/p99`` (the process's CPU): the links and
  ban-evasion check a signup decision adds (tokens of a new
  record, one indexed lookup, the flags of the customers found); a tenth of the checks hit a stored card;
- ``show_ms_p50/p99``: ``links show`` of a stored customer (its identifiers, linked subjects, access
  links, flags, cluster);
- ``risk_score_distribution`` and ``risk_tiers``: the scores of a sample of accounts by band of ten
  points and by tier under the weights and bands of the policy in force (``CLOUDCIP_POLICY``'s
  ``risk_score``, else the defaults), so a provider can set its bands.

Figures are of the machine it runs on; note the load when quoting them.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from cloudcip.crypto.blind_index import blind_index
from cloudcip.domain.customer import CustomerRecord
from cloudcip.linkage.identifiers import _token
from cloudcip.linkage.risk import RiskScorer
from cloudcip.linkage.schema import link_identifier
from cloudcip.linkage.service import LinkageService
from cloudcip.runtime import initialise, open_services, policy_in_force
from cloudcip.settings import Settings
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.schema import account, customer

ADAPTER: TypeAdapter[CustomerRecord] = TypeAdapter(CustomerRecord)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def card_of(i: int) -> str:
    return f"4{i:014d}0"


def _record(i: int, card: str) -> CustomerRecord:
    return ADAPTER.validate_python({
        "kind": "individual", "name": {"given": "Bench", "family": f"Person{i}"}, "birth_date": "1980-01-01",
        "nationality": "DE", "address": {"line1": "Main St 1", "city": "Berlin", "country": "DE"},
        "email": f"new{i}@bench.example", "phone": f"+4930{i:08d}",
        "payment_means": [{"type": "card", "number": card, "expiry": "2030-01"}]})


def populate(services: Any, count: int, batch: int = 50_000) -> float:
    key = services.keyring.blind_index_key()
    now = datetime.now(UTC)
    started = time.perf_counter()
    ids = [str(uuid.UUID(int=i + 1)) for i in range(count)]
    for low in range(0, count, batch):
        high = min(count, low + batch)
        customers, accounts, links = [], [], []
        for i in range(low, high):
            cid = ids[i]
            customers.append({"id": cid, "kind": "individual", "status": "active", "created_at": now,
                              "updated_at": now})
            state = "refused" if i % 100 == 7 else "closed" if i % 100 == 13 else "active"
            accounts.append({"id": str(uuid.UUID(int=10**12 + i)), "customer_id": cid, "type": "standard",
                             "channel": "self_serve", "state": state, "opened_at": now})
            card = card_of(i - 1 if i % 100 == 51 else i)  # 1 %: the same card as the customer before
            prefix = f"100.{(i // 50) % 256}.{(i // 12_800) % 256}.0/24"
            for kind, token, display in (
                    ("email", _token(key, "email", f"user{i}@bench.example"), "u•••@bench.example"),
                    ("phone", blind_index(key, "phone", f"+1555{i:07d}"), "•••"),
                    ("card", blind_index(key, "card_number", card), card[:6] + "••••" + card[-4:]),
                    ("signup_prefix", _token(key, "signup_prefix", prefix), prefix)):
                links.append({"subject_type": "customer", "subject_id": cid, "customer_id": cid, "kind": kind,
                              "token": token, "display": display, "created_at": now})
        with services.database.engine.begin() as conn:
            insert_rows(conn, customer, customers)
            insert_rows(conn, account, accounts)
            insert_rows(conn, link_identifier, links)
    return time.perf_counter() - started


def measure(services: Any, count: int, checks: int, shows: int) -> dict[str, Any]:
    linkage = LinkageService(services.database, services.keyring, services.ledger)
    rebuild_started = time.perf_counter()
    clusters = linkage.graph.rebuild_clusters()
    rebuild_s = time.perf_counter() - rebuild_started
    rng = random.Random(13)
    check_ms: list[float] = []
    check_cpu_ms: list[float] = []  # the process's own CPU time: what the check costs on a loaded machine
    evasions = 0
    records = [_record(n, card_of(rng.randrange(count)) if n % 10 == 0 else f"5{n:014d}0") for n in range(checks)]
    with services.database.engine.connect() as conn:
        for n, record in enumerate(records):
            started, cpu = time.perf_counter(), time.process_time()
            findings = linkage.check_signup(conn, record, signup_ip=f"100.{n % 256}.0.{n % 200 + 1}")
            check_ms.append((time.perf_counter() - started) * 1000)
            check_cpu_ms.append((time.process_time() - cpu) * 1000)
            evasions += any(f.evasion for f in findings)
    show_ms: list[float] = []
    show_cpu_ms: list[float] = []
    for _ in range(shows):
        cid = str(uuid.UUID(int=rng.randrange(count) + 1))
        started, cpu = time.perf_counter(), time.process_time()
        linkage.reader.links_of_customer(cid)
        show_ms.append((time.perf_counter() - started) * 1000)
        show_cpu_ms.append((time.process_time() - cpu) * 1000)
    scorer = RiskScorer.of_policy(services.database, policy_in_force(services).risk_score)
    distribution = {f"{low}-{low + 9}": 0 for low in range(0, 100, 10)}
    tiers: dict[str, int] = {}
    score_ms: list[float] = []
    with services.database.engine.connect() as conn:
        for _ in range(min(shows, 1000)):
            account_id = str(uuid.UUID(int=10**12 + rng.randrange(count)))
            started = time.perf_counter()
            scored = scorer.score_account(conn, account_id)
            score_ms.append((time.perf_counter() - started) * 1000)
            bucket = min(90, scored.score // 10 * 10)
            distribution[f"{bucket}-{bucket + 9}"] += 1
            tiers[scored.tier] = tiers.get(scored.tier, 0) + 1
    return {"risk_score_distribution": distribution, "risk_tiers": tiers,
            "score_ms_p99": round(_percentile(score_ms, 0.99), 3),
            "rebuild_s": round(rebuild_s, 2), "clusters": clusters["clusters"],
            "largest_cluster": clusters["largest"], "check_ms_p50": round(statistics.median(check_ms), 3),
            "check_ms_p99": round(_percentile(check_ms, 0.99), 3), "checks": checks,
            "checks_with_evasion": evasions, "check_cpu_ms_p50": round(statistics.median(check_cpu_ms), 3),
            "check_cpu_ms_p99": round(_percentile(check_cpu_ms, 0.99), 3),
            "show_cpu_ms_p50": round(statistics.median(show_cpu_ms), 3),
            "show_cpu_ms_p99": round(_percentile(show_cpu_ms, 0.99), 3),
            "show_ms_p50": round(statistics.median(show_ms), 3),
            "show_ms_p99": round(_percentile(show_ms, 0.99), 3), "shows": shows}


def run(customers: int = 1_000_000, checks: int = 2000, shows: int = 1000,
        postgres_url: str | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = {"customers": customers, "load_average_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch) / "data", database_url=f"sqlite:///{scratch}/bench.db")
        initialise(settings)
        services = open_services(settings)
        try:
            figures["populate_s"] = round(populate(services, customers), 1)
            figures["sqlite"] = measure(services, customers, checks, shows)
            figures["load_average_at_end"] = round(os.getloadavg()[0], 2)
        finally:
            services.close()
    if postgres_url:
        import secrets

        from sqlalchemy import create_engine, text

        schema = "bench_" + secrets.token_hex(4)
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            with tempfile.TemporaryDirectory() as scratch:
                settings = Settings(data_dir=Path(scratch) / "data",
                                    database_url=f"{postgres_url}?options=-csearch_path%3D{schema}")
                initialise(settings)
                services = open_services(settings)
                try:
                    populate(services, customers)
                    figures["postgresql"] = measure(services, customers, checks, shows)
                finally:
                    services.close()
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return figures
