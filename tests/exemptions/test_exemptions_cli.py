"""F1 at the terminal: ``cloudcip exemptions grant|list|show|notice|revoke|flag-ended``, and an exempted
signup through ``cloudcip applications submit``; bad input names the field, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.exemptions.conftest import BASIS, INDIVIDUAL
from typer.testing import CliRunner

from cloudcip.cli.main import app


@pytest.fixture
def cli(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args],
                               env={"CLOUDCIP_DATABASE_URL": database_url, "CLOUDCIP_CERTIFICATION_GATE": "off"})
        assert result.exit_code == code, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        return result

    run("init")
    return run


@pytest.mark.requirement("F1")
def test_exemptions_at_the_terminal(cli: Any, tmp_path: Path) -> None:
    granted = cli("exemptions", "grant", "--scope", "provider", "--basis", BASIS, "--step", "identity_verification",
                  "--granted", "2020-01-01", "--expires", "2099-01-01", "--condition", "quarterly report")
    exemption_id = granted.stdout.strip().splitlines()[-1]
    refused = cli("exemptions", "grant", "--scope", "provider", "--basis", BASIS, "--step", "screening",
                  "--granted", "2020-01-01", "--expires", "2099-01-01", code=2)
    assert "steps" in refused.output
    overlap = cli("exemptions", "grant", "--scope", "lessee_type", "--value", "individual", "--basis", BASIS,
                  "--step", "identity_verification", "--granted", "2021-01-01", "--expires", "2022-01-01", code=5)
    assert exemption_id in overlap.output
    listed = [json.loads(line) for line in cli("exemptions", "list").stdout.splitlines()]
    assert [item["id"] for item in listed] == [exemption_id] and listed[0]["state"] == "active"
    assert cli("exemptions", "list", "--as-of", "2099-01-02").stdout.count('"expired"') == 1

    application = tmp_path / "application.json"
    application.write_text(json.dumps(INDIVIDUAL))
    answer = json.loads(cli("applications", "submit", str(application)).stdout)
    assert answer["exemption_applied"] == exemption_id and answer["decision"] == "approved"

    cli("exemptions", "notice", exemption_id, "--change", "a new signup channel")
    shown = json.loads(cli("exemptions", "show", exemption_id).stdout)
    assert shown["uses"] == 1 and [n["change"] for n in shown["notices"]] == ["a new signup channel"]
    revoked = json.loads(cli("exemptions", "revoke", exemption_id, "--reason", "program ended").stdout
                         .strip().splitlines()[-1])
    assert revoked["state"] == "revoked" and revoked["accounts_flagged"] == 1
    cli("exemptions", "revoke", exemption_id, "--reason", "again", code=5)
    assert json.loads(cli("exemptions", "flag-ended").stdout) == {}
