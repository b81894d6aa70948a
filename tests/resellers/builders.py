"""Resellers for the register's tests: a customer record with a Reseller Account, and sub-lessees."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import insert

from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.storage.schema import account

SIGNUP = Actor("test:signup", "signup-service")
PURPOSE = {"X-Access-Purpose": "reseller oversight test"}


def reseller_customer(services: Services, legal_name: str = "Nordlicht Cloud Reseller GmbH") -> tuple[str, str]:
    """A reseller's customer record (an entity, never determined a U.S. person: foreign) and its
    Reseller Account; ``(customer_id, account_id)``."""
    record = TypeAdapter(CustomerRecord).validate_python({
        "kind": "entity", "legal_name": legal_name, "registration": {"country": "DE", "number": "HRB 99"},
        "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
        "email": "ops@nordlicht.example", "phone": "+494012345678",
    })
    [customer_id] = services.customers.create([record], SIGNUP)
    account_id = str(uuid.uuid4())
    with services.database.engine.begin() as conn:
        conn.execute(insert(account).values(id=account_id, customer_id=customer_id, type="reseller",
                                            channel="sales_assisted", state="active",
                                            opened_at=datetime(2026, 1, 1, tzinfo=UTC)))
    return customer_id, account_id


def auth(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}", **PURPOSE}


def share_entities(client: TestClient, keys: dict[str, str], account_id: str, count: int,
                   prefix: str = "s") -> list[str]:
    """``count`` entity sub-lessees shared by the reseller through the API; their ids."""
    body: list[dict[str, Any]] = [{"reference": f"{prefix}-{n}", "kind": "entity", "country": "DE",
                                   "legal_name": f"Kunde {n} Hosting UG"} for n in range(count)]
    response = client.post(f"/v1/resellers/{account_id}/sub-lessees", json=body, headers=auth(keys, "signup-service"))
    assert response.status_code == 201, response.text
    return [item["id"] for item in response.json()["sub_lessees"]]


def register(client: TestClient, keys: dict[str, str], customer_id: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/resellers", json={"customer_id": customer_id, "contact": "compliance@nordlicht.example",
                                                  **extra}, headers=auth(keys, "compliance-officer"))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer
