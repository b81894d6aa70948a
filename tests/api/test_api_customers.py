"""B4 and bad input: every endpoint behind its role; clean 4xx for anything a client sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests import applicants
from tests.applicants import applicant

from cloudcip.runtime import Services

INDIVIDUAL: dict[str, Any] = applicant(applicants.CUSTOMER)
ENTITY: dict[str, Any] = applicant(applicants.ENTITY)


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.mark.requirement("A3", "B2", "B4")
def test_create_and_read_masked_then_unmasked(client: TestClient, keys: dict[str, str]) -> None:
    created = client.post("/v1/customers", json=INDIVIDUAL, headers=auth(keys["signup-service"]))
    assert created.status_code == 201, created.text
    customer_id = created.json()["id"]
    masked = client.get(f"/v1/customers/{customer_id}", headers=auth(keys["analyst"])).json()
    assert masked["national_id"]["number"] == "••••••0129"
    assert masked["email"] == "a•••@example.de"
    assert masked["phone"] == "••••••1820"
    assert masked["birth_date"] == "••••-••-••"
    assert masked["payment_means"][0]["display"] == "411111••••••1111"
    assert "anna.schmidt" not in json.dumps(masked)
    refused = client.get(f"/v1/customers/{customer_id}?unmask=true", headers=auth(keys["compliance-officer"]))
    assert refused.status_code == 403 and "purpose" in refused.json()["detail"]
    full = client.get(f"/v1/customers/{customer_id}?unmask=true",
                      headers=auth(keys["compliance-officer"], **{"X-Access-Purpose": "EDD case 12"})).json()
    assert full["email"] == "anna.schmidt@example.de" and full["birth_date"] == "1984-03-09"
    assert full["national_id"]["number"] == "T22000129"
    assert full["payment_means"][0]["display"] == "411111••••••1111"  # never the full card number
    analyst_unmask = client.get(f"/v1/customers/{customer_id}?unmask=true",
                                headers=auth(keys["analyst"], **{"X-Access-Purpose": "curious"}))
    assert analyst_unmask.status_code == 403
    legal_without_basis = client.get(f"/v1/customers/{customer_id}?unmask=true",
                                     headers=auth(keys["legal"], **{"X-Access-Purpose": "subpoena"}))
    assert legal_without_basis.status_code == 403


@pytest.mark.requirement("A3")
def test_entity_with_beneficial_owners(client: TestClient, keys: dict[str, str]) -> None:
    created = client.post("/v1/customers", json=ENTITY, headers=auth(keys["signup-service"]))
    assert created.status_code == 201, created.text
    view = client.get(f"/v1/customers/{created.json()['id']}", headers=auth(keys["analyst"])).json()
    assert view["legal_name"] == "Nordlicht Rechenzentrum GmbH"
    assert view["beneficial_owners"][0]["name"]["family"] == "Berg"
    assert view["beneficial_owners"][0]["birth_date"].startswith("••••")
    assert view["payment_means"][0]["number"] == "••••••3000"


SUB_LESSEE: dict[str, Any] = {"reference": "r-1", "kind": "entity", "legal_name": "Acme Hosting", "country": "DE"}


def _reseller_with_sub_lessee(services: Services, client: TestClient, keys: dict[str, str]) -> tuple[str, str]:
    """A Reseller Account (on the customer of ``ENTITY``) holding one shared sub-lessee (E2)."""
    import uuid

    from sqlalchemy import insert

    from cloudcip.storage.schema import account

    customer_id = client.post("/v1/customers", json=ENTITY, headers=auth(keys["signup-service"])).json()["id"]
    account_id = str(uuid.uuid4())
    with services.database.engine.begin() as conn:
        conn.execute(insert(account).values(id=account_id, customer_id=customer_id, type="reseller",
                                            channel="sales_assisted", state="active", opened_at=datetime.now(UTC)))
    shared = client.post(f"/v1/resellers/{account_id}/sub-lessees", json={**SUB_LESSEE, "reference": "r-0"},
                         headers=auth(keys["signup-service"]))
    return account_id, shared.json()["sub_lessees"][0]["id"]


def test_a_purged_record_is_gone_for_everyone(client: TestClient, keys: dict[str, str]) -> None:
    customer_id = client.post("/v1/customers", json=INDIVIDUAL, headers=auth(keys["signup-service"])).json()["id"]
    early = client.delete(f"/v1/customers/{customer_id}", headers=auth(keys["admin"], **{"X-Access-Purpose": "x"}))
    assert early.status_code == 403  # B1: before its retention ends, only under a court order
    order = client.post("/v1/legal/processes", json={"kind": "court_order", "authority": "U.S. District Court",
                                                     "reference": "1:26-cv-3", "customers": [customer_id]},
                        headers=auth(keys["legal"])).json()["id"]
    purged = client.delete(f"/v1/customers/{customer_id}",
                           headers=auth(keys["admin"], **{"X-Access-Purpose": "x", "X-Legal-Basis": order}))
    assert purged.status_code == 204
    assert client.get(f"/v1/customers/{customer_id}", headers=auth(keys["analyst"])).status_code == 410


@pytest.mark.requirement("B4")
def test_purge_without_purpose_is_refused(client: TestClient, keys: dict[str, str]) -> None:
    customer_id = client.post("/v1/customers", json=INDIVIDUAL, headers=auth(keys["signup-service"])).json()["id"]
    response = client.delete(f"/v1/customers/{customer_id}", headers=auth(keys["admin"]))
    assert response.status_code == 403 and "X-Access-Purpose" in response.json()["detail"]


@pytest.mark.parametrize(
    ("mutate", "fields"),
    [
        (lambda b: b.update(birth_date="09.03.1984"), ["birth_date"]),
        (lambda b: b.update(email=12), ["email"]),
        (lambda b: b.update(favourite_colour="blue"), ["favourite_colour"]),
        (lambda b: b["name"].pop("family"), ["name.family"]),
        (lambda b: b.update(payment_means=[{"type": "card", "number": "41x1", "expiry": "2029-13"}]),
         ["payment_means.0.number", "payment_means.0.expiry"]),
        (lambda b: b.update(kind="martian"), ["kind"]),
        (lambda b: (b["address"].update(country="Germany"), b.update(phone="call me")),
         ["address.country", "phone"]),
    ],
)
@pytest.mark.requirement("A3")
def test_bad_fields_are_named_and_never_echoed(client: TestClient, keys: dict[str, str], mutate: Any,
                                               fields: list[str]) -> None:
    body = json.loads(json.dumps(INDIVIDUAL))
    mutate(body)
    response = client.post("/v1/customers", json=body, headers=auth(keys["signup-service"]))
    assert response.status_code == 422, response.text
    named = {problem["field"] for problem in response.json()["fields"]}
    assert set(fields) <= named, named
    for secret in ("anna.schmidt@example.de", "T22000129", "4111111111111111", "Invalidenstr", "call me"):
        assert secret not in response.text


def test_malformed_huge_and_wrongly_typed_bodies_are_clean_4xx(client: TestClient, keys: dict[str, str]) -> None:
    headers = auth(keys["signup-service"], **{"Content-Type": "application/json"})
    assert client.post("/v1/customers", content=b'{"kind": "individual",', headers=headers).status_code == 422
    assert client.post("/v1/customers", content=b"\xff\xfe\x00binary", headers=headers).status_code in (400, 422)
    assert client.post("/v1/customers", content=b"[1, 2, 3]", headers=headers).status_code == 422
    assert client.post("/v1/customers", content=b"null", headers=headers).status_code == 422
    huge = b'{"kind": "individual", "pad": "' + b"x" * 2_000_000 + b'"}'
    assert client.post("/v1/customers", content=huge, headers=headers).status_code == 413
    assert client.get("/v1/customers/not-a-uuid", headers=auth(keys["analyst"])).status_code == 422
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/v1/customers/{missing}", headers=auth(keys["analyst"])).status_code == 404
    long_purpose = auth(keys["compliance-officer"], **{"X-Access-Purpose": "p" * 500})
    assert client.get(f"/v1/customers/{missing}", headers=long_purpose).status_code == 422
