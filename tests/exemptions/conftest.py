"""Fixtures of the exemption tests: an injected clock, the API with one key per role, application bodies."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests import applicants
from tests.applicants import applicant

from cloudcip import clock as clocks
from cloudcip.api.app import create_app
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services

BASIS = ("Abuse-deterrence program: payment-instrument checks, linkage of returning actors, access-signal "
         "review within 24 hours, sharing of indicators with peers over TAXII.")

INDIVIDUAL: dict[str, Any] = applicant(applicants.APPLICATION)

ENTITY: dict[str, Any] = applicant(
    applicants.ENTITY, registration={"country": "DE", "number": "HRB 99"},
    beneficial_owners=[{"name": {"given": "Lars", "family": "Berg"}, "birth_date": "1970-01-02",
                        "nationality": "SE", "ownership_percent": 60,
                        "address": {"line1": "Drottninggatan 1", "city": "Stockholm", "country": "SE"}}],
    **{**applicants.APPLYING, "account": {"type": "standard", "channel": "sales_assisted"},
       "signup_ip": "198.51.100.7"})


def body(template: dict[str, Any], **changes: Any) -> dict[str, Any]:
    made = copy.deepcopy(template)
    made.update(changes)
    return made


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(services: Services) -> Iterator[Clock]:
    """One injected clock for the signup decisions, the ledger and everything that asks ``cloudcip.clock``."""
    fake = Clock()
    services.ledger.clock = fake
    services.customers.clock = fake
    clocks.set_source(fake)
    try:
        yield fake
    finally:
        clocks.set_source(None)


@pytest.fixture
def client(services: Services, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def grant_body(steps: list[str], *, scope: str = "provider", value: str | None = None,
               granted: str = "2026-01-01", expires: str = "2027-01-01") -> dict[str, Any]:
    return {"scope": scope, "scope_value": value, "basis": BASIS, "steps": steps, "granted_at": granted,
            "expires_at": expires, "conditions": ["quarterly abuse report to Commerce"]}
