"""Changing the CIP policy in force needs a second compliance officer (A8, B4; issue 17's four eyes):
proposed in the console or at the terminal, checked when proposed (it parses, fits the profile and
has a new version), visible with its diff to both people, never approved by its maker, in force for
new decisions once approved, and each step on the ledger. ``CLOUDCIP_POLICY`` changes nothing once a
policy is adopted this way."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.console.conftest import console_of
from tests.console.seed import PASSWORD, csrf_of
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.cli.main import app as cli
from cloudcip.ledger.schema import ledger_entry
from cloudcip.profiles import default_policy_text
from cloudcip.records.roles import create_api_key
from cloudcip.runtime import Services, policy_in_force
from cloudcip.verification.policy_store import PolicyWatch

NEW = default_policy_text().replace('version: "2024.1"', 'version: "2026.2"', 1)


def _actions(services: Services) -> list[tuple[str, str]]:
    with services.database.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(ledger_entry.c.actor, ledger_entry.c.action).where(
            ledger_entry.c.record_type.in_(("pending_change", "cip_policy"))).order_by(ledger_entry.c.idx))]


# what a proposal is refused for, named on the policy field (nothing is proposed)
REFUSED = [
    ("not YAML at all", "rules: [", "policy"),
    ("a rule the schema does not know", NEW.replace("email_otp", "fax_otp", 1), "fax_otp"),
    ("the same version as in force", default_policy_text().replace("title:", "title: x", 0), "nothing to change"),
    ("a changed policy keeping its version", default_policy_text().replace(
        'title: "Customer Identification Program (cloudcip default)"', 'title: "Renamed"', 1), "new version"),
]


@pytest.mark.requirement("B4", "A8")
def test_a_policy_change_needs_a_second_officer_and_then_decides_new_cases(
        as_person: Callable[[str], TestClient], app_client: TestClient, services: Services) -> None:
    carol, dave, ana = as_person("carol"), as_person("dave"), as_person("ana")
    assert ana.get("/console/policy").status_code == 403
    page = carol.get("/console/policy")
    assert 'id="policy-in-force">default version 2024.1<' in page.text
    token = csrf_of(page.text)
    for why, text, said in REFUSED:
        refused = carol.post("/console/policy/propose", data={"csrf_token": token, "policy": text,
                                                              "reason": "yearly review"})
        assert refused.status_code == 422 and said in refused.text and 'aria-invalid="true"' in refused.text, why
    assert console_of(app_client).four_eyes.changes() == []
    proposed = carol.post("/console/policy/propose", data={"csrf_token": token, "policy": NEW,
                                                           "reason": "yearly review 2026"})
    assert proposed.status_code == 303
    [change] = console_of(app_client).four_eyes.changes()
    # both people see it, with what it changes; nothing is in force yet
    seen = dave.get("/console/policy").text
    assert "yearly review 2026" in seen and "+version: &#39;2026.2&#39;" in seen
    assert policy_in_force(services).version == "2024.1"
    assert carol.post(f"/console/approvals/{change.id}/approve",
                      data={"csrf_token": token}).status_code == 403  # never one's own
    assert dave.post(f"/console/approvals/{change.id}/approve",
                     data={"csrf_token": csrf_of(seen)}).status_code == 303
    assert policy_in_force(services).version == "2026.2"
    assert console_of(app_client).applications.policy.version == "2026.2"
    shown = carol.get("/console/policy").text
    assert 'id="policy-in-force">default version 2026.2<' in shown and "approved by console:dave" in shown
    assert _actions(services) == [("console:carol", "propose"), ("console:dave", "adopt_policy"),
                                  ("console:dave", "approve")]


@pytest.mark.requirement("B4", "A8")
def test_the_terminal_needs_a_second_person_too_and_the_environment_changes_nothing(
        services: Services, app_client: TestClient, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--data-dir", str(services.settings.data_dir)]
    env = {"CLOUDCIP_DATABASE_URL": services.settings.database_url}
    new = tmp_path / "policy-2026.yaml"
    new.write_text(NEW)
    wrong = runner.invoke(cli, [*base, "policy", "propose", str(new), "--as", "carol", "--reason", "review"],
                          input="not the password\n", env=env)
    assert wrong.exit_code == 3 and console_of(app_client).four_eyes.changes() == []
    proposed = runner.invoke(cli, [*base, "policy", "propose", str(new), "--as", "carol", "--reason", "review"],
                             input=f"{PASSWORD}\n", env=env)
    assert proposed.exit_code == 0, proposed.output
    change_id = proposed.stdout.strip().splitlines()[-1]
    listed = runner.invoke(cli, [*base, "policy", "pending"], env=env)
    assert change_id in listed.stdout and "console:carol" in listed.stdout
    own = runner.invoke(cli, [*base, "policy", "approve", change_id, "--as", "carol"], input=f"{PASSWORD}\n",
                        env=env)
    assert own.exit_code != 0 and "own proposal" in own.output
    analyst = runner.invoke(cli, [*base, "policy", "approve", change_id, "--as", "ana"], input=f"{PASSWORD}\n",
                            env=env)
    assert analyst.exit_code != 0 and policy_in_force(services).version == "2024.1"
    approved = runner.invoke(cli, [*base, "policy", "approve", change_id, "--as", "dave"], input=f"{PASSWORD}\n",
                             env=env)
    assert approved.exit_code == 0, approved.output
    assert policy_in_force(services).version == "2026.2"
    # pointing CLOUDCIP_POLICY at another file does not change the adopted policy
    other = tmp_path / "other.yaml"
    other.write_text(default_policy_text().replace('version: "2024.1"', 'version: "9999.9"', 1))
    shown = runner.invoke(cli, [*base, "policy", "show"], env={**env, "CLOUDCIP_POLICY": str(other)})
    assert shown.exit_code == 0 and "version 2026.2" in shown.stdout and "9999.9" not in shown.stdout


@pytest.mark.requirement("A8", "B4")
def test_a_policy_adopted_on_another_node_decides_this_nodes_signups_after_its_check_interval(
        services: Services, app_client: TestClient, tmp_path: Path) -> None:
    """The terminal (another process, as another node or API worker would be) adopts a policy that
    shortens the matched rule's pending deadline to two days; the running service keeps deciding
    under the old one until its next look (two seconds on its monotonic clock), then under the new."""
    applications = console_of(app_client).applications
    assert isinstance(applications.policy_watch, PolicyWatch)  # every process's service is built with one
    moment = [0.0]
    applications.policy_watch = PolicyWatch(services.database, None, check_interval=2.0,
                                            monotonic=lambda: moment[0])
    with services.database.engine.begin() as conn:
        key = create_api_key(conn, "signup-service", "policy-follow", clock.now())
    body = json.loads((Path(__file__).parents[2] / "examples" / "application.json").read_text())

    def pending_days(number: int) -> tuple[str, float]:
        answer = app_client.post("/v1/applications", json={**body, "email": f"anna{number}@example.de"},
                                 headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"follow-{number}"})
        assert answer.status_code == 201, answer.text
        decided = answer.json()
        assert decided["decision"] == "pending_evidence", decided
        left = datetime.fromisoformat(decided["deadline"].replace("Z", "+00:00")) - clock.now()
        return decided["policy_rule"], left.total_seconds() / 86_400

    rule, before = pending_days(1)
    assert before > 3
    document = yaml.safe_load(default_policy_text())
    document["version"] = "2026.3"
    next(r for r in document["rules"] if r["id"] == rule)["pending"]["deadline"] = "P2D"
    new = tmp_path / "policy-2026-3.yaml"
    new.write_text(yaml.safe_dump(document, sort_keys=False))
    runner = CliRunner()
    base = ["--data-dir", str(services.settings.data_dir)]
    env = {"CLOUDCIP_DATABASE_URL": services.settings.database_url}
    proposed = runner.invoke(cli, [*base, "policy", "propose", str(new), "--as", "carol", "--reason", "shorter"],
                             input=f"{PASSWORD}\n", env=env)
    assert proposed.exit_code == 0, proposed.output
    change_id = proposed.stdout.strip().splitlines()[-1]
    approved = runner.invoke(cli, [*base, "policy", "approve", change_id, "--as", "dave"], input=f"{PASSWORD}\n",
                             env=env)
    assert approved.exit_code == 0, approved.output
    assert pending_days(2) == (rule, pytest.approx(before, abs=0.01))  # not looked again yet
    moment[0] = 2.0
    rule_after, after = pending_days(3)
    assert rule_after == rule and 1.9 < after <= 2.0
    assert applications.policy.version == "2026.3"
