"""H1, H3: the certification from live data, its figures checked against counts computed here from what
was submitted; filing it (hashed, on the ledger) and the gate on foreign customers' access; the
examiner's roster as CSV and Parquet, filtered and sampled."""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests import applicants
from tests.applicants import applicant
from typer.testing import CliRunner

from cloudcip.api.app import create_app
from cloudcip.cli.main import app as cli
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.reports.certification import GATE_REASON, form_queries
from cloudcip.reports.schema import certification_filing
from cloudcip.runtime import Services
from cloudcip.settings import Settings
from cloudcip.verification.schema import application

runner = CliRunner()

INDIVIDUAL: dict[str, Any] = applicant(applicants.APPLICATION, email="anna@example.de")
US_ENTITY: dict[str, Any] = {
    "kind": "entity", "legal_name": "Blue Harbor Compute LLC",
    "registration": {"country": "US", "number": "46-1234567", "kind": "ein", "subdivision": "US-DE"},
    "address": {"line1": "1 Main St", "city": "Dover", "postal_code": "19901", "country": "US",
                "subdivision": "US-DE"},
    "email": "ops@blueharbor.example", "phone": "+13025550123",
    "beneficial_owners": [{"name": {"given": "Lars", "family": "Berg"}, "birth_date": "1970-01-02",
                           "nationality": "SE", "ownership_percent": 60,
                           "address": {"line1": "Drottninggatan 1", "city": "Stockholm", "country": "SE"}}],
    "payment_means": [{"type": "bank_account", "iban": "DE89370400440532013000"}],
    "account": {"type": "reseller", "channel": "sales_assisted"}, "signup_ip": "198.51.100.7",
    "notice_version": "notice-2024-01",
}
DE_RESELLER: dict[str, Any] = applicant(
    applicants.ENTITY,
    beneficial_owners=[{"name": {"given": "Oleg", "family": "Petrov"}, "birth_date": "1975-05-05",
                        "nationality": "RU", "ownership_percent": 30,
                        "address": {"line1": "Tverskaya 1", "city": "Moscow", "country": "RU"}},
                       {"name": {"given": "Jonas", "family": "Berg"}, "birth_date": "1970-01-02",
                        "nationality": "SE", "ownership_percent": 60}],
    **{**applicants.APPLYING, "account": {"type": "reseller", "channel": "sales_assisted"},
       "signup_ip": "198.51.100.7"})
RECORD_ONLY = {k: v for k, v in INDIVIDUAL.items() if k not in ("account", "signup_ip", "notice_version")}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}


def invoke(services: Services, *args: str) -> Any:
    return runner.invoke(cli, ["--data-dir", str(services.settings.data_dir), *args],
                         env={"CLOUDCIP_DATABASE_URL": services.settings.database_url,
                              "CLOUDCIP_CERTIFICATION_GATE": "off"})


@pytest.fixture
def book(client: TestClient, keys: dict[str, str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The customers the provider holds: (what was submitted, what cloudcip answered)."""
    submitted: list[tuple[dict[str, Any], dict[str, Any]]] = []
    bodies = [INDIVIDUAL, {**INDIVIDUAL, "email": "b@example.de", "address": {**INDIVIDUAL["address"], "country": "AT",
                                                                              "postal_code": "1010"}},
              US_ENTITY, DE_RESELLER]
    for number, body in enumerate(bodies):
        response = client.post("/v1/applications", json=copy.deepcopy(body),
                               headers={**auth(keys["signup-service"]), "Idempotency-Key": f"book-{number}"})
        assert response.status_code == 201, response.text
        submitted.append((body, response.json()))
    created = client.post("/v1/customers", json=RECORD_ONLY, headers=auth(keys["signup-service"]))
    assert created.status_code == 201
    submitted.append((RECORD_ONLY, {"customer_id": created.json()["id"], "person_status": []}))
    return submitted


def expected_figures(book: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """The eight items' counts, computed from what was submitted and answered, without cloudcip's queries."""
    def foreign(answer: dict[str, Any], subject: str) -> bool:
        status = {p["subject"]: p["status"] for p in answer["person_status"]}
        return status.get(subject, "foreign_person") != "us_person"  # undetermined counts as foreign

    customers = Counter(body["address"]["country"] for body, _ in book)
    owners: Counter[str] = Counter()
    for body, answer in book:
        for position, owner in enumerate(body.get("beneficial_owners", [])):
            if foreign(answer, f"beneficial_owner:{position}"):
                owners[(owner.get("address") or {}).get("country") or "unknown"] += 1
    resellers = sorted(answer["account_id"] for body, answer in book
                       if body.get("account", {}).get("type") == "reseller" and foreign(answer, "customer"))
    unverified = sum(1 for body, answer in book if "account" in body and foreign(answer, "customer")
                     and answer["decision"] != "approved")
    return {"customers": dict(customers), "owners": dict(owners), "resellers": resellers, "unverified": unverified}


@pytest.mark.requirement("H1")
@pytest.mark.control("certification.from_live_data")
def test_the_certification_figures_match_counts_computed_independently(
        services: Services, book: list[tuple[dict[str, Any], dict[str, Any]]], client: TestClient,
        keys: dict[str, str]) -> None:
    expected = expected_figures(book)
    rendered = invoke(services, "certification", "render", "--format", "json")
    assert rendered.exit_code == 0, rendered.output
    form = json.loads(rendered.stdout)
    items = form["items"]
    assert items["customers"]["by_country"] == expected["customers"]
    assert items["customers"]["total"] == len(book)
    assert items["foreign_beneficial_owners"]["by_country"] == expected["owners"] == {"RU": 1, "SE": 1, "unknown": 1}
    assert [r["account_id"] for r in items["foreign_resellers"]["value"]] == expected["resellers"]
    assert items["foreign_resellers"]["value"][0]["name"] == "Nordlicht Rechenzentrum GmbH"
    assert items["unverified_foreign_accounts"]["value"] == expected["unverified"] == 3
    assert [r["rule"] for r in items["verification_procedures"]["rules"]][:2] == ["reseller-entity",
                                                                                  "reseller-individual"]
    assert items["reseller_oversight"]["reseller_accounts"]["value"] == 2
    assert items["cip_contact"] is None
    for key in ("customers", "foreign_beneficial_owners", "foreign_resellers", "unverified_foreign_accounts"):
        assert "SELECT" in items[key]["query"].upper(), key  # each figure carries the query behind it
    html = client.get("/v1/certification", params={"format": "html"}, headers=auth(keys["compliance-officer"]))
    assert html.status_code == 200 and 'href="#query-customers"' in html.text and 'id="query-customers"' in html.text
    assert client.get("/v1/certification", headers=auth(keys["analyst"])).status_code == 403


@pytest.mark.requirement("H1")
def test_an_account_whose_newest_case_is_approved_is_verified_whatever_other_accounts_opened_later(
        services: Services, book: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Item 8 looks at each account's own cases: the first account's case approved (as a reviewer's
    decision leaves it), the accounts opened after it do not make it unverified."""
    first = book[0][1]
    assert first["decision"] != "approved"
    with services.database.engine.begin() as conn:
        conn.execute(update(application).where(application.c.id == first["id"])
                     .values(state="approved", decision="approved"))
    approved = [(body, {**answer, "decision": "approved"} if answer is first else answer) for body, answer in book]
    rendered = invoke(services, "certification", "render", "--format", "json")
    assert rendered.exit_code == 0, rendered.output
    figure = json.loads(rendered.stdout)["items"]["unverified_foreign_accounts"]["value"]
    assert figure == expected_figures(approved)["unverified"] == 2


@pytest.mark.requirement("H1")
def test_filing_needs_the_contact_and_is_stored_hashed_and_on_the_ledger(services: Services, client: TestClient,
                                                                         keys: dict[str, str]) -> None:
    officer = auth(keys["compliance-officer"])
    refused = client.post("/v1/certification/filings", json={}, headers=officer)
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "cip_contact"
    bad = client.put("/v1/reporting/contact", json={"name": "Compliance", "email": "not-an-address"}, headers=officer)
    assert bad.status_code == 422 and "not-an-address" not in bad.text
    assert invoke(services, "reporting", "contact", "set", "--name", "Dana Reyes", "--title", "CIP officer",
                  "--email", "cip@provider.example").exit_code == 0
    filed = client.post("/v1/certification/filings", json={}, headers=officer)
    assert filed.status_code == 201, filed.text
    with services.database.engine.connect() as conn:
        stored = conn.execute(select(certification_filing)).one()
    assert hashlib.sha256(stored.document_json.encode()).hexdigest() == filed.json()["sha256"] == stored.sha256
    assert json.loads(stored.document_json)["items"]["cip_contact"]["email"] == "cip@provider.example"
    entry = services.ledger.entries_for_record("certification", filed.json()["id"])[-1]
    assert entry["action"] == "file_certification" and entry["detail"]["sha256"] == stored.sha256


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


@pytest.mark.requirement("H1", "A4")
def test_no_foreign_customer_is_granted_access_before_a_certification_is_filed(gated: Services) -> None:
    from cloudcip.verification.applications import build_application_service

    with gated.database.engine.begin() as conn:
        keys = {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}
    with TestClient(create_app(gated), raise_server_exceptions=False) as client:
        signup = auth(keys["signup-service"])
        opened = client.post("/v1/applications", json=INDIVIDUAL, headers=signup).json()
        assert opened["decision"] == "pending_evidence"

        def prove(answer: dict[str, Any]) -> dict[str, Any]:
            """The e-mail code and a vendor's document check: what approves this customer's case."""
            from cloudcip.jobs.schema import webhook_outbox

            app_id = answer["id"]
            assert client.post(f"/v1/applications/{app_id}/otp/email", headers=signup).status_code == 202
            with gated.database.engine.connect() as conn:
                sent = [json.loads(p)["data"] for p in conn.execute(select(webhook_outbox.c.payload_json).where(
                    webhook_outbox.c.event_type == "otp.deliver")).scalars()]
            code = next(d["code"] for d in reversed(sent) if d["application_id"] == app_id)
            assert client.post(f"/v1/applications/{app_id}/otp/email/confirm", json={"code": code},
                               headers=signup).status_code == 200
            vendor = {"vendor": "acme-idv", "reference": f"chk-{app_id[:8]}", "outcome": "verified",
                      "document_type": "passport", "document_country": "DE", "document_number": "C01X00T47"}
            done = client.post(f"/v1/applications/{app_id}/evidence",
                               json={"method": "vendor_idv", "vendor_result": vendor}, headers=signup)
            assert done.status_code == 200, done.text
            checked = client.post(f"/v1/applications/{app_id}/evidence",
                                  json={"method": "payment_check", "outcome": "verified"}, headers=signup)
            assert checked.status_code == 200, checked.text
            result: dict[str, Any] = checked.json()
            return result

        waiting = prove(opened)
        assert waiting["decision"] == "pending_evidence" and GATE_REASON in waiting["reasons"]
        # a provider whose certification is filed elsewhere switches the gate off
        ungated = build_application_service(gated)
        assert ungated.approval_gate is None
        with gated.database.engine.begin() as conn:
            conn.execute(certification_filing.insert().values(
                id="f-1", kind="certification", as_of=datetime.now(UTC).date(), filed_at=datetime.now(UTC),
                filed_by="test", sha256="0" * 64, document_json="{}"))
        second = client.post("/v1/applications", json={**INDIVIDUAL, "email": "second@example.de"},
                             headers={**signup, "Idempotency-Key": "second"}).json()
        assert prove(second)["decision"] == "approved"


@pytest.mark.requirement("H3")
def test_the_roster_lists_every_account_filters_and_samples(services: Services,
                                                            book: list[tuple[dict[str, Any], dict[str, Any]]],
                                                            tmp_path: Path) -> None:
    out = tmp_path / "roster.csv"
    exported = invoke(services, "roster", "export", "--format", "csv", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    accounts = {answer["account_id"]: (body, answer) for body, answer in book if "account_id" in answer}
    assert sorted(r["account_id"] for r in rows) == sorted(accounts)
    for row in rows:
        body, answer = accounts[row["account_id"]]
        status = {p["subject"]: p for p in answer["person_status"]}["customer"]
        assert (row["us_or_foreign"], row["determination_basis"]) == (status["status"], status["basis"])
        assert row["verification_state"] == answer["state"] and row["customer_kind"] == body["kind"]
        assert row["location"] == ";".join(answer["location"]) and row["open_cases"] == "1"
        assert row["evidence"] == f"/v1/customers/{answer['customer_id']}"
    foreign = tmp_path / "foreign.csv"
    foreign_rows = [r for r in rows if r["us_or_foreign"] == "foreign_person"]
    assert invoke(services, "roster", "export", "--foreign", "-o", str(foreign)).stdout.strip() == str(
        len(foreign_rows))
    sample_a, sample_b = tmp_path / "a.csv", tmp_path / "b.csv"
    for target in (sample_a, sample_b):
        assert invoke(services, "roster", "export", "--sample", "2", "--seed", "7", "-o", str(target)).exit_code == 0
    assert sample_a.read_text() == sample_b.read_text()
    with sample_a.open(newline="") as handle:
        sampled = list(csv.DictReader(handle))
    assert len(sampled) == 2 and all(r["ledger_entries"] for r in sampled)
    indexes = [int(i) for i in sampled[0]["ledger_entries"].split(";")]
    entries = services.ledger.entries_for_record("account", sampled[0]["account_id"]) + \
        services.ledger.entries_for_record("customer", sampled[0]["customer_id"])
    assert {e["index"] for e in entries} <= set(indexes)
    parquet = tmp_path / "roster.parquet"
    assert invoke(services, "roster", "export", "--format", "parquet", "-o", str(parquet)).exit_code == 0
    import pyarrow.parquet as pq

    table = pq.read_table(parquet)
    assert table.num_rows == len(rows) and table.column_names[0] == "account_id"
    from cloudcip.ledger.schema import ledger_entry

    with services.database.engine.connect() as conn:
        exports = conn.execute(select(ledger_entry.c.leaf_input).where(ledger_entry.c.record_type == "roster",
                                                                       ledger_entry.c.action == "export")).scalars()
        details = [json.loads(e)["detail"] for e in exports]
    assert [d["rows"] for d in details] == [len(rows), len(foreign_rows), 2, 2, len(rows)]


@pytest.mark.requirement("H1")
@pytest.mark.control("certification.from_live_data")
def test_the_certification_as_pdf_shows_the_figures_and_links_each_to_its_query(
        services: Services, book: list[tuple[dict[str, Any], dict[str, Any]]], client: TestClient,
        keys: dict[str, str], tmp_path: Path) -> None:
    from pypdf import PdfReader

    expected = expected_figures(book)
    out = tmp_path / "certification.pdf"
    rendered = invoke(services, "certification", "render", "--format", "pdf", "-o", str(out))
    assert rendered.exit_code == 0, rendered.output
    without_file = invoke(services, "certification", "render", "--format", "pdf")
    assert without_file.exit_code == 2 and "output" in without_file.output and "Traceback" not in without_file.output
    served = client.get("/v1/certification", params={"format": "pdf"}, headers=auth(keys["compliance-officer"]))
    assert served.status_code == 200 and served.headers["content-type"] == "application/pdf"
    assert client.get("/v1/certification", params={"format": "pdf"},
                      headers=auth(keys["analyst"])).status_code == 403
    form = json.loads(invoke(services, "certification", "render", "--format", "json").stdout)
    for document in (out.read_bytes(), served.content):
        assert document.startswith(b"%PDF-")
        reader = PdfReader(io.BytesIO(document))
        text = " ".join((page.extract_text() or "") for page in reader.pages)
        flat = " ".join(text.split())
        for heading in ("1. Verification procedures", "2. Resources used to detect malicious activity",
                        "3. Reseller oversight procedures", "4. CIP contact", "5. Number and locations of customers",
                        "6. Number and locations of foreign beneficial owners", "7. Foreign resellers",
                        "8. Foreign customers' accounts whose identity is not verified"):
            assert heading in flat, heading
        assert f"Total: {len(book)}" in flat
        assert f"Accounts: {expected['unverified']}" in flat
        assert "Nordlicht Rechenzentrum GmbH" in flat
        for rule in form["items"]["verification_procedures"]["rules"]:
            assert rule["rule"] in flat.replace(" ", "")  # a table cell may wrap a long rule id
        # every figure's [query] link leads to a named destination: the query's heading in the appendix
        destinations = reader.named_destinations
        links = [annotation.get_object() for page in reader.pages for annotation in page.get("/Annots", [])]
        targets = {str(link["/Dest"]) for link in links if "/Dest" in link}
        keys_with_queries = {key for key, _sql in form_queries(form)}
        assert targets == {f"query-{key}" for key in keys_with_queries} <= set(destinations)
        for key in keys_with_queries:
            assert key in flat
