"""H2, H3 over HTTP: the attestation and its filing, what reporting is due, and requests for copies of
the written CIP on their 10-day clock, answered with the hashed documents; the same service as the
CLI's ``cloudcip attestation`` and ``cloudcip reporting`` commands."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudcip import clock
from cloudcip.api.app import create_app
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services, regulatory_profile


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def due(client: TestClient, officer: dict[str, str], **params: str) -> dict[str, dict[str, Any]]:
    response = client.get("/v1/reporting/due", params=params, headers=officer)
    assert response.status_code == 200, response.text
    return {item["item"].split(":")[0]: item for item in response.json()}


# Each row: the request body, and the field a 422 names.
BAD_REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    ("no requester", {}, "requester"),
    ("a blank requester", {"requester": "   "}, "requester"),
    ("received tomorrow", {"requester": "BIS", "received": "{tomorrow}"}, "received"),
    ("not a date", {"requester": "BIS", "received": "last week"}, "received"),
    ("an unknown field", {"requester": "BIS", "urgent": True}, "urgent"),
]


@pytest.mark.requirement("H3")
@pytest.mark.control("cip.copies_on_request")
def test_a_cip_copy_request_over_http_runs_on_its_clock_and_is_answered_with_hashed_documents(
        client: TestClient, keys: dict[str, str], services: Services) -> None:
    officer = auth(keys["compliance-officer"])
    today = clock.now().date()
    received = today - timedelta(days=12)
    logged = client.post("/v1/reporting/cip-copy-requests",
                         json={"requester": "Department of Commerce", "received": received.isoformat()},
                         headers=officer)
    assert logged.status_code == 201, logged.text
    request = logged.json()
    assert request["due"] == (received + timedelta(days=regulatory_profile(services).cip_copies.days)).isoformat()
    listed = client.get("/v1/reporting/cip-copy-requests", headers=officer).json()
    assert listed == [request]
    item = due(client, officer)["cip_copy_request"]
    assert item["item"] == f"cip_copy_request:{request['id']}" and item["overdue"] is True
    assert due(client, officer, as_of=(received + timedelta(days=3)).isoformat())["cip_copy_request"][
        "overdue"] is False

    answered = client.post(f"/v1/reporting/cip-copy-requests/{request['id']}/answer", headers=officer)
    assert answered.status_code == 200, answered.text
    answer = answered.json()
    [document] = answer["documents"]
    assert answer["on_time"] is False and document["name"].startswith("written-cip-")
    content = base64.b64decode(document["content_base64"])
    assert hashlib.sha256(content).hexdigest() == document["sha256"]
    assert len(content) == document["bytes"] and "## A1." in content.decode()
    entry = services.ledger.entries_for_record("cip_copy_request", request["id"])[-1]
    assert entry["action"] == "disclose" and entry["detail"]["documents"][0]["sha256"] == document["sha256"]
    assert "content_base64" not in entry["detail"]["documents"][0]  # the ledger keeps the hash, not the document

    assert client.post(f"/v1/reporting/cip-copy-requests/{request['id']}/answer", headers=officer).status_code == 409
    assert client.post(f"/v1/reporting/cip-copy-requests/{uuid.uuid4()}/answer", headers=officer).status_code == 404
    assert client.post("/v1/reporting/cip-copy-requests/not-an-id/answer", headers=officer).status_code == 422
    assert "cip_copy_request" not in due(client, officer)
    assert client.get("/v1/reporting/cip-copy-requests", headers=officer).json() == []


@pytest.mark.requirement("H3")
@pytest.mark.parametrize(("case", "body", "field"), BAD_REQUESTS, ids=[row[0] for row in BAD_REQUESTS])
def test_a_bad_cip_copy_request_is_refused_naming_the_field(client: TestClient, keys: dict[str, str], case: str,
                                                             body: dict[str, Any], field: str) -> None:
    tomorrow = (clock.now().date() + timedelta(days=1)).isoformat()
    sent = {k: (tomorrow if v == "{tomorrow}" else v) for k, v in body.items()}
    refused = client.post("/v1/reporting/cip-copy-requests", json=sent, headers=auth(keys["compliance-officer"]))
    assert refused.status_code == 422, (case, refused.text)
    assert field in {item["field"] for item in refused.json()["fields"]}, refused.json()


@pytest.mark.requirement("H2")
def test_the_attestation_over_http_and_its_filing_set_the_next_due_date(client: TestClient, keys: dict[str, str],
                                                                      services: Services) -> None:
    officer = auth(keys["compliance-officer"])
    assert client.get("/v1/attestation", headers=auth(keys["analyst"])).status_code == 403
    assert client.get("/v1/reporting/due", headers=auth(keys["analyst"])).status_code == 403
    assert set(due(client, officer)) == {"certification"}  # nothing filed yet: the certification is owed
    rendered = client.get("/v1/attestation", headers=officer)
    assert rendered.status_code == 200, rendered.text
    form = rendered.json()
    assert set(form["points"]) == {"reviewed", "updated_for_services", "updated_for_threats", "compliant",
                                   "unverifiable_cases_resolved"}
    assert form["points"]["compliant"]["value"] is False  # no certification is filed
    assert form["points"]["compliant"]["evidence"]["certification_filed"] is False

    filed = client.post("/v1/attestation/filings", json={}, headers=officer)
    assert filed.status_code == 201, filed.text
    assert filed.json()["kind"] == "attestation" and len(filed.json()["sha256"]) == 64
    interval = regulatory_profile(services).certification.attestation_interval_days
    attestation = due(client, officer)["attestation"]
    assert attestation["due"] == (clock.now().date() + timedelta(days=interval)).isoformat()
    update = client.post("/v1/attestation/filings", json={"out_of_cycle": True}, headers=officer)
    assert update.status_code == 201 and update.json()["kind"] == "out_of_cycle_update"
    assert client.post("/v1/attestation/filings", json={"out_of_cycle": "maybe"}, headers=officer).status_code == 422
    again = client.get("/v1/attestation", headers=officer).json()
    assert again["period"]["from"] is not None  # the period now starts at the last attestation
