"""A1, A8: the policy file is checked with every problem named, and the written CIP comes from it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.profiles import default_policy_text
from cloudcip.verification.policy import default_policy

runner = CliRunner()


def test_default_policy_checks_and_shows() -> None:
    policy_file = Path(__file__).resolve().parents[2] / "src" / "cloudcip" / "profiles" / "default-policy.yaml"
    result = runner.invoke(app, ["policy", "check", str(policy_file)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK default-policy.yaml")
    shown = runner.invoke(app, ["policy", "show"])
    assert shown.exit_code == 0 and "standard-individual" in shown.stdout


def test_bad_policy_names_the_path_of_each_bad_key(tmp_path: Path) -> None:
    text = default_policy_text().replace("email_otp", "fax_otp", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    result = runner.invoke(app, ["policy", "check", str(bad)])
    assert result.exit_code == 2  # invalid input
    assert "fax_otp" in result.output and "rules." in result.output


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
