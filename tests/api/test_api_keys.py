"""B4: API keys are listed, created and revoked by administrators (CLI and API), expire, record their
last use, and a revoked key is refused at once by every worker process (no cache to wait out)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.api.app import create_app
from cloudcip.cli.main import app as cli_app
from cloudcip.runtime import Services, open_services


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _cli(services: Services, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli_app, ["--data-dir", str(services.settings.data_dir), *args],
                                env={"CLOUDCIP_DATABASE_URL": services.settings.database_url})
    assert result.exit_code == code, (args, result.output)
    return result.stdout


@pytest.mark.requirement("B4")
def test_a_revoked_key_is_refused_at_once_by_every_worker(services: Services, client: TestClient,
                                                         keys: dict[str, str]) -> None:
    # a second worker process: its own app, engine and connection pool over the same database
    other = open_services(services.settings)
    try:
        with TestClient(create_app(other), raise_server_exceptions=False) as second_worker:
            analyst = keys["analyst"]
            for worker in (client, second_worker):
                assert worker.get("/v1/measures", headers=auth(analyst)).status_code == 200
            key_id = analyst.split("_")[1]
            revoked = client.delete(f"/v1/apikeys/{key_id}", headers=auth(keys["admin"]))
            assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
            for worker in (second_worker, client):  # the next request, in either worker
                refused = worker.get("/v1/measures", headers=auth(analyst))
                assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    finally:
        other.close()
    entries = services.ledger.entries_for_record("api_key", key_id)
    assert [e["action"] for e in entries] == ["revoke_api_key"] and entries[0]["role"] == "admin"


@pytest.mark.requirement("B4")
def test_admin_lists_creates_and_revokes_keys_over_the_api(client: TestClient, keys: dict[str, str]) -> None:
    admin = auth(keys["admin"])
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    created = client.post("/v1/apikeys", json={"role": "auditor", "label": "examiner", "expires_at": expires},
                          headers=admin)
    assert created.status_code == 201, created.text
    new = created.json()
    assert new["key"].startswith(f"ccip_{new['id']}_") and new["state"] == "active" and new["expires_at"]
    assert client.get("/v1/ledger/tree-head", headers=auth(new["key"])).status_code == 200
    listed = client.get("/v1/apikeys", headers=admin).json()["api_keys"]
    mine = next(k for k in listed if k["id"] == new["id"])
    assert "key" not in mine and mine["last_used_at"] is not None  # its use was recorded
    assert all("secret" not in json.dumps(k) for k in listed)
    assert client.post("/v1/apikeys", json={"role": "wizard"}, headers=admin).status_code == 422
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = client.post("/v1/apikeys", json={"role": "analyst", "expires_at": past}, headers=admin)
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "expires_at"
    assert client.delete("/v1/apikeys/0123456789ab", headers=admin).status_code == 404
    assert client.delete(f"/v1/apikeys/{new['id']}", headers=admin).json()["state"] == "revoked"
    assert client.get("/v1/ledger/tree-head", headers=auth(new["key"])).status_code == 401


@pytest.mark.requirement("B4")
def test_a_key_stops_working_when_it_expires(client: TestClient, keys: dict[str, str]) -> None:
    admin = auth(keys["admin"])
    now = datetime.now(UTC)
    key = client.post("/v1/apikeys", json={"role": "auditor", "expires_at": (now + timedelta(hours=1)).isoformat()},
                      headers=admin).json()["key"]
    assert client.get("/v1/ledger/public-key", headers=auth(key)).status_code == 200
    with clock.frozen(now + timedelta(hours=2)):
        expired = client.get("/v1/ledger/public-key", headers=auth(key))
        assert expired.status_code == 401
        listed = client.get("/v1/apikeys", headers=admin).json()["api_keys"]
    assert next(k for k in listed if key.startswith(f"ccip_{k['id']}_"))["state"] == "expired"


@pytest.mark.requirement("B4")
def test_cli_lists_and_revokes_keys(services: Services, tmp_path: Path) -> None:
    key = _cli(services, "apikeys", "create", "--role", "analyst", "--label", "night shift",
               "--expires-in-days", "90").strip().splitlines()[-1]
    key_id = key.split("_")[1]
    listed = [json.loads(line) for line in _cli(services, "apikeys", "list", "--json").splitlines()]
    mine = next(k for k in listed if k["id"] == key_id)
    assert mine["role"] == "analyst" and mine["state"] == "active" and mine["label"] == "night shift"
    assert mine["expires_at"] is not None and mine["last_used_at"] is None
    assert key not in _cli(services, "apikeys", "list")
    assert _cli(services, "apikeys", "revoke", key_id).strip() == f"revoked {key_id} (analyst)"
    listed = [json.loads(line) for line in _cli(services, "apikeys", "list", "--json").splitlines()]
    assert next(k for k in listed if k["id"] == key_id)["state"] == "revoked"
    _cli(services, "apikeys", "revoke", "000000000000", code=3)
    with TestClient(create_app(services), raise_server_exceptions=False) as worker:
        assert worker.get("/v1/measures", headers=auth(key)).status_code == 401
