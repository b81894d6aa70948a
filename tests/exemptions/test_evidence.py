"""F2 through the API and the CLI: the evidence pack's figures equal the counts this test makes and keeps
itself (signups and how they were decided, exemptions applied, hits and adjudication time, signals by
kind and time to handle, accounts closed for abuse, legal processes, notices); records outside the
period are not counted; HTML carries inline SVG charts and no outside asset, the PDF is a PDF; every
figure carries its query."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, inspect
from tests.exemptions.conftest import INDIVIDUAL, Clock, auth, body, grant_body
from typer.testing import CliRunner

from cloudcip.access.schema import account_signal
from cloudcip.access.signals import set_signal_state
from cloudcip.cli.main import app
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.exemptions.evidence import figure_queries
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.snapshots import import_publication

PERIOD = "from=2026-01-01&to=2027-01-01"


def _signup(client: TestClient, keys: dict[str, str], n: int, **changes: Any) -> dict[str, Any]:
    made = body(INDIVIDUAL, email=f"customer{n}@example.de", **changes)
    response = client.post("/v1/applications", json=made, headers=auth(keys["signup-service"]))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _signal(services: Services, account_id: str, kind: str, at: datetime) -> str:
    signal_id = str(uuid.uuid4())
    with services.database.engine.begin() as conn:
        conn.execute(insert(account_signal).values(id=signal_id, account_id=account_id, kind=kind, at=at,
                                                   detail_json="{}", state="open", dedupe_key=signal_id[:16]))
    return signal_id


@pytest.mark.requirement("F2")
def test_the_evidence_pack_counts_what_happened(client: TestClient, keys: dict[str, str], services: Services,
                                                clock: Clock) -> None:
    officer = auth(keys["compliance-officer"])
    decided: dict[str, int] = {}
    kept: list[dict[str, Any]] = []

    def signup(n: int, **changes: Any) -> dict[str, Any]:
        answer = _signup(client, keys, n, **changes)
        decided[answer["decision"]] = decided.get(answer["decision"], 0) + 1
        kept.append(answer)
        return answer

    clock.now = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
    import_publication(services, ListPublication("own-csv", "test", [DesignatedParty(
        source="test", source_id="9", schema="Person", names=[ListedName("Mallory Archer")],
        birth_dates=["1970-01-01"], nationalities=["DE"])], [], hashlib.sha256(b"x").hexdigest()),
        Actor("test:officer", "compliance-officer"))
    _signup(client, keys, 0)  # before the period: not counted
    clock.now = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
    exemption = client.post("/v1/exemptions", json=grant_body(["identity_verification"], scope="account_type",
                                                                value="trial"), headers=officer).json()
    client.post(f"/v1/exemptions/{exemption['id']}/notices", json={"change": "new signup channel"}, headers=officer)
    standard = [signup(n) for n in range(1, 4)]
    trials = [signup(n, account={"type": "trial", "channel": "self_serve"}) for n in range(4, 6)]
    assert all(t["exemption_applied"] == exemption["id"] for t in trials)

    listed = signup(9, name={"given": "Mallory", "family": "Archer"}, birth_date="1970-01-01")
    assert listed["decision"] == "refused"
    hits = [hit for answer in kept for hit in answer["screening"]["hits"] if hit["band"] != "clear"]
    clock.now += timedelta(hours=2)
    for hit in hits:
        decision = client.post(f"/v1/hits/{hit['hit_id']}/decision", json={"state": "confirmed", "reason": "same DOB"},
                               headers=auth(keys["analyst"]))
        assert decision.status_code == 200, decision.text

    signals = {"impossible_travel": [], "special_measure_jurisdiction": []}  # type: dict[str, list[str]]
    for kind, count in (("impossible_travel", 2), ("special_measure_jurisdiction", 1)):
        signals[kind] = [_signal(services, standard[0]["account_id"], kind, clock.now) for _ in range(count)]
    clock.now += timedelta(hours=30)
    set_signal_state(services.database, signals["impossible_travel"][0], "actioned")

    abused = standard[0]["account_id"]
    report = client.post("/v1/incidents", json={"account_id": abused, "summary": "cryptomining on a stolen card"},
                         headers=auth(keys["analyst"]))
    assert report.status_code == 201, report.text
    closed = client.post(f"/v1/accounts/{abused}/close", json={}, headers=auth(keys["signup-service"]))
    assert closed.status_code == 200, closed.text
    process = client.post("/v1/legal/processes", json={"kind": "subpoena", "authority": "Grand jury",
                                                        "reference": "GJ-9", "customers": [standard[1]["customer_id"]]},
                          headers=auth(keys["legal"]))
    assert process.status_code == 201, process.text

    clock.now = datetime(2027, 1, 5, tzinfo=UTC)
    _signup(client, keys, 10)  # after the period: not counted
    response = client.get(f"/v1/exemptions/evidence?{PERIOD}", headers=auth(keys["auditor"]))
    assert response.status_code == 200, response.text
    sections = response.json()["sections"]

    assert {key: value["count"] for key, value in sections["signups"]["decided"]["by"].items()} == decided
    assert sections["signups"]["by_account_type"]["by"] == {"standard": {"count": 4}, "trial": {"count": 2}}
    assert sections["signups"]["exemptions_applied"]["value"] == len(trials)
    assert sections["hits"]["raised"]["total"] == len(hits) > 0
    adjudicated = sections["hits"]["adjudicated"]["by"]["confirmed"]
    assert adjudicated["count"] == len(hits) and adjudicated["mean_hours"] == pytest.approx(2, abs=0.01)
    assert sections["hits"]["adjudication_time"]["values"]["within_24h"] == len(hits)
    by_kind = sections["signals"]["by_kind"]["by"]
    assert {kind: row["count"] for kind, row in by_kind.items()} == {k: len(v) for k, v in signals.items()}
    assert by_kind["impossible_travel"]["handled"] == 1
    assert by_kind["impossible_travel"]["mean_hours_to_handle"] == pytest.approx(30, abs=0.01)
    assert sections["closures"]["closed_for_abuse"]["value"] == 1
    assert sections["closures"]["incident_reports"]["by"] == {"malicious_activity": {"count": 1}}
    assert sections["legal"]["received"]["by"] == {"subpoena": {"count": 1}}
    assert sections["exemptions"]["uses"]["value"] == len(trials)
    assert sections["exemptions"]["notices_sent"]["value"] == 1
    assert sections["sharing"]["received"]["total"] == 0
    with services.database.engine.connect() as conn:
        installed = inspect(conn).has_table("reseller_review")
    assert sections["resellers"]["in_use"] is installed
    assert all(sql.lstrip().upper().startswith("SELECT") for _, sql in figure_queries(response.json()))

    html = client.get(f"/v1/exemptions/evidence?{PERIOD}&format=html", headers=auth(keys["auditor"]))
    assert html.status_code == 200 and "<svg" in html.text and "<script" not in html.text
    assert "http://" not in html.text.replace("http://www.w3.org/2000/svg", "") and "https://" not in html.text
    pdf = client.get(f"/v1/exemptions/evidence?{PERIOD}&format=pdf", headers=auth(keys["auditor"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get(f"/v1/exemptions/evidence?{PERIOD}", headers=auth(keys["analyst"])).status_code == 403
    bad = client.get("/v1/exemptions/evidence?from=2026-01-01&to=2025-01-01", headers=auth(keys["auditor"]))
    assert bad.status_code == 422 and "to" in bad.text
    assert client.get("/v1/exemptions/evidence?from=someday&to=2026-01-01",
                      headers=auth(keys["auditor"])).status_code == 422


@pytest.mark.requirement("F2")
def test_the_cli_prints_one_json_object(tmp_path: Path, database_url: str) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args],
                               env={"CLOUDCIP_DATABASE_URL": database_url, "CLOUDCIP_CERTIFICATION_GATE": "off"})
        assert result.exit_code == code, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        return result

    run("init")
    application = tmp_path / "application.json"
    application.write_text(json.dumps(INDIVIDUAL))
    answer = json.loads(run("applications", "submit", str(application)).stdout)
    today = datetime.now(UTC).date()
    printed = run("exemptions", "evidence", "--from", str(today), "--to", str(today + timedelta(days=1)),
                  "--format", "json").stdout
    pack = json.loads(printed)  # one JSON object, nothing else on stdout
    assert pack["sections"]["signups"]["decided"]["by"] == {answer["decision"]: {"count": 1}}
    out = tmp_path / "pack.pdf"
    run("exemptions", "evidence", "--from", str(today), "--to", str(today + timedelta(days=1)), "--format", "pdf",
        "--out", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    run("exemptions", "evidence", "--from", str(today), "--to", str(today), "--format", "json", code=2)
    run("exemptions", "evidence", "--from", str(today), "--to", str(today), "--format", "pdf", code=2)
