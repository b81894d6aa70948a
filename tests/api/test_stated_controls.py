"""The controls the written CIP states, driven through the API where no other test drives them
(A1, A2, A3, A4, A6, A8, D1, D3): evidence the provider reports, the review triggers, the risk tier,
U.S. location, the notice version, special measures and screening at signup.

Each test carries the ids of the controls it exercises (``@pytest.mark.control``); the claims test
of the written CIP (``tests/reports/test_written_cip_claims.py``) requires one for every statement.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests import applicants
from tests.applicants import applicant

from cloudcip import clock
from cloudcip.domain.designated import DesignatedParty, ListedName
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening.loaders import ListPublication
from cloudcip.screening.snapshots import import_publication
from cloudcip.storage.schema import evidence
from cloudcip.verification.schema import application

INDIVIDUAL: dict[str, Any] = applicant(applicants.CUSTOMER, **applicants.APPLYING)
ENTITY: dict[str, Any] = applicant(
    applicants.ENTITY, beneficial_owners=[{"name": {"given": "Jonas", "family": "Berg"}, "birth_date": "1970-01-02",
                                           "nationality": "DE", "ownership_percent": 60}],
    **{**applicants.APPLYING, "account": {"type": "standard", "channel": "sales_assisted"}, "signup_ip": "192.0.2.11"})


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _apply(client: TestClient, keys: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"]))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _evidence(client: TestClient, keys: dict[str, str], application_id: str, **body: str) -> dict[str, Any]:
    response = client.post(f"/v1/applications/{application_id}/evidence", json=body,
                           headers=auth(keys["signup-service"]))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.requirement("A4", "A6")
@pytest.mark.control("method.passport", "method.payment_check", "method.national_id_card", "trigger.evidence_failed",
                     "verify.foreign_customer")
def test_documents_and_payment_checks_reported_by_the_provider(client: TestClient, keys: dict[str, str],
                                                               services: Services) -> None:
    answer = _apply(client, keys, INDIVIDUAL)
    assert answer["decision"] == "pending_evidence" and answer["policy_rule"] == "standard-individual"
    assert "customer:1_of:passport|national_id_card|vendor_idv" in answer["evidence_required"]
    after_passport = _evidence(client, keys, answer["id"], method="passport", outcome="verified", reference="desk-7")
    assert not any("passport" in item for item in after_passport["evidence_required"])
    after_payment = _evidence(client, keys, answer["id"], method="payment_check", outcome="verified",
                              reference="psp-81")
    assert after_payment["decision"] == "pending_evidence"  # one more non-documentary method is owed
    with services.database.engine.connect() as conn:
        kept = dict(conn.execute(select(evidence.c.method, evidence.c.vendor_reference)
                                 .where(evidence.c.application_id == answer["id"])).all())
    assert kept == {"passport": "desk-7", "payment_check": "psp-81"}

    other = _apply(client, keys, {**INDIVIDUAL, "email": "anna.other@example.de"})
    failed = _evidence(client, keys, other["id"], method="national_id_card", outcome="failed", reference="desk-8")
    assert failed["state"] == "in_review"
    assert any(reason.startswith("evidence_failed:customer:national_id_card") for reason in failed["reasons"])


@pytest.mark.requirement("A4")
@pytest.mark.control("method.registration_document")
def test_the_registration_document_of_an_entity(client: TestClient, keys: dict[str, str]) -> None:
    answer = _apply(client, keys, ENTITY)
    assert answer["policy_rule"] == "standard-entity"
    assert any("registration_document" in item for item in answer["evidence_required"])
    done = _evidence(client, keys, answer["id"], method="registration_document", outcome="verified",
                     reference="handelsregister-extract-1")
    assert not any("registration_document" in item for item in done["evidence_required"])


@pytest.mark.requirement("A3", "A6")
@pytest.mark.control("collect.required_fields", "trigger.missing_fields")
def test_a_missing_required_field_sends_the_application_to_review(client: TestClient, keys: dict[str, str]) -> None:
    body = copy.deepcopy(INDIVIDUAL)
    del body["payment_means"]
    answer = _apply(client, keys, body)
    assert answer["decision"] == "in_review"
    assert any(reason.startswith("missing_field:payment_means") for reason in answer["reasons"])


@pytest.mark.requirement("A1", "A6")
@pytest.mark.control("risk.tier", "trigger.risk_tier_high", "policy.first_matching_rule")
def test_the_risk_tier_chooses_the_rule_and_high_goes_to_review(client: TestClient, keys: dict[str, str]) -> None:
    stated = _apply(client, keys, {**INDIVIDUAL, "account": {"type": "standard", "channel": "self_serve",
                                                             "risk_tier": "high"}})
    assert stated["policy_rule"] == "high-risk" and stated["decision"] == "in_review"
    assert "risk_tier_high: the risk tier is high" in stated["reasons"]
    disposable = _apply(client, keys, {**INDIVIDUAL, "email": "anna@guerrillamail.com"})
    assert disposable["policy_rule"] == "high-risk" and disposable["decision"] == "in_review"
    trial = _apply(client, keys, {**INDIVIDUAL, "email": "anna.trial@example.de",
                                  "account": {"type": "trial", "channel": "self_serve"}})
    assert trial["policy_rule"] == "trial"
    plain = _apply(client, keys, {**INDIVIDUAL, "email": "anna.plain@example.de"})
    assert plain["policy_rule"] == "standard-individual"


@pytest.mark.requirement("A8")
@pytest.mark.control("notice.recorded")
def test_the_notice_version_is_recorded_and_its_absence_said(client: TestClient, keys: dict[str, str],
                                                            services: Services) -> None:
    shown = _apply(client, keys, INDIVIDUAL)
    assert shown["notice_version"] == "notice-2024-01"
    assert not any(reason.startswith("notice_") for reason in shown["reasons"])
    body = copy.deepcopy(INDIVIDUAL)
    del body["notice_version"]
    unrecorded = client.post("/v1/applications", json={**body, "email": "anna.n@example.de"},
                             headers=auth(keys["signup-service"]))
    assert unrecorded.status_code == 422 and unrecorded.json()["fields"][0]["field"] == "notice_version"
    older = _apply(client, keys, {**INDIVIDUAL, "email": "anna.o@example.de", "notice_version": "notice-2024-06"})
    assert any(reason.startswith("notice_version_differs") for reason in older["reasons"])
    with services.database.engine.connect() as conn:
        stored = dict(conn.execute(select(application.c.id, application.c.notice_version)).all())
    assert stored[shown["id"]] == "notice-2024-01" and stored[older["id"]] == "notice-2024-06"
    assert len(stored) == 2  # the refused one stored nothing


US_INDIVIDUAL: dict[str, Any] = {
    **INDIVIDUAL,
    "name": {"given": "Jane", "family": "Doe"}, "nationality": None, "national_id": None,
    "address": {"line1": "1 Main St", "city": "Dover", "postal_code": "19901", "country": "US",
                "subdivision": "US-DE"},
    "email": "jane.doe@example.com", "phone": "+13025550123",
}


@pytest.mark.requirement("A2")
@pytest.mark.control("status.located_in_us", "verify.us_person_baseline", "status.determined_with_basis")
def test_located_in_the_us_owes_only_the_baseline_and_ip_alone_never_decides(client: TestClient,
                                                                            keys: dict[str, str]) -> None:
    located = _apply(client, keys, US_INDIVIDUAL)
    [status] = located["person_status"]
    assert (status["status"], status["basis"]) == ("us_person", "located_in_us")
    assert "location:address:US" in status["evidence"] and "location:phone:US" in status["evidence"]
    assert located["evidence_required"] == ["customer:email_otp"]
    address_only = _apply(client, keys, {**US_INDIVIDUAL, "email": "jane.two@example.com", "phone": "+4930901820"})
    assert address_only["person_status"][0]["status"] == "foreign_person"
    ip_only = _apply(client, keys, {**INDIVIDUAL, "email": "anna.ip@example.de", "signup_ip": "8.8.8.8"})
    assert ip_only["person_status"][0]["status"] == "foreign_person"
    claimed = _apply(client, keys, {**INDIVIDUAL, "email": "anna.us@example.de",
                                    "national_id": {"country": "US", "number": "C01X00T47", "kind": "passport"}})
    assert claimed["person_status"][0]["status"] == "foreign_person"  # a stated U.S. passport is only a claim


@pytest.mark.requirement("A6", "D1")
@pytest.mark.control("trigger.measure", "measure.register")
def test_special_measures_in_force_reach_the_decision(client: TestClient, keys: dict[str, str]) -> None:
    officer = auth(keys["compliance-officer"])
    determined = clock.now().date() - timedelta(days=200)  # in force today: 180 days of lead time, 365 long
    prohibition = client.post("/v1/measures", json={"kind": "jurisdiction", "target": "DE", "measure": "prohibit",
                                                    "determination_date": determined.isoformat()}, headers=officer)
    assert prohibition.status_code == 201, prohibition.text
    assert prohibition.json()["effective_date"] == (determined + timedelta(days=180)).isoformat()
    refused = _apply(client, keys, INDIVIDUAL)
    assert refused["decision"] == "refused"
    assert any(reason.startswith("measure_prohibits:") for reason in refused["reasons"])
    revoked = client.post(f"/v1/measures/{prohibition.json()['id']}/revoke", json={"reason": "lifted"},
                          headers=officer)
    assert revoked.status_code == 200
    conditions = client.post("/v1/measures", json={"kind": "jurisdiction", "target": "DE", "measure": "conditions",
                                                   "conditions": ["enhanced_verification"],
                                                   "determination_date": determined.isoformat()}, headers=officer)
    assert conditions.status_code == 201, conditions.text
    conditioned = _apply(client, keys, {**INDIVIDUAL, "email": "anna.c@example.de"})
    assert conditioned["decision"] == "in_review"
    assert "enhanced_verification" in conditioned["restrictions"]


@pytest.mark.requirement("D3", "A6")
@pytest.mark.control("screen.signup", "trigger.screening_block", "trigger.screening_review")
def test_screening_at_signup_blocks_a_match_and_reviews_a_possible_one(client: TestClient, keys: dict[str, str],
                                                                       services: Services) -> None:
    party = DesignatedParty(source="test", source_id="42", schema="Person", names=[ListedName("Viktor Bout")],
                            birth_dates=["1967-01-13"], nationalities=["RU"])
    import_publication(services, ListPublication("own-csv", "test", [party], [], hashlib.sha256(b"x").hexdigest()),
                       Actor("test:officer", "compliance-officer"))
    listed = {**INDIVIDUAL, "name": {"given": "Viktor", "family": "Bout"}, "birth_date": "1967-01-13",
              "nationality": "RU", "national_id": {"country": "RU", "number": "C01X00T47", "kind": "passport"},
              "email": "v.bout@example.de"}
    blocked = _apply(client, keys, listed)
    assert blocked["screening"]["band"] == "block" and blocked["decision"] == "refused"
    assert blocked["screening"]["hits"][0]["list_source_id"] == "42"
    possible = _apply(client, keys, {**listed, "birth_date": "1971-05-05", "email": "v.b@example.de"})
    assert possible["screening"]["band"] == "review" and possible["decision"] == "in_review"
    clear = _apply(client, keys, INDIVIDUAL)
    assert clear["screening"]["band"] == "clear"
