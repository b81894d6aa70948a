"""The nine findings of issue 11, each reproduced through the API (and the CLI where the rule runs as a
job), and what fixes them: decisions that follow the rule (A2-A8, D1-D5, G2).

1. location from all evidence (D2); 2. jurisdiction measures only on foreign persons located there,
at re-screening too (D1, D4); 3. re-verification re-validates, re-determines, re-screens and never
re-opens a closed account (A7); 4. every signup hit in the register, before a person (D5); 5. the risk
tier is cloudcip's, the provider may only raise it (G2); 6. evidence counted once, compared field by
field, expired documents refused, MRZ checked (A4, A5); 7. source of funds and payment source as real
fields (A3); 8. verified citizenship decides U.S. status (A2); 9. the notice is required and served (A8).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date, timedelta
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
from cloudcip.cli.main import app as cli_app
from cloudcip.identity.mrz import check_digit
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services
from cloudcip.screening.schema import special_measure_effect
from cloudcip.settings import Settings
from cloudcip.storage.schema import account, customer

NOTICE = "notice-2024-01"
GERMAN: dict[str, Any] = applicant(applicants.APPLICATION, payment_means=[
    {"type": "card", "number": "4111111111111111", "expiry": "2031-04"}], notice_version=NOTICE)
IRANIAN_IP = "2.176.0.1"


def person(given: str, family: str, **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GERMAN)
    body["name"] = {"given": given, "family": family}
    body["email"] = f"{given.lower()}.{family.lower()}@example.com"
    body.update(changes)
    return body


def living_in_iran(given: str, family: str) -> dict[str, Any]:
    return person(given, family, nationality="IR",
                  national_id={"country": "IR", "number": "P9001234", "kind": "passport"},
                  address={"line1": "Valiasr St 1", "city": "Tehran", "country": "IR"}, phone="+989121234567",
                  signup_ip=IRANIAN_IP)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "test", clock.now()) for role in ROLES}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def submit(client: TestClient, keys: dict[str, str], body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    response = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"]))
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


def measure(client: TestClient, keys: dict[str, str], target: str, kind: str = "jurisdiction",
            effect: str = "prohibit", **extra: Any) -> str:
    body = {"kind": kind, "target": target, "measure": effect,
            "determination_date": (clock.today() - timedelta(days=400)).isoformat(), **extra}
    response = client.post("/v1/measures", json=body, headers=auth(keys["compliance-officer"]))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def outcome_of(answer: dict[str, Any], measure_id: str, subject: str = "customer") -> str | None:
    return next((m["outcome"] for m in answer["screening"]["measures"]
                 if m["id"] == measure_id and m["subject"] == subject), None)


def account_state(services: Services, account_id: str) -> str:
    with services.database.engine.connect() as conn:
        return str(conn.execute(select(account.c.state).where(account.c.id == account_id)).scalar_one())


def outbox(services: Services, event_type: str) -> list[dict[str, Any]]:
    with services.database.engine.connect() as conn:
        rows = conn.execute(select(webhook_outbox.c.payload_json).where(webhook_outbox.c.event_type == event_type)
                            .order_by(webhook_outbox.c.created_at)).scalars().all()
    return [json.loads(row)["data"] for row in rows]


def cli(settings: Settings, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli_app, ["--data-dir", str(settings.data_dir), *args],
                                env={"CLOUDCIP_DATABASE_URL": settings.database_url})
    assert result.exit_code == code, (args, result.output, result.exception)
    return result.output


def import_list(settings: Settings, tmp_path: Path, *rows: str) -> None:
    path = tmp_path / "own.csv"
    path.write_text("id,schema,name,aliases,birth_date,nationality,country,id_numbers,emails,wallets,programs,"
                    "remarks\n" + "".join(row + "\n" for row in rows), encoding="utf-8")
    cli(settings, "lists", "import", "--format", "own-csv", str(path))


# -- 1. location (D2) -----------------------------------------------------------------------------------------
@pytest.mark.requirement("D2", "D1", "A2")
def test_finding_1_one_field_never_decides_where_a_person_is(client: TestClient, keys: dict[str, str]) -> None:
    iran = measure(client, keys, "IR")
    # a German address, German ID and German phone, signing up from an Iranian address
    german = submit(client, keys, person("Jonas", "Weber", signup_ip=IRANIAN_IP))
    assert german["decision"] != "refused" and german["located_in"] == "DE"
    assert outcome_of(german, iran) == "not_located"
    assert any(r.startswith(f"measure_not_applied:{iran}:IR") and "signup_ip (weak)" in r for r in german["reasons"])
    # an Iranian national living in Germany with German documents
    national = submit(client, keys, person("Dariush", "Karimi", nationality="IR"))
    assert national["decision"] != "refused" and outcome_of(national, iran) == "not_located"
    # a person cloudcip itself determines located in the United States
    located_us = submit(client, keys, person(
        "Reza", "Tehrani", nationality="IR", national_id={"country": "IR", "number": "P7001234", "kind": "passport"},
        address={"line1": "1 Main St", "city": "Dover", "postal_code": "19901", "country": "US"},
        phone="+13025550123", signup_ip=IRANIAN_IP))
    assert located_us["person_status"][0]["basis"] == "located_in_us"
    assert located_us["decision"] != "refused" and outcome_of(located_us, iran) == "not_reached"
    # the resident of Iran is refused, the answer naming the evidence and the determination
    resident = submit(client, keys, living_in_iran("Ali", "Rezaei"))
    assert resident["decision"] == "refused" and outcome_of(resident, iran) == "applies"
    refusing = next(r for r in resident["reasons"] if r.startswith(f"measure_prohibits:{iran}"))
    assert "address_country (strong)" in refusing and "foreign_person" in refusing and "located in IR" in refusing
    # weak or conflicting evidence goes to a person with enhanced verification, naming the evidence
    conflicting = submit(client, keys, person("Shirin", "Ahmadi", nationality="IR",
                                              national_id={"country": "IR", "number": "P6001234", "kind": "passport"}))
    assert conflicting["decision"] == "in_review" and outcome_of(conflicting, iran) == "review"
    assert "enhanced_monitoring" in conflicting["restrictions"]
    assert any("document_countries (strong)" in r for r in conflicting["reasons"] if r.startswith("measure_review"))


# -- 2. and R8: re-screening (D1, D4) --------------------------------------------------------------------------
@pytest.mark.requirement("D1", "D2", "D4")
def test_rescreening_closes_only_foreign_persons_located_there(client: TestClient, keys: dict[str, str],
                                                               services: Services, settings: Settings) -> None:
    """Finding 2: re-screening applied jurisdiction measures to U.S. persons and to nationals abroad."""
    resident = submit(client, keys, living_in_iran("Ali", "Rezaei"))
    us_person = submit(client, keys, person(
        "Reza", "Tehrani", nationality="IR", national_id={"country": "IR", "number": "P7001234", "kind": "passport"},
        address={"line1": "1 Main St", "city": "Dover", "postal_code": "19901", "country": "US"},
        phone="+13025550123"))
    abroad = submit(client, keys, person("Dariush", "Karimi", nationality="IR"))
    conflicting = submit(client, keys, person("Shirin", "Ahmadi", nationality="IR",
                                              national_id={"country": "IR", "number": "P6001234", "kind": "passport"}))
    iran = measure(client, keys, "IR")
    report = json.loads(cli(settings, "screen", "rescreen", "--full", "--json"))
    assert report["effects"] == 1
    assert account_state(services, resident["account_id"]) == "closed"
    for untouched in (us_person, abroad, conflicting):
        assert account_state(services, untouched["account_id"]) != "closed"
    with services.database.engine.connect() as conn:
        [effect] = conn.execute(select(special_measure_effect)).all()
    basis = json.loads(effect.basis_json)
    assert (effect.customer_id, effect.action, basis["jurisdiction"]) == (resident["customer_id"], "closed", "IR")
    assert "address_country (strong)" in basis["evidence"] and basis["determination"].startswith("foreign_person")
    # the conflicting case is put before a person, not acted on
    hits = client.get("/v1/hits?state=open", headers=auth(keys["analyst"])).json()["hits"]
    assert [(h["subject_id"], h["list_source"], h["list_source_id"]) for h in hits] == [
        (conflicting["customer_id"], "special_measure", iran)]
    # the closed account's case is closed with it; only redress re-opens it, and not while the measure stands
    shown = client.get(f"/v1/applications/{resident['id']}", headers=auth(keys["analyst"])).json()
    assert shown["state"] == "refused" or shown["history"][-1]["to"] == "closed"


# -- 3. re-verification (A7) ------------------------------------------------------------------------------------
@pytest.mark.requirement("A7", "D4", "D5")
def test_finding_3_reverification_rescreens_and_never_reopens_a_closed_account(
        client: TestClient, keys: dict[str, str], services: Services, settings: Settings, tmp_path: Path) -> None:
    closed = submit(client, keys, living_in_iran("Ali", "Rezaei"))
    listed = submit(client, keys, person("Boris", "Lemkov", birth_date="1961-07-01"))
    for answer in (closed, listed):
        decided = client.post(f"/v1/applications/{answer['id']}/review",
                              json={"to_state": "approved", "reason": "documents checked in person"},
                              headers=auth(keys["analyst"]))
        assert decided.status_code == 200 and decided.json()["decision"] == "approved"
    measure(client, keys, "IR")
    cli(settings, "screen", "rescreen", "--full")
    assert account_state(services, closed["account_id"]) == "closed"
    import_list(settings, tmp_path, "L1,Person,Boris Lemkov,,1961-07-01,,,,,,,")
    applications = client.app.state.applications  # type: ignore[attr-defined]
    assert applications.reverify_due_cases(clock.now() + timedelta(days=400)) == 1  # not the closed account
    assert account_state(services, closed["account_id"]) == "closed"
    successor = client.get(f"/v1/applications/{listed['id']}", headers=auth(keys["analyst"])).json()
    with services.database.engine.connect() as conn:
        from cloudcip.verification.schema import application

        latest = conn.execute(select(application).where(application.c.account_id == listed["account_id"])
                              .order_by(application.c.created_at.desc())).first()
    assert latest is not None and latest.id != successor["id"]
    again = client.get(f"/v1/applications/{latest.id}", headers=auth(keys["analyst"])).json()
    assert again["predecessor"] == listed["id"] and again["screening"]["band"] == "block"
    assert again["decision"] == "refused"  # re-screened against the list in force: only tightens
    assert account_state(services, listed["account_id"]) == "closed"
    hits = client.get(f"/v1/hits?application_id={latest.id}", headers=auth(keys["analyst"])).json()["hits"]
    assert [h["state"] for h in hits] == ["open"] and hits[0]["decision"] == "re-verification"
    # a closed or refused case is left only through redress; redress on anything else is 409 naming the state
    reopened = client.post(f"/v1/applications/{listed['id']}/redress", json={"reason": "customer asked"},
                           headers=auth(keys["compliance-officer"]))
    assert reopened.status_code == 409 and "approved" in reopened.json()["detail"]


@pytest.mark.requirement("A6")
def test_redress_is_the_one_way_out_of_a_refused_case(client: TestClient, keys: dict[str, str], services: Services,
                                                     settings: Settings) -> None:
    iran = measure(client, keys, "IR")
    refused = submit(client, keys, living_in_iran("Ali", "Rezaei"))
    assert refused["decision"] == "refused"
    path = f"/v1/applications/{refused['id']}"
    assert client.post(f"{path}/review", json={"to_state": "approved", "reason": "looks fine"},
                       headers=auth(keys["analyst"])).status_code == 409
    for role in ROLES:
        if role != "compliance-officer":
            assert client.post(f"{path}/redress", json={"reason": "customer wrote"},
                               headers=auth(keys[role])).status_code == 403, role
    assert client.post(f"{path}/redress", json={"reason": "x"}, headers=auth(keys["compliance-officer"])).status_code \
        == 422
    unknown = client.post("/v1/applications/00000000-0000-0000-0000-000000000000/redress",
                          json={"reason": "customer wrote"}, headers=auth(keys["compliance-officer"]))
    assert unknown.status_code == 404
    reopened = client.post(f"{path}/redress", json={"reason": "customer wrote from Germany"},
                           headers=auth(keys["compliance-officer"]))
    assert reopened.status_code == 200 and reopened.json()["state"] == "in_review"
    assert [e["action"] for e in services.ledger.entries_for_record("application", refused["id"])][-3:] == [
        "redress", "transition", "update"]
    assert outbox(services, "application.decision")[-1]["state"] == "in_review"
    again = client.post(f"{path}/redress", json={"reason": "again"}, headers=auth(keys["compliance-officer"]))
    assert again.status_code == 409 and "in_review" in again.json()["detail"]
    # through the CLI too: the case is in review now, which redress does not leave
    out = cli(settings, "applications", "redress", refused["id"], "--reason", "again", code=5)
    assert "in_review" in out
    del iran


# -- 4. hits (D5) -----------------------------------------------------------------------------------------------
@pytest.mark.requirement("D5", "D3")
def test_finding_4_signup_hits_reach_a_person_and_clearing_redecides(
        client: TestClient, keys: dict[str, str], services: Services, settings: Settings, tmp_path: Path) -> None:
    import_list(settings, tmp_path, "B1,Person,Anna Schmidt,,1984-03-09,DE,,,,,,")
    client.app.state.applications.screening.invalidate()  # type: ignore[attr-defined]
    refused = submit(client, keys, GERMAN)
    assert refused["decision"] == "refused" and refused["screening"]["band"] == "block"
    hits = client.get("/v1/hits?state=open", headers=auth(keys["analyst"])).json()["hits"]
    assert len(hits) == 1
    hit = hits[0]
    assert (hit["subject_id"], hit["application_id"], hit["decision"], hit["state"]) == (
        refused["customer_id"], refused["id"], "refused", "open")
    assert refused["screening"]["hits"][0]["hit_id"] == hit["id"]
    cleared = client.post(f"/v1/hits/{hit['id']}/decision", json={"state": "false_positive",
                                                                  "reason": "other birth place"},
                          headers=auth(keys["analyst"]))
    assert cleared.status_code == 200, cleared.text
    again = client.get(f"/v1/applications/{refused['id']}", headers=auth(keys["analyst"])).json()
    assert again["state"] == "pending_evidence" and again["screening"]["band"] == "clear"
    assert again["history"][-1]["reason"].startswith("hit_cleared")
    assert account_state(services, refused["account_id"]) == "restricted_pending"
    assert outbox(services, "application.decision")[-1] == {
        "application_id": refused["id"], "account_id": refused["account_id"], "decision": "pending_evidence",
        "state": "pending_evidence", "account_state": "restricted_pending"}
    assert client.post("/v1/hits/00000000-0000-0000-0000-000000000000/decision", json={"state": "confirmed"},
                       headers=auth(keys["analyst"])).status_code == 404


# -- 5. risk tier (G2) ------------------------------------------------------------------------------------------
@pytest.mark.requirement("G2", "A1")
def test_finding_5_the_provider_may_raise_the_risk_tier_never_lower_it(client: TestClient,
                                                                       keys: dict[str, str]) -> None:
    disposable = person("Lena", "Vogel", email="lena@guerrillamail.com",
                        account={"type": "standard", "channel": "self_serve", "risk_tier": "low"})
    answer = submit(client, keys, disposable)
    assert answer["risk_tier"] == "high" and answer["risk"]["requested"] == "low"
    assert answer["policy_rule"] == "high-risk" and answer["decision"] == "in_review"
    assert any(r.startswith("risk:disposable_email:high") for r in answer["reasons"])
    raised = submit(client, keys, person("Paul", "Klein",
                                         account={"type": "standard", "channel": "self_serve", "risk_tier": "high"}))
    assert raised["risk_tier"] == "high" and [f["name"] for f in raised["risk"]["factors"]] == ["provider_raised"]
    plain = submit(client, keys, person("Eva", "Lang"))
    assert plain["risk_tier"] == "standard" and plain["risk"]["factors"] == []


# -- 6. evidence (A4, A5) ---------------------------------------------------------------------------------------
def td3(surname: str, given: str, number: str, nationality: str, birth: str, expiry: str, state: str = "D") -> str:
    """A TD3 machine-readable zone with correct check digits (ICAO 9303)."""
    first = f"P<{state:<<3}{surname}<<{given}".ljust(44, "<")
    optional = "<" * 14
    body = f"{number:<<9}"
    second = (f"{body}{check_digit(body)}{nationality:<<3}{birth}{check_digit(birth)}F{expiry}{check_digit(expiry)}"
              f"{optional}{check_digit(optional)}")
    composite = second[0:10] + second[13:20] + second[21:43]
    return f"{first}\n{second}{check_digit(composite)}"


@pytest.mark.requirement("A4", "A5")
def test_finding_6_evidence_counted_once_compared_and_checked(client: TestClient, keys: dict[str, str]) -> None:
    signup = auth(keys["signup-service"])
    # a vendor result and one asserted payment check do not make one document and two other checks
    first = submit(client, keys, GERMAN)
    vendor = {"vendor": "acme-idv", "reference": "chk-1", "outcome": "verified", "document_type": "passport",
              "document_country": "DE", "document_number": "C01X00T47", "given_name": "Anna",
              "family_name": "Schmidt", "birth_date": "1984-03-09"}
    client.post(f"/v1/applications/{first['id']}/evidence", json={"method": "vendor_idv", "vendor_result": vendor},
                headers=signup)
    paid = client.post(f"/v1/applications/{first['id']}/evidence",
                       json={"method": "payment_check", "outcome": "verified"}, headers=signup).json()
    assert paid["decision"] == "pending_evidence" and paid["evidence_required"] == ["customer:1_of:email_otp|phone_otp"]
    # an expired French document read by the vendor for a German applicant: refused, fields named
    second = submit(client, keys, person("Jonas", "Weber", national_id={"country": "DE", "number": "C01X00T48",
                                                                          "kind": "passport"}))
    expired = {**vendor, "reference": "chk-2", "document_country": "FR", "document_number": "19FR12345",
               "document_expiry": "2020-01-31", "given_name": "Jonas", "family_name": "Weber"}
    moved = client.post(f"/v1/applications/{second['id']}/evidence",
                        json={"method": "vendor_idv", "vendor_result": expired}, headers=signup).json()
    assert moved["state"] == "in_review"
    assert "document.expires_on" in moved["reasons"][0]
    shown = client.get(f"/v1/applications/{second['id']}", headers=auth(keys["analyst"])).json()
    assert [(e["method"], e["outcome"]) for e in shown["evidence"]] == [("vendor_idv", "failed")]
    # a mismatching document (another person's birth date) goes to review naming the field
    third = submit(client, keys, person("Mia", "Koch", national_id={"country": "DE", "number": "C01X00T49",
                                                                      "kind": "passport"}))
    other = {**vendor, "reference": "chk-3", "document_number": "C01X00T49", "given_name": "Mia",
             "family_name": "Koch", "birth_date": "1990-01-01"}
    mismatch = client.post(f"/v1/applications/{third['id']}/evidence",
                           json={"method": "vendor_idv", "vendor_result": other}, headers=signup).json()
    assert mismatch["state"] == "in_review" and "document.birth_date" in mismatch["reasons"][0]
    assert "1990" not in json.dumps(mismatch)
    # a passport's MRZ is parsed, its check digits verified and its fields compared
    expiry = (date.today() + timedelta(days=900)).strftime("%y%m%d")
    good = td3("SCHMIDT", "ANNA", "C01X00T47", "D", "840309", expiry)
    fourth = submit(client, keys, person("Anna", "Schmidt", email="a.s@example.de"))
    checked = client.post(f"/v1/applications/{fourth['id']}/evidence", json={
        "method": "passport", "outcome": "verified",
        "document": {"kind": "passport", "country": "DE", "number": "C01X00T47", "mrz": good}}, headers=signup).json()
    assert checked["state"] == "pending_evidence"
    assert checked["evidence_required"] == ["customer:2_of:vendor_idv|email_otp|phone_otp|payment_check"]
    wrong_birth = td3("SCHMIDT", "ANNA", "C01X00T47", "D", "850309", expiry)
    fifth = submit(client, keys, person("Anna", "Schmidt", email="a.s2@example.de"))
    compared = client.post(f"/v1/applications/{fifth['id']}/evidence", json={
        "method": "passport", "outcome": "verified",
        "document": {"kind": "passport", "country": "DE", "number": "C01X00T47", "mrz": wrong_birth}},
        headers=signup).json()
    assert compared["state"] == "in_review" and "document.mrz.birth_date" in compared["reasons"][0]
    forged = good[:-1] + str((int(good[-1]) + 1) % 10)
    sixth = submit(client, keys, person("Anna", "Schmidt", email="a.s3@example.de"))
    refused = client.post(f"/v1/applications/{sixth['id']}/evidence", json={
        "method": "passport", "outcome": "verified",
        "document": {"kind": "passport", "country": "DE", "number": "C01X00T47", "mrz": forged}},
        headers=signup).json()
    assert refused["state"] == "in_review" and "check digit fails" in refused["reasons"][0]


# -- 7. source of funds (A3) ------------------------------------------------------------------------------------
@pytest.mark.control("collect.source_of_funds")
@pytest.mark.requirement("A3", "B2")
def test_finding_7_source_of_funds_and_payment_source_are_real_fields(client: TestClient, keys: dict[str, str],
                                                                      services: Services) -> None:
    reseller = {"type": "reseller", "channel": "sales_assisted"}
    without = submit(client, keys, person("Kai", "Roth", account=reseller))
    assert "missing_field:source_of_funds" in [r.split(": ")[0] for r in without["reasons"]]
    body = person("Kai", "Braun", account=reseller,
                  source_of_funds={"kind": "business_revenue", "description": "hosting resale margin"},
                  payment_source={"payer": "customer"})
    answer = submit(client, keys, body)
    codes = [r.split(": ")[0] for r in answer["reasons"]]
    assert "missing_field:source_of_funds" not in codes and "missing_field:payment_source" not in codes
    with services.database.engine.connect() as conn:
        sealed = conn.execute(select(customer.c.source_of_funds_sealed).where(
            customer.c.id == answer["customer_id"])).scalar_one()
    assert sealed is not None and b"resale" not in bytes(sealed)
    masked = client.get(f"/v1/customers/{answer['customer_id']}", headers=auth(keys["analyst"])).json()
    assert masked["source_of_funds"] == {"kind": "business_revenue"}
    from cloudcip.reports.written_cip import render_written_cip
    from cloudcip.verification.policy import default_policy, policy_from_mapping
    from cloudcip.verification.profile import load_profile

    profile = load_profile("eo13984-nprm-2024")
    assert "source of payment (who pays" in render_written_cip(default_policy(), profile)
    relaxed = default_policy().model_dump(mode="json")
    for rule in relaxed["rules"]:
        rule["required_fields"] = [f for f in rule["required_fields"] if f not in ("source_of_funds", "payment_source")]
    assert "source of payment (who pays" not in render_written_cip(policy_from_mapping(relaxed), profile)
    bad = client.post("/v1/applications", json={**body, "source_of_funds": {"kind": "other"},
                                                "payment_source": {"payer": "aunt"}},
                      headers=auth(keys["signup-service"]))
    assert bad.status_code == 422
    assert {f["field"].split(".")[0] for f in bad.json()["fields"]} == {"source_of_funds", "payment_source"}


# -- 8. citizenship (A2) ----------------------------------------------------------------------------------------
@pytest.mark.requirement("A2", "A4")
def test_finding_8_verified_citizenship_decides_us_status(client: TestClient, keys: dict[str, str]) -> None:
    body = person("John", "Miller", nationality="US",
                  national_id={"country": "US", "number": "A12345678", "kind": "passport"},
                  address={"line1": "Rue de Rivoli 1", "city": "Paris", "country": "FR"}, phone="+33612345678")
    answer = submit(client, keys, body)
    assert answer["person_status"][0]["status"] == "foreign_person"  # a stated U.S. passport is a claim
    moved = client.post(f"/v1/applications/{answer['id']}/evidence", json={
        "method": "passport", "outcome": "verified", "document": {"kind": "passport", "country": "US",
                                                                  "number": "A12345678"}},
        headers=auth(keys["signup-service"])).json()
    status = next(p for p in moved["person_status"] if p["subject"] == "customer")
    assert (status["status"], status["basis"]) == ("us_person", "us_citizen")
    assert moved["evidence_required"] == ["customer:email_otp"]  # a U.S. person owes the baseline only
    resident = person("Maria", "Lopez", nationality="MX",
                      national_id={"country": "MX", "number": "G12345678", "kind": "passport"},
                      documents=[{"country": "US", "number": "SRC1234567890", "kind": "residence_permit"}],
                      address={"line1": "Rue de Rivoli 2", "city": "Paris", "country": "FR"}, phone="+33612345678")
    answer = submit(client, keys, resident)
    moved = client.post(f"/v1/applications/{answer['id']}/evidence", json={
        "method": "national_id_card", "outcome": "verified",
        "document": {"kind": "permanent_resident_card", "country": "US", "number": "SRC1234567890"}},
        headers=auth(keys["signup-service"])).json()
    assert next(p for p in moved["person_status"] if p["subject"] == "customer")["basis"] == "permanent_resident"


# -- 9. notice (A8) ---------------------------------------------------------------------------------------------
@pytest.mark.requirement("A8")
def test_finding_9_the_notice_is_required_and_served(client: TestClient, keys: dict[str, str], services: Services,
                                                     settings: Settings) -> None:
    missing = {k: v for k, v in GERMAN.items() if k != "notice_version"}
    refused = submit(client, keys, missing, status=422)
    assert [f["field"] for f in refused["fields"]] == ["notice_version"]
    unknown = submit(client, keys, {**GERMAN, "notice_version": "notice-1999-01"}, status=422)
    assert [f["field"] for f in unknown["fields"]] == ["notice_version"] and "1999" not in json.dumps(unknown)
    with services.database.engine.connect() as conn:
        assert conn.execute(select(customer.c.id)).first() is None  # nothing stored
    served = client.get(f"/v1/notices/{NOTICE}", headers=auth(keys["signup-service"]))
    assert served.status_code == 200 and served.json()["current"] is True
    assert "Executive Order 13984" in served.json()["text"]
    listed = client.get("/v1/notices", headers=auth(keys["analyst"])).json()
    assert listed["current"] == NOTICE and listed["required"] is True and NOTICE in listed["versions"]
    assert client.get("/v1/notices/notice-1999-01", headers=auth(keys["signup-service"])).status_code == 404
    assert client.get(f"/v1/notices/{NOTICE}").status_code == 401
    assert "Executive Order 13984" in cli(settings, "policy", "notice")
    assert NOTICE in cli(settings, "policy", "notice", "--list")
    assert "no customer notice" in cli(settings, "policy", "notice", "notice-1999-01", code=3)


# -- R5: person measures ----------------------------------------------------------------------------------------
@pytest.mark.requirement("D1")
def test_a_person_measure_reaches_a_us_person(client: TestClient, keys: dict[str, str]) -> None:
    """Person measures reach whoever they name, U.S. persons included (docs/location.md R5)."""
    named = measure(client, keys, {"name": "Reza Tehrani", "birth_date": "1984-03-09"}, kind="person")  # type: ignore[arg-type]
    located_us = submit(client, keys, person(
        "Reza", "Tehrani", address={"line1": "1 Main St", "city": "Dover", "postal_code": "19901", "country": "US"},
        phone="+13025550123"))
    assert located_us["person_status"][0]["status"] == "us_person"
    assert outcome_of(located_us, named) == "applies" and located_us["decision"] == "refused"
