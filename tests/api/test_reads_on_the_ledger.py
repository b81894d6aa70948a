"""B3, B4: every read of personal data goes on the ledger with who, role and the purpose stated: the
hits served by ``GET /v1/hits``, a screening by ``POST /v1/screen`` (named by a keyed hash, never by
the name), the access queries, and each batch of access events taken in."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloudcip.ledger.schema import ledger_entry
from cloudcip.runtime import Services
from cloudcip.screening import hits as hit_store
from cloudcip.screening.matcher import Hit


def auth(key: str, purpose: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **({"X-Access-Purpose": purpose} if purpose else {})}


def entries(services: Services) -> list[dict[str, Any]]:
    with services.database.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(
            ledger_entry.c.actor, ledger_entry.c.role, ledger_entry.c.action, ledger_entry.c.record_type,
            ledger_entry.c.record_id, ledger_entry.c.purpose, ledger_entry.c.leaf_input).order_by(ledger_entry.c.idx))]


@pytest.mark.requirement("B3", "B4")
def test_hits_served_and_a_screening_are_reads_on_the_ledger(services: Services, client: TestClient,
                                                            keys: dict[str, str]) -> None:
    with services.database.engine.begin() as conn:
        [hit_id] = hit_store.record_hits(
            conn, "customer", "11111111-1111-1111-1111-111111111111", "h",
            [Hit("test", "42", "Listed Person", 0.95, "block", {"name": 0.95}, ["name 0.95"])],
            lambda s, i: "p", datetime.now(UTC), index_key=services.keyring.blind_index_key())
    before = len(entries(services))
    served = client.get("/v1/hits", headers=auth(keys["analyst"], "queue review"))
    assert served.status_code == 200 and [h["id"] for h in served.json()["hits"]] == [hit_id]
    screened = client.post("/v1/screen", json={"name": "Magdalena Wierzbicka", "birth_date": "1971-05-02"},
                           headers=auth(keys["compliance-officer"], "payee check"))
    assert screened.status_code == 200, screened.text
    added = entries(services)[before:]
    assert [(e["role"], e["action"], e["record_type"], e["record_id"], e["purpose"]) for e in added[:1]] == [
        ("analyst", "read", "screening_hit", hit_id, "queue review")]
    screening = added[1]
    assert (screening["role"], screening["action"], screening["record_type"], screening["purpose"]) == (
        "compliance-officer", "screen", "screening_query", "payee check")
    assert "wierzbicka" not in json.dumps(added, default=str).lower() and "1971" not in screening["leaf_input"]


@pytest.mark.requirement("B3", "C1")
def test_each_batch_of_access_events_is_on_the_ledger(services: Services, client: TestClient,
                                                      keys: dict[str, str]) -> None:
    body = json.dumps([{"id": "e-1", "account_id": "acct-1", "principal": "user:1", "time": "2026-10-01T08:00:00Z",
                        "ip": "198.51.100.7", "action": "console.login", "kind": "access"}])
    before = len(entries(services))
    posted = client.post("/v1/access-events", content=body, headers=auth(keys["event-ingest"]))
    assert posted.status_code == 200 and posted.json()["accepted"] == 1
    [batch] = entries(services)[before:]
    assert (batch["role"], batch["action"], batch["record_type"]) == ("event-ingest", "ingest", "access_events")
    assert batch["purpose"] and "198.51.100.7" not in batch["leaf_input"]
