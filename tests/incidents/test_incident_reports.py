"""G4: a confirmed case becomes an incident report (accounts, access times and IPs, identifiers,
indicators, actions taken), readable as a document, kept immutably (hashed, on the ledger), with to
whom and when it went; through the CLI and the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from tests.sharing.builders import OFFICER, person, store_account
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.incidents.schema import incident_report
from cloudcip.incidents.service import IncidentAltered, IncidentService
from cloudcip.runtime import Services, open_services
from cloudcip.settings import Settings

WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"
ACCESSES = [("203.0.113.7", datetime(2026, 3, 1, 10, tzinfo=UTC)),
            ("203.0.113.7", datetime(2026, 3, 2, 11, tzinfo=UTC)),
            ("2001:db8::42", datetime(2026, 3, 3, 12, tzinfo=UTC))]


@pytest.mark.requirement("G4", "B3")
@pytest.mark.control("incidents.kept")
def test_cli_incident_create_prints_the_id_last_and_the_report_is_kept(tmp_path: Path, database_url: str) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output
        return result

    run("init")
    services = open_services(Settings(data_dir=data_dir, database_url=database_url))
    try:
        _, account_id = store_account(services, person(wallet=WALLET), state="closed", accesses=ACCESSES)
    finally:
        services.close()
    created = run("incidents", "create", "--account", account_id, "--summary", "cryptomining on stolen card",
                  "--action", "account closed")
    incident_id = created.stdout.strip().splitlines()[-1]
    assert len(incident_id) == 36
    shown = json.loads(run("incidents", "show", incident_id, "--format", "json").stdout)
    indicators = {(i["type"], i["value"]) for i in shown["indicators"]}
    assert ("ipv4-addr", "203.0.113.7") in indicators and ("ipv6-addr", "2001:db8::42") in indicators
    assert ("email-domain", "keller-hosting.example") in indicators
    assert ("card-bin", "411111") in indicators and ("crypto-wallet", WALLET) in indicators
    [v4] = [a for a in shown["access"] if a["ip"] == "203.0.113.7"]
    assert (v4["first_seen"], v4["last_seen"], v4["count"]) == ("2026-03-01T10:00:00Z", "2026-03-02T11:00:00Z", 2)
    # identifiers are masked in the report: never the full card number, e-mail or national ID
    text = json.dumps(shown["identifiers"])
    assert "4111111111111111" not in text and "jonas.keller" not in text and "T22000129" not in text
    assert shown["actions_taken"] == ["account closed"]
    document = run("incidents", "show", incident_id).stdout
    assert "# Incident report" in document and "203.0.113.7" in document and "account closed" in document
    verified = json.loads(run("incidents", "verify", incident_id).stdout)
    assert verified["id"] == incident_id and verified["ledger_index"] >= 0
    assert run("incidents", "show", "00000000-0000-0000-0000-000000000000", code=3)
    assert run("incidents", "create", "--account", "00000000-0000-0000-0000-000000000000", "--summary", "x", code=3)


def test_an_altered_report_is_caught(services: Services) -> None:
    _, account_id = store_account(services, person(), accesses=ACCESSES)
    incidents = IncidentService(services.database, services.ledger, services.customers)
    report = incidents.create(account_id, "spam relay", OFFICER)
    assert incidents.verify(report.id)["sha256"] == report.sha256
    with services.database.engine.begin() as conn:
        conn.execute(update(incident_report).where(incident_report.c.id == report.id).values(content_sha256="0" * 64))
    with pytest.raises(IncidentAltered):
        incidents.verify(report.id)


@pytest.mark.requirement("G4", "B4")
def test_api_incidents_by_role(services: Services, client: TestClient, keys: dict[str, str]) -> None:
    _, account_id = store_account(services, person(), accesses=ACCESSES)
    body = {"account_id": account_id, "summary": "credential stuffing from this account",
            "actions_taken": ["account suspended"]}
    assert client.post("/v1/incidents", json=body, headers={"Authorization": f"Bearer {keys['signup-service']}"}
                       ).status_code == 403
    created = client.post("/v1/incidents", json=body, headers={"Authorization": f"Bearer {keys['analyst']}"})
    assert created.status_code == 201, created.text
    incident_id = created.json()["id"]
    assert created.json()["indicators"] >= 2
    officer = {"Authorization": f"Bearer {keys['compliance-officer']}"}
    read = client.get(f"/v1/incidents/{incident_id}", headers=officer)
    assert read.status_code == 200 and read.json()["content"]["summary"] == body["summary"]
    document = client.get(f"/v1/incidents/{incident_id}/document", headers=officer)
    assert document.status_code == 200 and "credential stuffing" in document.text
    assert client.get(f"/v1/incidents/{incident_id}/disclosures", headers=officer).json() == []
    assert client.get(f"/v1/incidents/{incident_id}/verify", headers=officer).status_code == 200
    assert client.get(f"/v1/incidents/{incident_id}", headers={"Authorization": f"Bearer {keys['peer']}"}
                      ).status_code == 403
    bad = client.post("/v1/incidents", json={**body, "summary": ""}, headers=officer)
    assert bad.status_code == 422 and "summary" in bad.text
    missing = client.post("/v1/incidents", json={**body, "account_id": "00000000-0000-0000-0000-000000000000"},
                          headers=officer)
    assert missing.status_code == 404
    entries = services.ledger.entries_for_record("incident_report", incident_id)
    assert [e["action"] for e in entries][:2] == ["create", "read"]
