"""A1, A8: the policy file is checked with every problem named, and the written CIP comes from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.profiles import default_policy_text
from cloudcip.verification.policy import default_policy

runner = CliRunner()


@pytest.mark.requirement("A1")
def test_default_policy_checks_and_shows() -> None:
    policy_file = Path(__file__).resolve().parents[2] / "src" / "cloudcip" / "profiles" / "default-policy.yaml"
    result = runner.invoke(app, ["policy", "check", str(policy_file)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK default-policy.yaml")
    shown = runner.invoke(app, ["policy", "show"])
    assert shown.exit_code == 0 and "standard-individual" in shown.stdout


@pytest.mark.requirement("A1")
def test_bad_policy_names_the_path_of_each_bad_key(tmp_path: Path) -> None:
    text = default_policy_text().replace("email_otp", "fax_otp", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 2  # invalid input
    assert "fax_otp" in result.output and "rules." in result.output


@pytest.mark.requirement("A1")
def test_written_cip_mentions_every_rule_in_both_formats(tmp_path: Path) -> None:
    rule_ids = [rule.id for rule in default_policy().rules]
    markdown = runner.invoke(app, ["cip", "render"])
    assert markdown.exit_code == 0
    html_file = tmp_path / "cip.html"
    assert runner.invoke(app, ["cip", "render", "--format", "html", "-o", str(html_file)]).exit_code == 0
    html = html_file.read_text()
    for rule_id in rule_ids:
        assert rule_id in markdown.stdout and rule_id in html
    for section in ("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"):
        assert section in markdown.stdout and section in html
    assert runner.invoke(app, ["cip", "render", "--format", "pdf"]).exit_code == 1


@pytest.mark.requirement("A1", "A3", "A6", "A7")
@pytest.mark.control("profile.deadline_bounds", "profile.reverification_bound", "collect.profile_fields")
def test_a_policy_outside_the_profile_is_named_and_the_written_cip_stops_claiming_the_bounds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    data = yaml.safe_load(default_policy_text())
    data["rules"][0]["pending"]["deadline"] = "P60D"
    data["rules"][0]["reverification_interval_days"] = 2000
    data["rules"][-1]["required_fields"].remove("phone")
    outside = tmp_path / "outside.yaml"
    outside.write_text(yaml.safe_dump(data))
    checked = runner.invoke(app, ["policy", "check", str(outside)])
    assert checked.exit_code == 1
    for path in ("rules.0.pending.deadline", "rules.0.reverification_interval_days", "rules.6.required_fields"):
        assert path in checked.output
    inside = runner.invoke(app, ["cip", "render"])
    assert "lies between 1 and 30 days" in inside.stdout and "1095 days" in inside.stdout
    assert "Every rule requires at least what the regulatory profile collects" in inside.stdout
    monkeypatch.setenv("CLOUDCIP_POLICY", str(outside))
    rendered = runner.invoke(app, ["cip", "render"])
    assert rendered.exit_code == 0, rendered.output
    assert "lies between" not in rendered.stdout and "1095 days" not in rendered.stdout
    assert "Every rule requires at least" not in rendered.stdout
