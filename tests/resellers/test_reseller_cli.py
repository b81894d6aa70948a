"""E1, E3 at the terminal: ``cloudcip resellers add`` prints the reseller id last; ``finding
--non-compliant`` starts the clock; ``clock --as-of D --json`` shows its days left; ``clock run --as-of
D`` restricts on day 30 and not on day 29; terminating twice exits 5; the CIP and the review commands."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.resellers.builders import reseller_customer
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.cli.main import app
from cloudcip.runtime import open_services
from cloudcip.settings import Settings
from cloudcip.storage.schema import account


@pytest.fixture
def cli(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == code, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        return result

    run.settings = Settings(data_dir=data_dir, database_url=database_url)  # type: ignore[attr-defined]
    run("init")
    return run


def make_reseller_customer(cli: Any) -> tuple[str, str]:
    services = open_services(cli.settings)
    try:
        return reseller_customer(services)
    finally:
        services.close()


def state_of(cli: Any, account_id: str) -> str:
    services = open_services(cli.settings)
    try:
        with services.database.engine.connect() as conn:
            return str(conn.execute(select(account.c.state).where(account.c.id == account_id)).scalar_one())
    finally:
        services.close()


@pytest.mark.requirement("E1", "E3")
def test_cli_register_find_non_compliant_and_the_clock_restricts_on_day_30(cli: Any, tmp_path: Path) -> None:
    customer_id, account_id = make_reseller_customer(cli)
    reseller_id = cli("resellers", "add", customer_id, "--contact", "cip@nordlicht.example").stdout.splitlines()[-1]
    assert len(reseller_id) == 36
    shown = json.loads(cli("resellers", "show", reseller_id).stdout)
    assert shown["foreign"] is True and shown["status"] == "active"
    cli("resellers", "add", customer_id, "--contact", "cip@nordlicht.example", code=5)  # already registered

    today = clock.today()
    finding = json.loads(cli("resellers", "finding", reseller_id, "--non-compliant", "--reason",
                             "evidence missing for sampled sub-lessees").stdout)
    assert finding["termination"]["state"] == "running"
    day_29, day_30 = (today + timedelta(days=29)).isoformat(), (today + timedelta(days=30)).isoformat()
    running = json.loads(cli("resellers", "clock", "--as-of", day_29, "--json").stdout)
    assert [(c["reseller_id"], c["days_left"]) for c in running] == [(reseller_id, 1)]
    assert json.loads(cli("resellers", "clock", "--json").stdout)[0]["days_left"] == 30

    ran = json.loads(cli("resellers", "clock", "run", "--as-of", day_29).stdout)
    assert ran["terminated"] == [] and state_of(cli, account_id) == "active"
    ran = json.loads(cli("resellers", "clock", "run", "--as-of", day_30).stdout)
    assert [t["reseller_id"] for t in ran["terminated"]] == [reseller_id]
    assert state_of(cli, account_id) == "restricted"
    assert json.loads(cli("resellers", "clock", "--as-of", day_30, "--json").stdout) == []
    failed = cli("resellers", "terminate", reseller_id, "--reason", "again", code=5)
    assert "already terminated" in failed.output


@pytest.mark.requirement("E1", "E3")
def test_cli_cip_upload_and_review(cli: Any, tmp_path: Path) -> None:
    customer_id, _ = make_reseller_customer(cli)
    reseller_id = cli("resellers", "add", customer_id, "--contact", "cip@nordlicht.example").stdout.splitlines()[-1]
    document = tmp_path / "cip.txt"
    document.write_text("Our written CIP: every sub-lessee's identity is verified.\n")
    uploaded = json.loads(cli("resellers", "cip", "upload", reseller_id, str(document)).stdout)
    assert (uploaded["version"], uploaded["file_type"]) == (1, "txt")
    assert [v["version"] for v in json.loads(cli("resellers", "cip", "list", reseller_id).stdout)] == [1]
    out = tmp_path / "back.txt"
    cli("resellers", "cip", "get", reseller_id, "--out", str(out))
    assert out.read_bytes() == document.read_bytes()
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert "file" in cli("resellers", "cip", "upload", reseller_id, str(empty), code=2).output

    review_id = cli("resellers", "review", "start", reseller_id).stdout.splitlines()[-1]
    sampled = json.loads(cli("resellers", "review", "sample", reseller_id, review_id, "--size", "3",
                             "--seed", "11").stdout)
    assert sampled["sample"]["population"] == 0 and sampled["sample"]["whole_population"] is True
    closed = json.loads(cli("resellers", "review", "finding", reseller_id, review_id, "--compliant", "--reason",
                            "no sub-lessees yet").stdout)
    assert closed["kind"] == "compliant"
    cli("resellers", "finding", reseller_id, "--reason", "x", code=2)  # no kind said


@pytest.mark.requirement("G4", "E3")
def test_a_malicious_activity_finding_makes_a_report_exported_as_json_and_pdf(cli: Any, tmp_path: Path) -> None:
    customer_id, account_id = make_reseller_customer(cli)
    reseller_id = cli("resellers", "add", customer_id, "--contact", "cip@nordlicht.example").stdout.splitlines()[-1]
    finding = json.loads(cli("resellers", "finding", reseller_id, "--malicious-activity", "--reason",
                             "sub-lessees ran a botnet controller").stdout)
    incident_id = finding["incident_id"]
    exported = json.loads(cli("incidents", "export", incident_id, "--format", "json").stdout)
    assert exported["kind"] == "malicious_activity" and exported["account"]["id"] == account_id
    assert exported["findings"]["reseller_id"] == reseller_id and "botnet" in exported["summary"]
    pdf = tmp_path / "incident.pdf"
    cli("incidents", "export", incident_id, "--format", "pdf", "--out", str(pdf))
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-32:]
    cli("incidents", "export", incident_id, "--format", "pdf", code=2)  # a PDF needs --out
    cli("incidents", "export", incident_id, "--format", "docx", code=2)


@pytest.mark.requirement("E1", "H3")
def test_a_foreign_resellers_cip_goes_with_the_answer_to_a_request_for_copies(cli: Any, tmp_path: Path) -> None:
    customer_id, _ = make_reseller_customer(cli)
    reseller_id = cli("resellers", "add", customer_id, "--contact", "cip@nordlicht.example").stdout.splitlines()[-1]
    document = tmp_path / "their-cip.html"
    document.write_bytes(b"<html><body>Nordlicht written CIP</body></html>")
    cli("resellers", "cip", "upload", reseller_id, str(document))
    request_id = cli("reporting", "request", "add", "--requester", "Department of Commerce").stdout.splitlines()[-1]
    answer = json.loads(cli("reporting", "request", "answer", request_id, "-o", str(tmp_path / "sent")).stdout)
    names = [d["name"] for d in answer["documents"]]
    assert names[0].startswith("written-cip-") and names[1:] == [f"reseller-{reseller_id}-cip-v1.html"]
    assert (tmp_path / "sent" / names[1]).read_bytes() == document.read_bytes()
