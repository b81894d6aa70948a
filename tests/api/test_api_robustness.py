"""B4 and bad input: no body, header or path a client sends produces a 500 (hypothesis)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudcip.api.app import create_app
from cloudcip.records.roles import create_api_key
from cloudcip.runtime import Services, initialise, open_services
from cloudcip.settings import Settings

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
field_names = st.sampled_from(["kind", "name", "birth_date", "national_id", "address", "email", "phone",
                               "payment_means", "legal_name", "registration", "beneficial_owners", "nationality"])


@pytest.fixture(scope="module")
def robust_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    directory: Path = tmp_path_factory.mktemp("robust")
    settings_ = Settings(data_dir=directory / "data", database_url=f"sqlite:///{directory / 'db.sqlite'}")
    initialise(settings_)
    services: Services = open_services(settings_)
    with services.database.engine.begin() as conn:
        signup = create_api_key(conn, "signup-service", None, datetime.now(UTC))
        officer = create_api_key(conn, "compliance-officer", None, datetime.now(UTC))
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield client, signup, officer
    services.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(field_names, json_values, max_size=8) | json_values)
def test_any_json_body_is_a_clean_answer(robust_client: tuple[TestClient, str, str], body: Any) -> None:
    client, signup, _ = robust_client
    response = client.post("/v1/customers", content=json.dumps(body),
                           headers={"Authorization": f"Bearer {signup}", "Content-Type": "application/json"})
    assert response.status_code in (201, 422), response.text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300), purpose=st.text(max_size=250), customer_id=st.text(max_size=60))
def test_any_bytes_headers_and_paths_are_clean_answers(robust_client: tuple[TestClient, str, str], raw: bytes,
                                                       purpose: str, customer_id: str) -> None:
    client, signup, officer = robust_client
    posted = client.post("/v1/customers", content=raw,
                         headers={"Authorization": f"Bearer {signup}", "Content-Type": "application/json"})
    assert 400 <= posted.status_code < 500
    try:
        headers = {"Authorization": f"Bearer {officer}", "X-Access-Purpose": purpose}
        read = client.get(f"/v1/customers/{quote(customer_id, safe='')}", params={"unmask": "true"},
                          headers=headers)
    except (UnicodeEncodeError, ValueError):
        return  # the HTTP client itself refuses such a header; nothing reaches the server
    assert read.status_code < 500, read.text


application_fields = st.sampled_from(["kind", "name", "birth_date", "national_id", "address", "email", "phone",
                                      "payment_means", "account", "signup_ip", "notice_version",
                                      "reseller_account_id", "beneficial_owners", "registration", "legal_name"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patch=st.dictionaries(application_fields, json_values, max_size=4))
def test_any_application_body_is_a_clean_answer(robust_client: tuple[TestClient, str, str],
                                                patch: dict[str, Any]) -> None:
    """A4: whatever the signup service sends, the answer is a decision or a 4xx naming fields."""
    client, signup, _ = robust_client
    body: dict[str, Any] = {
        "kind": "individual", "name": {"given": "Ana", "family": "Lima"}, "birth_date": "1990-01-01",
        "address": {"line1": "Rua A 1", "city": "Lisboa", "country": "PT"}, "email": "ana@example.pt",
        "phone": "+351912345678", "account": {"type": "standard", "channel": "self_serve"},
        "signup_ip": "192.0.2.1",
    }
    body.update(patch)
    response = client.post("/v1/applications", content=json.dumps(body),
                           headers={"Authorization": f"Bearer {signup}", "Content-Type": "application/json"})
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert response.json()["fields"]
