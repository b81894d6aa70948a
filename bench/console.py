"""Benchmark of the console's server-side rendering (A6, B4): ``cloudcip bench console --json``.

Stores N customers (default 100,000: sealed, blind-indexed, on the ledger, as the signup path stores
them), decides a few thousand account openings through the application service (a share of them land
in review), plants screening hits on 1 % of the customers, then renders each main console page many
times in process through the ASGI app (``TestClient``: routing, session, role check, the services'
reads, the ledger entries a view writes, the template) and reports p50 and p99 in milliseconds per
page (the legal, productions, certification, roster and policy pages too; the certification and
the roster's first 100 rows a quarter as many times). The figure to compare with the target is
``p99_ms``: at most 100 ms with 100,000 customers.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import insert, select

from cloudcip.api.app import create_app
from cloudcip.domain.application import ApplicationRequest
from cloudcip.records.legal_process import LegalProcessInput, LegalProcessService
from cloudcip.records.roles import Actor
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import initialise, open_services
from cloudcip.screening.schema import screening_hit
from cloudcip.settings import Settings
from cloudcip.storage.schema import customer

SIGNUP = Actor("bench:signup", "signup-service")
OPERATOR = Actor("bench:operator", "admin")
PASSWORD = "benchmark password 1"
ADAPTER: TypeAdapter[Any] = TypeAdapter(ApplicationRequest)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _sign_in(client: TestClient, username: str) -> None:
    page = client.get("/console/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token
    answer = client.post("/console/login", data={"login_token": token.group(1), "username": username,
                                                 "password": PASSWORD})
    assert answer.status_code == 303, answer.status_code


def _timed(client: TestClient, path: str, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code}")
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(_percentile(times, 0.99), 2),
            "max_ms": round(max(times), 2)}


def _timed_post(client: TestClient, path: str, data: dict[str, str], repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.post(path, data=data)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code}")
    return {"p50_ms": round(statistics.median(times), 2), "p99_ms": round(_percentile(times, 0.99), 2),
            "max_ms": round(max(times), 2)}


def _store(services: Any, customers: int, openings: int) -> dict[str, Any]:
    generator = SyntheticCustomers(seed=17)
    started = time.perf_counter()
    remaining = max(customers - openings, 0)
    while remaining:
        batch = min(remaining, 1000)
        services.customers.create(list(generator.records(batch)), SIGNUP)
        remaining -= batch
    stored_s = time.perf_counter() - started
    app = create_app(services)
    applications = app.state.console.applications
    in_review: list[str] = []
    started = time.perf_counter()
    for number in range(openings):
        body = generator.application_json()
        if number % 3 == 0:
            body["account"]["risk_tier"] = "high"  # the policy sends high-risk openings to review
        answer = applications.submit(ADAPTER.validate_python(body), SIGNUP, idempotency_key=f"bench-{number}")
        if answer["state"] == "in_review":
            in_review.append(answer["id"])
    decided_s = time.perf_counter() - started
    with services.database.engine.connect() as conn:
        ids = list(conn.execute(select(customer.c.id)).scalars())
    rng = random.Random(5)
    now = datetime.now(UTC)
    hit_rows = [{"id": str(uuid.uuid4()), "subject_type": "customer", "subject_id": cid, "subject_hash": "0" * 64,
                 "list_source": "bench", "list_source_id": str(i), "party_hash": "0" * 64,
                 "score": 0.8 + rng.random() / 5, "band": rng.choice(("review", "block")),
                 "explanation_json": json.dumps({"matched_name": "Planted Name", "features": {}, "explanation": []}),
                 "state": "open", "created_at": now - timedelta(minutes=i)}
                for i, cid in enumerate(rng.sample(ids, max(1, len(ids) // 100)))]
    with services.database.engine.begin() as conn:
        for start in range(0, len(hit_rows), 1000):
            conn.execute(insert(screening_hit), hit_rows[start:start + 1000])
    return {"app": app, "in_review": in_review, "customers": ids, "hits": [h["id"] for h in hit_rows],
            "stored_s": stored_s, "decided_s": decided_s}


def run(customers: int = 100_000, openings: int = 3000, repeat: int = 200) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="cloudcip-bench-console-") as directory:
        settings = Settings(data_dir=Path(directory) / "data", database_url=f"sqlite:///{directory}/bench.db")
        initialise(settings)
        services = open_services(settings)
        try:
            data = _store(services, customers, openings)
            app = data["app"]
            users = app.state.console.users
            users.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
            users.add("bench-analyst", PASSWORD, "analyst", OPERATOR)
            users.add("bench-officer", PASSWORD, "compliance-officer", OPERATOR)
            users.add("bench-legal", PASSWORD, "legal", OPERATOR)
            figures: dict[str, Any] = {"customers": services.customers.count(),
                                       "cases_in_review": len(data["in_review"]),
                                       "open_hits": len(data["hits"]), "repeat": repeat,
                                       "store_seconds": round(data["stored_s"], 1),
                                       "openings_seconds": round(data["decided_s"], 1)}
            pages: dict[str, dict[str, float]] = {}
            with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
                _sign_in(client, "bench-officer")
                case_id = data["in_review"][len(data["in_review"]) // 2]
                shown = app.state.console.applications.show(case_id, OPERATOR)
                customer_id = shown["customer_id"]
                account_page = f"/console/accounts/{customer_id}"
                client.get(account_page)  # the purpose prompt, answered once per session
                prompt = client.get(account_page)
                token = re.search(r'name="csrf_token" value="([^"]+)"', prompt.text)
                assert token
                client.post(f"{account_page}/purpose", data={"csrf_token": token.group(1), "purpose": "benchmark"})
                for name, path in (("queue", "/console/queue"), ("queue_cases_high_risk", "/console/queue?kind=cases"),
                                   ("queue_last_page", "/console/queue?page=20"),
                                   ("account_360", account_page), ("case", f"/console/cases/{case_id}"),
                                   ("hit", f"/console/hits/{data['hits'][0]}"), ("approvals", "/console/approvals"),
                                   ("measures", "/console/measures"), ("lists", "/console/lists"),
                                   ("rescreens", "/console/rescreens")):
                    pages[name] = _timed(client, path, repeat)
                process = LegalProcessService(services.database, services.ledger, services.keyring).register(
                    LegalProcessInput.model_validate({"kind": "subpoena", "authority": "Bench Court",
                                                      "reference": "bench-1", "customers": [customer_id]}),
                    Actor("bench:legal", "legal"))
                for name, path in (("legal_register", "/console/legal"),
                                   ("legal_process", f"/console/legal/processes/{process.id}"),
                                   ("certification", "/console/certification"), ("roster_form", "/console/roster"),
                                   ("policy", "/console/policy")):
                    pages[name] = _timed(client, path, max(1, repeat // 4) if name == "certification" else repeat)
                page_token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/roster").text)
                assert page_token
                pages["roster_first_100_rows"] = _timed_post(client, "/console/roster", {
                    "csrf_token": page_token.group(1), "purpose": "benchmark", "action": "show"}, max(1, repeat // 4))
            with TestClient(app, base_url="https://testserver", follow_redirects=False) as legal:
                _sign_in(legal, "bench-legal")
                pages["productions"] = _timed(legal, "/console/productions", repeat)
            figures["pages"] = pages
            figures["worst_p99_ms"] = max(p["p99_ms"] for p in pages.values())
            return figures
        finally:
            services.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--openings", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=200)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.customers, arguments.openings, arguments.repeat)))
