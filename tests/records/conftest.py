"""Fixtures of the records-lifecycle tests: the API over the engine-parametrised services, a key per
role, and a helper that opens an account through ``POST /v1/applications`` as the signup service."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests import applicants
from tests.applicants import applicant

from cloudcip.api.app import create_app
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services

APPLICATION: dict[str, Any] = applicant(applicants.APPLICATION)

OpenAccount = Callable[..., dict[str, Any]]


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **{k.replace("_", "-"): v for k, v in extra.items()}}


@pytest.fixture
def open_account(client: TestClient, keys: dict[str, str]) -> OpenAccount:
    """Open an account (the answer of ``POST /v1/applications``: ``customer_id``, ``account_id`` ...)."""
    numbers = itertools.count(1)

    def opened(**changes: Any) -> dict[str, Any]:
        number = next(numbers)
        body = copy.deepcopy(APPLICATION)
        body["email"] = f"customer{number}@example.de"
        body.update(changes)
        response = client.post("/v1/applications", json=body,
                               headers=auth(keys["signup-service"], Idempotency_Key=f"t-{number}"))
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    return opened
