"""H1: the certification gate holds a foreign customer whose evidence is complete in ``pending_evidence``
(no deadline runs against it), and filing the certification, through the API or the CLI, approves
every held case at once, without a manual step; cases that still owe evidence keep waiting for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests import applicants
from tests.applicants import applicant
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.api.app import create_app
from cloudcip.cli.main import app as cli
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.reports.certification import GATE_REASON
from cloudcip.runtime import Services, gate_applications
from cloudcip.settings import Settings
from cloudcip.verification.applications import build_application_service

runner = CliRunner()

FOREIGN: dict[str, Any] = applicant(applicants.APPLICATION, email="anna@example.de")


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def gated(tmp_path: Path, database_url: str) -> Iterator[Services]:
    from cloudcip.runtime import initialise, open_services

    settings = Settings(data_dir=tmp_path / "gated", database_url=database_url, certification_gate=True)
    initialise(settings)
    opened = open_services(settings)
    try:
        yield opened
    finally:
        opened.close()


class Provider:
    """The signup service and the compliance officer of a gated provider, through the API."""

    def __init__(self, services: Services, client: TestClient) -> None:
        self.services, self.client = services, client
        with services.database.engine.begin() as conn:
            self.keys = {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}
        self.opened = 0

    def open(self) -> dict[str, Any]:
        self.opened += 1
        body = {**FOREIGN, "email": f"customer{self.opened}@example.de"}
        headers = {**auth(self.keys["signup-service"]), "Idempotency-Key": f"g-{self.opened}"}
        response = self.client.post("/v1/applications", json=body, headers=headers)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def evidence(self, app_id: str, *, complete: bool) -> dict[str, Any]:
        """The e-mail code; and, when ``complete``, a vendor's document check and a payment check."""
        signup = auth(self.keys["signup-service"])
        assert self.client.post(f"/v1/applications/{app_id}/otp/email", headers=signup).status_code == 202
        with self.services.database.engine.connect() as conn:
            sent = [json.loads(p)["data"] for p in conn.execute(select(webhook_outbox.c.payload_json).where(
                webhook_outbox.c.event_type == "otp.deliver")).scalars()]
        code = next(d["code"] for d in reversed(sent) if d["application_id"] == app_id)
        answer = self.client.post(f"/v1/applications/{app_id}/otp/email/confirm", json={"code": code}, headers=signup)
        assert answer.status_code == 200, answer.text
        if complete:
            vendor = {"vendor": "acme-idv", "reference": f"chk-{app_id[:8]}", "outcome": "verified",
                      "document_type": "passport", "document_country": "DE", "document_number": "C01X00T47"}
            assert self.client.post(f"/v1/applications/{app_id}/evidence",
                                    json={"method": "vendor_idv", "vendor_result": vendor},
                                    headers=signup).status_code == 200
            answer = self.client.post(f"/v1/applications/{app_id}/evidence",
                                      json={"method": "payment_check", "outcome": "verified"}, headers=signup)
            assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def case(self, app_id: str) -> dict[str, Any]:
        response = self.client.get(f"/v1/applications/{app_id}", headers=auth(self.keys["analyst"]))
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def account_state(self, account_id: str) -> str:
        return str(self.client.get(f"/v1/accounts/{account_id}", headers=auth(self.keys["analyst"])).json()["state"])


def file_through_api(provider: Provider) -> dict[str, Any]:
    officer = auth(provider.keys["compliance-officer"])
    assert provider.client.put("/v1/reporting/contact", json={"name": "Dana Reyes", "email": "cip@provider.example"},
                               headers=officer).status_code == 204
    filed = provider.client.post("/v1/certification/filings", json={}, headers=officer)
    assert filed.status_code == 201, filed.text
    answer: dict[str, Any] = filed.json()
    return answer


def file_through_cli(provider: Provider) -> dict[str, Any]:
    env = {"CLOUDCIP_DATABASE_URL": provider.services.settings.database_url, "CLOUDCIP_CERTIFICATION_GATE": "on"}
    base = ["--data-dir", str(provider.services.settings.data_dir)]
    contact = runner.invoke(cli, [*base, "reporting", "contact", "set", "--name", "Dana Reyes",
                                  "--email", "cip@provider.example"], env=env)
    assert contact.exit_code == 0, contact.output
    filed = runner.invoke(cli, [*base, "certification", "file"], env=env)
    assert filed.exit_code == 0, filed.output
    answer: dict[str, Any] = json.loads(filed.stdout.strip().splitlines()[-1])
    return answer


@pytest.mark.requirement("H1", "A4", "A6")
@pytest.mark.control("certification.gate")
@pytest.mark.parametrize("file", [file_through_api, file_through_cli], ids=["api", "cli"])
def test_filing_the_certification_approves_the_cases_the_gate_held(gated: Services, file: Any) -> None:
    with TestClient(create_app(gated), raise_server_exceptions=False) as client:
        provider = Provider(gated, client)
        held = [provider.open() for _ in range(2)]
        for opened in held:
            waiting = provider.evidence(opened["id"], complete=True)
            assert (waiting["state"], waiting["deadline"]) == ("pending_evidence", None)
            assert waiting["reasons"][-1] == GATE_REASON and waiting["held_by_gate"] == GATE_REASON
            assert provider.account_state(opened["account_id"]) == "restricted_pending"
        owing = provider.open()
        provider.evidence(owing["id"], complete=False)
        assert provider.case(owing["id"])["deadline"] is not None

        # no deadline runs against a held case: the deadline job, 60 days on, fails only the one owing evidence
        later = clock.now() + timedelta(days=60)
        assert gate_applications(gated, build_application_service(gated)).enforce_deadlines(later) == 1
        assert [provider.case(o["id"])["state"] for o in held] == ["pending_evidence", "pending_evidence"]
        assert provider.case(owing["id"])["state"] != "pending_evidence"

        filing = file(provider)
        assert filing["held_cases_approved"] == 2
        for opened in held:
            case = provider.case(opened["id"])
            assert case["state"] == "approved" and "held_by_gate" not in case, case
            assert case["reasons"][0].startswith("certification_filed:") and GATE_REASON not in case["reasons"]
            assert case["history"][-1]["to"] == "approved" and case["resolution"]
            assert provider.account_state(opened["account_id"]) == "active"
        assert file(provider)["held_cases_approved"] == 0  # a second filing finds nothing held
