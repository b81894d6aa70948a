"""A1-A8 end to end through the API: decisions, every bad field at once, idempotency, one-time codes,
vendor results, reviewers, deadlines with an injected clock, webhooks in the outbox."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests import applicants
from tests.applicants import applicant

from cloudcip.api.app import create_app
from cloudcip.jobs.schema import webhook_outbox
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services
from cloudcip.storage.schema import account, customer
from cloudcip.verification.applications import build_application_service
from cloudcip.verification.schema import application, case_transition

APPLICATION: dict[str, Any] = applicant(applicants.APPLICATION)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(services: Services) -> Clock:
    fake = Clock()
    services.ledger.clock = fake
    services.customers.clock = fake
    return fake


@pytest.fixture
def client(services: Services, clock: Clock) -> Iterator[TestClient]:
    applications = build_application_service(services)
    with TestClient(create_app(services, applications), raise_server_exceptions=False) as test_client:
        test_client.app.state.applications_service = applications  # type: ignore[attr-defined]
        yield test_client


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def _count(services: Services, table: Any) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _outbox(services: Services, event_type: str) -> list[dict[str, Any]]:
    with services.database.engine.connect() as conn:
        rows = conn.execute(select(webhook_outbox.c.payload_json).where(webhook_outbox.c.event_type == event_type)
                            .order_by(webhook_outbox.c.created_at)).scalars().all()
    return [json.loads(r) for r in rows]


@pytest.mark.requirement("A2", "A4", "A6")
@pytest.mark.control("status.determined_with_basis", "pending.restrictions", "verify.foreign_customer")
def test_foreign_individual_opens_restricted_pending_evidence(client: TestClient, keys: dict[str, str],
                                                              services: Services) -> None:
    response = client.post("/v1/applications", json=APPLICATION, headers=auth(keys["signup-service"]))
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["decision"] == "pending_evidence"
    assert answer["person_status"][0]["status"] == "foreign_person"
    assert "no_gpu" in answer["restrictions"]
    assert answer["deadline"] == "2026-12-12T12:00:00Z"
    assert any("vendor_idv" in item for item in answer["evidence_required"])
    with services.database.engine.connect() as conn:
        state = conn.execute(select(account.c.state).where(account.c.id == answer["account_id"])).scalar_one()
    assert state == "restricted_pending"
    assert _outbox(services, "application.decision")[-1]["data"]["decision"] == "pending_evidence"
    entries = services.ledger.entries_for_record("application", answer["id"])
    assert [e["action"] for e in entries] == ["create"]
    assert "anna" not in json.dumps(entries).lower()


@pytest.mark.requirement("A3", "A4")
@pytest.mark.control("field.national_id", "field.phone", "field.card", "field.birth_date")
def test_every_bad_field_is_named_at_once_and_nothing_is_stored(client: TestClient, keys: dict[str, str],
                                                                services: Services) -> None:
    body = copy.deepcopy(APPLICATION)
    body["national_id"] = {"country": "DE", "number": "12345678901", "kind": "national_id"}
    body["phone"] = "+49123"
    body["payment_means"][0]["number"] = "4111111111111112"
    body["birth_date"] = "2020-01-01"
    before = _count(services, customer)
    response = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"]))
    assert response.status_code == 422, response.text
    fields = {problem["field"] for problem in response.json()["fields"]}
    assert {"national_id.number", "phone", "payment_means.0.number", "birth_date"} <= fields
    assert "4111111111111112" not in response.text and "12345678901" not in response.text
    assert _count(services, customer) == before and _count(services, application) == 0


def test_idempotent_retry_returns_the_same_answer_and_stores_once(client: TestClient, keys: dict[str, str],
                                                                  services: Services) -> None:
    headers = auth(keys["signup-service"], **{"Idempotency-Key": "signup-42"})
    first = client.post("/v1/applications", json=APPLICATION, headers=headers)
    again = client.post("/v1/applications", json=APPLICATION, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    other = copy.deepcopy(APPLICATION)
    other["email"] = "someone.else@example.de"
    conflict = client.post("/v1/applications", json=other, headers=headers)
    assert conflict.status_code == 409
    assert _count(services, application) == 1 and _count(services, customer) == 1


def test_concurrent_retries_store_nothing_twice(client: TestClient, keys: dict[str, str],
                                                services: Services) -> None:
    headers = auth(keys["signup-service"], **{"Idempotency-Key": "race-7"})
    results: list[Any] = []

    def post() -> None:
        results.append(client.post("/v1/applications", json=APPLICATION, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status_code for r in results} <= {200, 201}
    assert len({r.json()["id"] for r in results}) == 1
    assert _count(services, application) == 1 and _count(services, customer) == 1


@pytest.mark.requirement("A4", "A5", "A6")
@pytest.mark.control("method.email_otp", "method.vendor_idv", "vendor.generic_adapter", "verify.foreign_customer",
                     "case.resolution_recorded")
def test_codes_vendor_result_and_payment_check_approve_the_case(client: TestClient, keys: dict[str, str],
                                                                services: Services) -> None:
    signup = auth(keys["signup-service"])
    answer = client.post("/v1/applications", json=APPLICATION, headers=signup).json()
    app_id = answer["id"]
    issued = client.post(f"/v1/applications/{app_id}/otp/email", headers=signup)
    assert issued.status_code == 202
    delivered = _outbox(services, "otp.deliver")[-1]["data"]
    assert delivered["channel"] == "email" and len(delivered["code"]) == 6
    wrong = "000000" if delivered["code"] != "000000" else "111111"
    refused = client.post(f"/v1/applications/{app_id}/otp/email/confirm", json={"code": wrong}, headers=signup)
    assert refused.status_code == 409 and "wrong code" in refused.json()["detail"]
    confirmed = client.post(f"/v1/applications/{app_id}/otp/email/confirm", json={"code": delivered["code"]},
                            headers=signup)
    assert confirmed.status_code == 200 and confirmed.json()["decision"] == "pending_evidence"
    reused = client.post(f"/v1/applications/{app_id}/otp/email/confirm", json={"code": delivered["code"]},
                         headers=signup)
    assert reused.status_code == 409
    vendor = {"vendor": "acme-idv", "reference": "chk-981", "outcome": "verified", "document_type": "passport",
              "document_country": "DE", "document_number": "C01X00T47"}
    vendor_done = client.post(f"/v1/applications/{app_id}/evidence",
                              json={"method": "vendor_idv", "vendor_result": vendor}, headers=signup)
    assert vendor_done.status_code == 200, vendor_done.text
    # the vendor's check is the document; it does not count as a second non-documentary check too (A4)
    assert vendor_done.json()["decision"] == "pending_evidence"
    assert vendor_done.json()["evidence_required"] == ["customer:1_of:phone_otp|payment_check"]
    done = client.post(f"/v1/applications/{app_id}/evidence", json={"method": "payment_check", "outcome": "verified"},
                       headers=signup)
    assert done.status_code == 200, done.text
    assert done.json()["decision"] == "approved" and done.json()["evidence_required"] == []
    shown = client.get(f"/v1/applications/{app_id}", headers=auth(keys["analyst"])).json()
    assert [h["to"] for h in shown["history"]] == ["pending_evidence", "approved"]
    assert {e["method"] for e in shown["evidence"]} == {"email_otp", "vendor_idv", "payment_check"}
    assert shown["resolution"] and "verified" in shown["resolution"]
    with services.database.engine.connect() as conn:
        assert conn.execute(select(account.c.state).where(account.c.id == answer["account_id"])).scalar_one() == \
            "active"
    assert "C01X00T47" not in json.dumps(shown)


@pytest.mark.requirement("A4")
@pytest.mark.control("method.phone_otp")
def test_otp_attempts_are_limited(client: TestClient, keys: dict[str, str]) -> None:
    signup = auth(keys["signup-service"])
    app_id = client.post("/v1/applications", json=APPLICATION, headers=signup).json()["id"]
    client.post(f"/v1/applications/{app_id}/otp/phone", headers=signup)
    reasons = [client.post(f"/v1/applications/{app_id}/otp/phone/confirm", json={"code": "99999999"},
                           headers=signup).json()["detail"] for _ in range(6)]
    assert "too many attempts" in reasons[-1]


@pytest.mark.requirement("A6")
@pytest.mark.control("pending.deadline", "case.resolution_recorded", "redress.reopens")
def test_deadline_fails_the_case_and_applies_the_failure_action(client: TestClient, keys: dict[str, str],
                                                                services: Services, clock: Clock) -> None:
    signup = auth(keys["signup-service"])
    answer = client.post("/v1/applications", json=APPLICATION, headers=signup).json()
    applications = client.app.state.applications_service  # type: ignore[attr-defined]
    assert applications.enforce_deadlines(clock.now + timedelta(days=13)) == 0
    clock.now = clock.now + timedelta(days=15)
    assert applications.enforce_deadlines(clock.now) == 1
    shown = client.get(f"/v1/applications/{answer['id']}", headers=auth(keys["analyst"])).json()
    assert [h["to"] for h in shown["history"]][-2] == "failed"
    assert shown["state"] in ("refused", "closed", "restricted")
    assert shown["resolution"] and "unverified" in shown["resolution"]
    # a settled case is left only through redress, by a compliance officer
    review = client.post(f"/v1/applications/{answer['id']}/review",
                         json={"to_state": "approved", "reason": "documents checked"}, headers=auth(keys["analyst"]))
    assert review.status_code == 409 and shown["state"] in review.json()["detail"]
    assert client.post(f"/v1/applications/{answer['id']}/redress", json={"reason": "customer sent documents"},
                       headers=auth(keys["analyst"])).status_code == 403
    redress = client.post(f"/v1/applications/{answer['id']}/redress", json={"reason": "customer sent documents"},
                          headers=auth(keys["compliance-officer"]))
    assert redress.status_code == 200 and redress.json()["state"] == "in_review"
    approved = client.post(f"/v1/applications/{answer['id']}/review",
                           json={"to_state": "approved", "reason": "documents checked in person"},
                           headers=auth(keys["analyst"]))
    assert approved.json()["decision"] == "approved"
    with services.database.engine.connect() as conn:
        moves = conn.execute(select(case_transition.c.to_state).where(
            case_transition.c.application_id == answer["id"]).order_by(case_transition.c.id)).scalars().all()
    assert moves[0] == "pending_evidence" and moves[-2:] == ["in_review", "approved"]
    illegal = client.post(f"/v1/applications/{answer['id']}/review",
                          json={"to_state": "pending_evidence", "reason": "again"}, headers=auth(keys["analyst"]))
    assert illegal.status_code == 409


@pytest.mark.requirement("A2", "A4")
@pytest.mark.control("status.us_entity", "verify.foreign_customer")
def test_entity_with_us_formation_and_foreign_owner(client: TestClient, keys: dict[str, str]) -> None:
    body = {
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
    response = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"]))
    assert response.status_code == 201, response.text
    statuses = {p["subject"]: (p["status"], p["basis"]) for p in response.json()["person_status"]}
    assert statuses["customer"] == ("us_person", "us_entity")
    assert statuses["beneficial_owner:0"][0] == "foreign_person"
    assert any(item.startswith("beneficial_owner:0") for item in response.json()["evidence_required"])


@pytest.mark.requirement("A5")
@pytest.mark.control("vendor.veriff_webhook")
def test_veriff_decision_webhook_needs_its_signature(services: Services, keys: dict[str, str], clock: Clock) -> None:
    from dataclasses import replace

    services.settings = replace(services.settings, veriff_secret="shared-secret")
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        app_id = client.post("/v1/applications", json=APPLICATION, headers=auth(keys["signup-service"])).json()["id"]
        body = json.dumps({"status": "success", "verification": {
            "id": "f04bdb47-d3be-4b28-b028-a652feb060b5", "status": "approved", "code": 9001,
            "vendorData": app_id, "document": {"type": "PASSPORT", "country": "DE", "number": "C01X00T47"}}}).encode()
        signature = hmac.new(b"shared-secret", body, hashlib.sha256).hexdigest()
        forged = client.post("/v1/vendors/veriff/decision", content=body, headers={"X-HMAC-SIGNATURE": "00" * 32})
        assert forged.status_code == 401
        accepted = client.post("/v1/vendors/veriff/decision", content=body, headers={"X-HMAC-SIGNATURE": signature})
        assert accepted.status_code == 200, accepted.text
        shown = client.get(f"/v1/applications/{app_id}", headers=auth(keys["analyst"])).json()
        assert {e["method"] for e in shown["evidence"]} == {"vendor_idv"}


def _us_entity(legal_name: str, email: str) -> dict[str, Any]:
    """A U.S. entity with one U.S. beneficial owner, opening a standard account through sales."""
    return {
        "kind": "entity", "legal_name": legal_name,
        "registration": {"country": "US", "number": "46-1234567", "kind": "ein"},
        "address": {"line1": "1 Main St", "city": "Dover", "postal_code": "19901", "country": "US"},
        "email": email, "phone": "+13025550123",
        "beneficial_owners": [{"name": {"given": "Jane", "family": "Doe"}, "birth_date": "1970-01-02",
                               "nationality": "US", "ownership_percent": 60,
                               "address": {"line1": "2 Main St", "city": "Dover", "country": "US"}}],
        "payment_means": [{"type": "bank_account", "iban": "DE89370400440532013000"}],
        "account": {"type": "standard", "channel": "sales_assisted"}, "signup_ip": "198.51.100.7",
        "notice_version": "notice-2024-01",
    }


FOREIGN_OWNER = {"name": {"given": "Oleg", "family": "Petrov"}, "birth_date": "1975-05-05", "nationality": "RU",
                 "ownership_percent": 30, "address": {"line1": "Tverskaya 1", "city": "Moscow", "country": "RU"}}


@pytest.mark.requirement("A7")
@pytest.mark.control("bo.addition", "field.beneficial_owner")
def test_new_beneficial_owner_reopens_an_approved_account(client: TestClient, keys: dict[str, str],
                                                          services: Services, clock: Clock) -> None:
    """A7: an approved entity notifies a new foreign beneficial owner: a successor case owes that
    owner's verification and the account is restricted meanwhile."""
    body = _us_entity("Blue Harbor Compute LLC", "ops@blueharbor.example")
    signup = auth(keys["signup-service"])
    first = client.post("/v1/applications", json=body, headers=signup).json()
    approved = client.post(f"/v1/applications/{first['id']}/review",
                           json={"to_state": "approved", "reason": "documents checked"},
                           headers=auth(keys["compliance-officer"])).json()
    assert approved["decision"] == "approved"
    clock.now = clock.now + timedelta(days=30)
    owner = FOREIGN_OWNER
    reopened = client.post(f"/v1/applications/{first['id']}/beneficial-owners", json=owner, headers=signup)
    assert reopened.status_code == 200, reopened.text
    answer = reopened.json()
    assert answer["id"] != first["id"] and answer["predecessor"] == first["id"]
    assert answer["decision"] in ("pending_evidence", "in_review")
    assert any(item.startswith("beneficial_owner:1") for item in answer["evidence_required"])
    with services.database.engine.connect() as conn:
        state = conn.execute(select(account.c.state).where(account.c.id == first["account_id"])).scalar_one()
    assert state in ("restricted_pending", "pending_review")
    bad = client.post(f"/v1/applications/{first['id']}/beneficial-owners",
                      json={**owner, "ownership_percent": 10}, headers=signup)
    assert bad.status_code == 422 and "ownership_percent" in bad.text


@pytest.mark.requirement("A7")
@pytest.mark.control("bo.addition")
def test_beneficial_owner_and_its_reevaluation_commit_together(client: TestClient, keys: dict[str, str],
                                                               services: Services,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A7: when the re-evaluation fails, the owner is not stored either (one transaction); the answer
    names the fields the application carried, which a re-evaluation starts from."""
    from cloudcip.storage.schema import beneficial_owner

    body = _us_entity("Quiet Rack Hosting LLC", "ops@quietrack.example")
    signup = auth(keys["signup-service"])
    first = client.post("/v1/applications", json=body, headers=signup).json()
    assert {"legal_name", "registration", "beneficial_owners", "email"} <= set(first["fields_present"])
    assert "source_of_funds" not in first["fields_present"]
    owners_before = _count(services, beneficial_owner)
    applications = client.app.state.applications_service  # type: ignore[attr-defined]

    def broken(*_args: Any, **_kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("re-evaluation failed")

    from cloudcip.verification import successors

    del applications
    monkeypatch.setattr(successors, "reevaluate", broken)
    owner = FOREIGN_OWNER
    failed = client.post(f"/v1/applications/{first['id']}/beneficial-owners", json=owner, headers=signup)
    assert failed.status_code == 500
    assert _count(services, beneficial_owner) == owners_before
    monkeypatch.undo()
    stored = client.post(f"/v1/applications/{first['id']}/beneficial-owners", json=owner, headers=signup)
    assert stored.status_code == 200, stored.text
    assert _count(services, beneficial_owner) == owners_before + 1

@pytest.mark.requirement("A7")
@pytest.mark.control("reverification.periodic")
def test_periodic_reverification_opens_a_successor_case(client: TestClient, keys: dict[str, str],
                                                        clock: Clock) -> None:
    signup = auth(keys["signup-service"])
    app_id = client.post("/v1/applications", json=APPLICATION, headers=signup).json()["id"]
    client.post(f"/v1/applications/{app_id}/review", json={"to_state": "approved", "reason": "verified in person"},
                headers=auth(keys["analyst"]))
    applications = client.app.state.applications_service  # type: ignore[attr-defined]
    assert applications.reverify_due_cases(clock.now + timedelta(days=30)) == 0
    assert applications.reverify_due_cases(clock.now + timedelta(days=2000)) == 1
    assert applications.reverify_due_cases(clock.now + timedelta(days=2000)) == 0  # the old case is done


@pytest.mark.requirement("E2")
def test_unknown_reseller_account_is_a_422_not_a_500(client: TestClient, keys: dict[str, str]) -> None:
    body = {**APPLICATION, "account": {"type": "standard", "channel": "via_reseller"},
            "reseller_account_id": "00000000-0000-0000-0000-000000000000"}
    response = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"]))
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["fields"]] == ["reseller_account_id"]


@pytest.mark.requirement("D3")
def test_a_name_too_long_to_screen_is_a_422(client: TestClient, keys: dict[str, str]) -> None:
    body = {**APPLICATION, "name": {"given": "A" * 200, "middle": "B" * 200, "family": "C" * 200}}
    response = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"]))
    assert response.status_code == 422 and response.json()["fields"][0]["field"] == "name"


def test_decisions_and_the_screening_router_share_one_index(services: Services) -> None:
    """D3: one in-memory screening index per process, not one per user of it."""
    app = create_app(services)
    assert app.state.screening is app.state.applications.screening is not None
