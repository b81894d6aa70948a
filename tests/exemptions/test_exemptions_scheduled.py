"""F1 on its own: ``cloudcip serve``'s periodic tasks (``runtime.default_tasks``) flag the accounts that used
an exemption once it has ended, and a signup after the end is never exempted; driven by a job runner on
the injected clock (no sleeps)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.exemptions.conftest import INDIVIDUAL, Clock, auth, body, grant_body
from typer.testing import CliRunner

from cloudcip.api.app import create_app
from cloudcip.cli.main import app
from cloudcip.jobs.runner import JobRunner
from cloudcip.profiles import default_policy_text
from cloudcip.runtime import EXEMPTIONS_ENDED_TASK, Services, default_tasks
from cloudcip.verification.schema import application

ENDS = datetime(2026, 7, 1, tzinfo=UTC)
runner = CliRunner()


def _apply(client: TestClient, keys: dict[str, str], **changes: Any) -> dict[str, Any]:
    response = client.post("/v1/applications", json=body(INDIVIDUAL, **changes), headers=auth(keys["signup-service"]))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _reverify_due(services: Services, application_id: str) -> datetime | None:
    with services.database.engine.connect() as conn:
        value = conn.execute(select(application.c.reverify_due).where(application.c.id == application_id)).scalar()
    return None if value is None else value.replace(tzinfo=UTC)


def _pass(runner: JobRunner, now: datetime) -> Any:
    ran = {item.name: item for item in runner.run_once(now)}
    assert ran[EXEMPTIONS_ENDED_TASK].ok, ran[EXEMPTIONS_ENDED_TASK]
    return ran[EXEMPTIONS_ENDED_TASK].result


@pytest.mark.control("exemptions.applied")
@pytest.mark.requirement("F1", "A7")
def test_serve_flags_the_accounts_of_an_ended_exemption_and_stops_exempting(
        client: TestClient, keys: dict[str, str], services: Services, clock: Clock) -> None:
    response = client.post("/v1/exemptions", json=grant_body(["identity_verification", "periodic_reverification"],
                                                             expires=ENDS.date().isoformat()),
                           headers=auth(keys["compliance-officer"]))
    assert response.status_code == 201, response.text
    granted = response.json()
    used = _apply(client, keys)
    assert used["exemption_applied"] == granted["id"] and used["decision"] == "approved"
    runner = JobRunner(services, default_tasks())
    assert _pass(runner, ENDS - timedelta(minutes=15)) == {}  # still in force: nothing flagged
    assert _reverify_due(services, used["id"]) is None
    ran_at = ENDS + timedelta(minutes=1)  # the next pass after the end (every ten minutes)
    assert _pass(runner, ran_at) == {granted["id"]: 1}
    assert _reverify_due(services, used["id"]) == ran_at
    entries = services.ledger.entries_for_record("exemption", granted["id"])
    assert [(e["action"], e["actor"]) for e in entries][-1] == ("flag_ended", "job:exemptions")
    assert _pass(runner, ran_at + timedelta(minutes=10)) == {}  # flagged once
    clock.now = ran_at + timedelta(minutes=5)
    later = _apply(client, keys, email="anna.after@example.de")
    assert later["exemption_applied"] is None and later["decision"] == "pending_evidence"


@pytest.mark.requirement("F1", "A1")
@pytest.mark.control("exemptions.applied")
def test_a_policy_that_applies_no_exemption_exempts_nothing_and_the_written_cip_says_none(
        client: TestClient, keys: dict[str, str], services: Services, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    response = client.post("/v1/exemptions", json=grant_body(["identity_verification"]),
                           headers=auth(keys["compliance-officer"]))
    assert response.status_code == 201, response.text
    data = yaml.safe_load(default_policy_text())
    assert data["exemptions"] == {"apply": True}
    stated = runner.invoke(app, ["cip", "render"])
    assert stated.exit_code == 0 and "## F1. Exemptions" in stated.stdout
    data["exemptions"]["apply"] = False
    policy_file = tmp_path / "no-exemptions.yaml"
    policy_file.write_text(yaml.safe_dump(data))
    monkeypatch.setattr(services, "settings", dataclasses.replace(services.settings, policy_path=policy_file))
    with TestClient(create_app(services), raise_server_exceptions=False) as restarted:  # the policy is read at start
        answer = _apply(restarted, keys)
    assert answer["exemption_applied"] is None and answer["decision"] == "pending_evidence"
    monkeypatch.setenv("CLOUDCIP_POLICY", str(policy_file))
    silent = runner.invoke(app, ["cip", "render"])
    assert silent.exit_code == 0, silent.output
    assert "F1" not in silent.stdout and "exemption" not in silent.stdout.lower()
