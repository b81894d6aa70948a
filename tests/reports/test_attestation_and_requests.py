"""H2, H3: the attestation's five points with their evidence, out-of-cycle updates when the policy or
the CIP contact changes, requests for copies of the written CIP on their 10-day clock, and the
reminders (``cloudcip reporting due`` and the ``reporting.due`` webhook)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.cli.main import app as cli
from cloudcip.jobs.runner import JobRunner
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.runtime import Services, default_tasks
from cloudcip.verification.policy import default_policy, policy_to_yaml

runner = CliRunner()


def invoke(services: Services, *args: str, policy: Path | None = None) -> Any:
    env = {"CLOUDCIP_DATABASE_URL": services.settings.database_url, "CLOUDCIP_CERTIFICATION_GATE": "off"}
    if policy is not None:
        env["CLOUDCIP_POLICY"] = str(policy)
    result = runner.invoke(cli, ["--data-dir", str(services.settings.data_dir), *args], env=env)
    return result


def due(services: Services, as_of: date, policy: Path | None = None) -> dict[str, dict[str, Any]]:
    result = invoke(services, "reporting", "due", "--as-of", as_of.isoformat(), "--json", policy=policy)
    assert result.exit_code == 0, result.output
    return {item["item"].split(":")[0]: item for item in map(json.loads, result.stdout.splitlines())}


@pytest.mark.requirement("H2")
def test_the_attestation_and_the_out_of_cycle_updates(services: Services, tmp_path: Path) -> None:
    today = clock.now().date()
    assert due(services, today)["certification"]["due"] == today.isoformat()
    assert invoke(services, "reporting", "contact", "set", "--name", "Dana Reyes",
                  "--email", "cip@provider.example").exit_code == 0
    assert invoke(services, "certification", "file").exit_code == 0
    items = due(services, today)
    assert set(items) == {"attestation"}  # nothing changed since the filing
    assert items["attestation"]["due"] == (today + timedelta(days=365)).isoformat()
    assert due(services, today + timedelta(days=400))["attestation"]["overdue"] is True

    form = json.loads(invoke(services, "attestation", "render").stdout)
    points = form["points"]
    assert set(points) == {"reviewed", "updated_for_services", "updated_for_threats", "compliant",
                           "unverifiable_cases_resolved"}
    assert points["compliant"]["value"] is True and points["unverifiable_cases_resolved"]["value"] is True
    assert points["updated_for_services"]["value"] is False
    filed = json.loads(invoke(services, "attestation", "file").stdout)
    assert filed["kind"] == "attestation" and len(filed["sha256"]) == 64

    # a material change of the policy flags an out-of-cycle update, with the diff as its evidence
    changed = default_policy().model_copy(deep=True)
    rule = changed.rules[0].model_copy(update={"reverification_interval_days": 200})
    changed = changed.model_copy(update={"rules": [rule, *changed.rules[1:]], "version": "2024.2"})
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(policy_to_yaml(changed))
    assert "policy's rules changed" in due(services, today, policy_file)["out_of_cycle_update"]["why"]
    evidence = json.loads(invoke(services, "attestation", "render", policy=policy_file).stdout)["points"]
    assert evidence["updated_for_services"]["value"] is True
    assert "+  reverification_interval_days: 200" in evidence["updated_for_services"]["evidence"]["policy_diff"]
    assert invoke(services, "attestation", "file", "--out-of-cycle", policy=policy_file).exit_code == 0
    assert "out_of_cycle_update" not in due(services, today, policy_file)
    # so does a new CIP contact
    assert invoke(services, "reporting", "contact", "set", "--name", "Sam Okafor",
                  "--email", "sam@provider.example", policy=policy_file).exit_code == 0
    assert "CIP contact changed" in due(services, today, policy_file)["out_of_cycle_update"]["why"]


@pytest.mark.requirement("H3")
@pytest.mark.control("cip.copies_on_request")
def test_cip_copy_requests_run_on_a_ten_day_clock_and_are_reminded(services: Services, tmp_path: Path) -> None:
    today = clock.now().date()
    received = today - timedelta(days=12)
    added = invoke(services, "reporting", "request", "add", "--requester", "Department of Commerce",
                   "--received", received.isoformat())
    assert added.exit_code == 0, added.output
    request_id = added.stdout.strip().splitlines()[-1]
    item = due(services, today)["cip_copy_request"]
    assert item["due"] == (received + timedelta(days=10)).isoformat() and item["overdue"] is True
    assert invoke(services, "reporting", "request", "add", "--requester", "x",
                  "--received", (today + timedelta(days=1)).isoformat()).exit_code == 2

    outcomes = JobRunner(services, default_tasks()).run_once(clock.now())
    assert [o.result for o in outcomes if o.name == "reporting-reminders"] == [2]  # certification, request
    assert JobRunner(services, default_tasks()).run_once(clock.now())[-1].result == 0  # once a day
    with services.database.engine.connect() as conn:
        reminded = [json.loads(p)["data"] for p in conn.execute(select(webhook_outbox.c.payload_json).where(
            webhook_outbox.c.event_type == "reporting.due")).scalars()]
    assert {(r["item_kind"], r["status"]) for r in reminded} == {("certification", "due"),
                                                                 ("cip_copy_request", "overdue")}

    answered = invoke(services, "reporting", "request", "answer", request_id, "-o", str(tmp_path / "sent"))
    assert answered.exit_code == 0, answered.output
    answer = json.loads(answered.stdout)
    [document] = answer["documents"]
    assert hashlib.sha256((tmp_path / "sent" / document["name"]).read_bytes()).hexdigest() == document["sha256"]
    assert answer["on_time"] is False
    assert "cip_copy_request" not in due(services, today)
    assert invoke(services, "reporting", "request", "answer", request_id, "-o", str(tmp_path)).exit_code == 5
    entry = services.ledger.entries_for_record("cip_copy_request", request_id)[-1]
    assert entry["action"] == "disclose" and entry["detail"]["documents"][0]["sha256"] == document["sha256"]
