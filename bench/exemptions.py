"""The exemption evidence pack over a year of records (F2): ``cloudcip bench exemptions --json``.

Generates, in a fresh SQLite database, a year (2026) of ``--customers`` signups (default 100,000: an
account, a decided case with its first transition, one piece of evidence each; 2 % with a hit adjudicated
after some hours; 1 % with access signals, most handled; 0.2 % closed after an incident report; a few
measure effects, legal processes with productions, exemption uses) and ``--events`` access events
(default 10,000,000) spread over the year. The evidence pack only aggregates, so the rows are written
straight into the tables (the signup path is measured by ``bench signup``), not through the services.

Then builds the pack for the year, once after a tenth of the events and once after all of them, and
reports each build's time and the peak resident memory before and after it: the pack is aggregate
SQL, so its memory does not grow with the number of events.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from cloudcip.access.schema import account_signal
from cloudcip.exemptions.evidence import EvidencePackService
from cloudcip.exemptions.schema import exemption, exemption_use
from cloudcip.incidents.schema import incident_report
from cloudcip.legal.schema import production
from cloudcip.records.roles import Actor
from cloudcip.records.schema import legal_process
from cloudcip.runtime import initialise, open_services
from cloudcip.screening.schema import screening_hit
from cloudcip.settings import Settings
from cloudcip.storage.schema import account, customer, evidence
from cloudcip.verification.schema import application, case_transition

AUDITOR = Actor("bench:auditor", "auditor")
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
SECONDS = 365 * 24 * 3600
DECISIONS = ("approved", "pending_evidence", "in_review", "refused")


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _signups(services: Any, customers: int, rng: random.Random, batch: int = 5_000) -> list[str]:
    account_ids: list[str] = []
    with services.database.engine.begin() as conn:
        exemption_id = str(uuid.uuid4())
        conn.execute(insert(exemption).values(
            id=exemption_id, scope_kind="account_type", scope_value="trial", basis="bench",
            steps_json='["identity_verification"]', conditions_json="[]", granted_at=YEAR_START,
            expires_at=YEAR_START + timedelta(days=365),
            created_at=YEAR_START, created_by="bench"))
    for start in range(0, customers, batch):
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in (
            "customer", "account", "application", "case_transition", "evidence", "screening_hit", "account_signal",
            "incident_report", "exemption_use")}
        for _ in range(min(batch, customers - start)):
            at = YEAR_START + timedelta(seconds=rng.randrange(SECONDS))
            customer_id, account_id, case_id = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
            kind = "trial" if rng.random() < 0.1 else "standard"
            decision = rng.choices(DECISIONS, weights=(60, 30, 8, 2))[0]
            closed = rng.random() < 0.002
            rows["customer"].append({"id": customer_id, "kind": "individual", "status": "active", "created_at": at,
                                     "updated_at": at})
            rows["account"].append({"id": account_id, "customer_id": customer_id, "type": kind,
                                    "channel": "self_serve", "state": "closed" if closed else "active",
                                    "opened_at": at, "closed_at": at + timedelta(days=3) if closed else None})
            rows["application"].append({
                "id": case_id, "customer_id": customer_id, "account_id": account_id, "request_hash": "0" * 64,
                "account_type": kind, "channel": "self_serve", "risk_tier": "standard", "state": decision,
                "decision": decision, "policy_rule": "bench", "response_json": "{}", "created_at": at,
                "updated_at": at, "exemption_id": exemption_id if kind == "trial" else None})
            rows["case_transition"].append({"application_id": case_id, "from_state": "submitted", "to_state": decision,
                                            "reason": "bench", "actor": "bench", "at": at})
            rows["evidence"].append({"id": str(uuid.uuid4()), "customer_id": customer_id, "application_id": case_id,
                                     "subject": "customer", "method": rng.choice(("email_otp", "vendor_idv")),
                                     "result": rng.choice(("verified", "verified", "failed")), "received_at": at})
            if kind == "trial":
                rows["exemption_use"].append({"exemption_id": exemption_id, "application_id": case_id,
                                              "account_id": account_id, "customer_id": customer_id,
                                              "steps_json": '["identity_verification"]', "used_at": at})
            if rng.random() < 0.02:
                rows["screening_hit"].append({
                    "id": str(uuid.uuid4()), "subject_type": "customer", "subject_id": customer_id,
                    "subject_hash": "0" * 64, "list_source": "bench", "list_source_id": "1", "party_hash": "0" * 64,
                    "score": 0.9, "band": "review", "explanation_json": "{}",
                    "state": rng.choice(("confirmed", "false_positive")), "decided_by": "bench",
                    "decided_at": at + timedelta(hours=rng.randrange(1, 96)), "created_at": at})
            if rng.random() < 0.01:
                handled = rng.random() < 0.8
                rows["account_signal"].append({
                    "id": str(uuid.uuid4()), "account_id": account_id,
                    "kind": rng.choice(("impossible_travel", "country_mismatch", "new_admin_principal")), "at": at,
                    "detail_json": "{}", "state": "actioned" if closed else ("dismissed" if handled else "open"),
                    "dedupe_key": account_id[:16], "handled_at": at + timedelta(hours=rng.randrange(1, 48))
                    if handled or closed else None})
            if closed:
                rows["incident_report"].append({"id": str(uuid.uuid4()), "kind": "malicious_activity",
                                                "account_id": account_id, "customer_id": customer_id, "created_at": at,
                                                "created_by": "bench", "content_sealed": b"x",
                                                "content_sha256": "0" * 64})
            account_ids.append(account_id)
        with services.database.engine.begin() as conn:
            for table in (customer, account, application, case_transition, evidence, screening_hit, account_signal,
                          incident_report, exemption_use):
                if rows[table.name]:
                    conn.execute(insert(table), rows[table.name])
    with services.database.engine.begin() as conn:
        for n in range(max(1, customers // 10_000)):
            process_id = str(uuid.uuid4())
            received = YEAR_START + timedelta(days=rng.randrange(300))
            conn.execute(insert(legal_process).values(
                id=process_id, kind="subpoena", authority="bench", reference=f"B-{n}", received_on=received.date(),
                unmask=False, state="closed", registered_at=received, registered_by="bench", registered_tree_size=0))
            conn.execute(insert(production).values(
                id=str(uuid.uuid4()), process_id=process_id, created_at=received + timedelta(days=rng.randrange(2, 20)),
                created_by="bench", manifest_sha256="0" * 64, tree_size=0, files=1, customers=1, accounts=1,
                ledger_entries=0))
    return account_ids


def _events(services: Any, accounts: list[str], events: int, rng: random.Random, batch: int = 50_000) -> float:
    started = time.perf_counter()
    sql = "INSERT INTO access_event (account_id, principal, time_ms, ip, action, kind) VALUES (?, ?, ?, ?, ?, ?)"
    start_ms = int(YEAR_START.timestamp() * 1000)
    for offset in range(0, events, batch):
        rows = [(rng.choice(accounts), "root", start_ms + rng.randrange(SECONDS * 1000),
                 bytes(10) + b"\xff\xff" + bytes((198, 51, rng.randrange(256), rng.randrange(1, 255))),
                 "console.login", "access") for _ in range(min(batch, events - offset))]
        with services.database.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA synchronous=OFF")  # generated bench data: no fsync per batch
            conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]
    return time.perf_counter() - started


def _pack(services: Any) -> dict[str, Any]:
    before = _rss_mib()
    started = time.perf_counter()
    pack = EvidencePackService(services.database, services.ledger).build(
        AUDITOR, YEAR_START, YEAR_START + timedelta(days=365))
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "peak_rss_mib_before": before, "peak_rss_mib_after": _rss_mib(),
            "access_events_counted": pack["sections"]["signals"]["access_events"]["value"],
            "signups_counted": pack["sections"]["signups"]["decided"]["total"],
            "figures": sum(1 for section in pack["sections"].values() for value in section.values()
                           if isinstance(value, dict) and "query" in value)}


def run(customers: int = 100_000, events: int = 10_000_000, seed: int = 1984) -> dict[str, Any]:
    rng = random.Random(seed)
    figures: dict[str, Any] = {"customers": customers, "events": events, "engine": "sqlite"}
    with tempfile.TemporaryDirectory(prefix="cloudcip-bench-exemptions-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        initialise(settings)
        services = open_services(settings)
        try:
            started = time.perf_counter()
            accounts = _signups(services, customers, rng)
            figures["generate_signups_seconds"] = round(time.perf_counter() - started, 1)
            tenth = events // 10
            figures["generate_events_seconds"] = round(_events(services, accounts, tenth, rng), 1)
            figures["pack_at_a_tenth_of_the_events"] = _pack(services)
            figures["generate_events_seconds"] += round(_events(services, accounts, events - tenth, rng), 1)
            figures["pack"] = _pack(services)
            figures["pack_seconds"] = figures["pack"]["seconds"]
            figures["memory_growth_mib_tenfold_events"] = round(
                figures["pack"]["peak_rss_mib_after"] - figures["pack"]["peak_rss_mib_before"], 1)
        finally:
            services.close()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    print(json.dumps(run(customers=args.customers, events=args.events)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
