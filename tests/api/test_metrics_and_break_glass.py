"""B3, B4: breaking the glass is loud (a webhook notice and a metric beside the ledger entry), and
``GET /metrics`` serves the service's figures to admin and auditor keys only, with no personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from tests.api.authorization_table import CUSTOMER

from cloudcip.jobs.runner import JobRunner, PeriodicTask
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.runtime import Services


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **{k.replace("_", "-"): v for k, v in extra.items()}}


def scrape(client: TestClient, key: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=auth(key))
    assert response.status_code == 200, response.text
    assert "Schmidt" not in response.text and "anna" not in response.text.lower()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


@pytest.mark.requirement("B3", "B4")
def test_break_glass_is_loud_and_metrics_show_it(services: Services, client: TestClient,
                                                 keys: dict[str, str]) -> None:
    created = client.post("/v1/customers", json=CUSTOMER, headers=auth(keys["signup-service"]))
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    before = scrape(client, keys["auditor"])
    read = client.get(f"/v1/customers/{customer_id}",
                      headers=auth(keys["admin"], X_Break_Glass="incident 42: account takeover"))
    assert read.status_code == 200, read.text
    with services.database.engine.connect() as conn:
        notices = [json.loads(p)["data"] for p in conn.execute(select(webhook_outbox.c.payload_json).where(
            webhook_outbox.c.event_type == "record.break_glass")).scalars()]
    assert notices == [{"customer_id": customer_id, "actor_id": notices[0]["actor_id"], "actor_kind": "admin"}]
    after = scrape(client, keys["admin"])
    glass = ("cloudcip_break_glass_reads_total", ())
    assert after[glass] == before.get(glass, 0.0) + 1
    assert after[("cloudcip_outbox_backlog", (("state", "pending"),))] >= 1
    assert after[("cloudcip_ledger_entries", ())] == float(services.ledger.size())


@pytest.mark.requirement("B3", "B4")
def test_metrics_cover_decisions_screening_jobs_and_lag(services: Services, client: TestClient,
                                                        keys: dict[str, str]) -> None:
    for role in ("analyst", "compliance-officer", "legal", "signup-service", "event-ingest", "peer"):
        assert client.get("/metrics", headers=auth(keys[role])).status_code == 403
    assert client.get("/metrics").status_code == 401
    from tests.api.authorization_table import APPLICATION

    applied = client.post("/v1/applications", json=APPLICATION, headers=auth(keys["signup-service"]))
    assert applied.status_code == 201, applied.text
    before = scrape(client, keys["auditor"])
    screened = client.post("/v1/screen", json={"name": "Magdalena Wierzbicka"},
                           headers=auth(keys["analyst"], X_Access_Purpose="payee check"))
    assert screened.status_code == 200
    JobRunner(services, [PeriodicTask("metrics_probe", 1, lambda _s, _n: None)]).run_once(datetime.now(UTC))
    events = [{"id": "m-1", "account_id": "acct-m", "principal": "user:1", "time": "2026-10-01T08:00:00Z",
               "ip": "198.51.100.7", "action": "console.login", "kind": "access"}]
    assert client.post("/v1/access-events", content=json.dumps(events),
                       headers=auth(keys["event-ingest"])).status_code == 200
    after = scrape(client, keys["auditor"])
    decision = applied.json()["decision"]
    assert after[("cloudcip_applications", (("decision", decision),))] == 1
    latency = ("cloudcip_screening_seconds_count", ())
    assert after[latency] > before.get(latency, 0.0)
    assert after[("cloudcip_job_runs_total", (("outcome", "ok"), ("task", "metrics_probe")))] >= 1
    assert after[("cloudcip_access_follower_lag_events", ())] == 1  # stored, not yet read by the follower
