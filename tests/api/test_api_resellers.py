"""E2, B4 over HTTP: sharing sub-lessees (one or an array), listing them masked and paged, removing them;
404 for unknown or non-reseller accounts, 422 naming each bad field, 403 by role, never a 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import insert

from cloudcip.api.app import create_app
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import Actor, create_api_key
from cloudcip.runtime import Services, initialise, open_services
from cloudcip.settings import Settings
from cloudcip.storage.schema import account

SIGNUP = Actor("test:signup", "signup-service")
SUB_LESSEE: dict[str, Any] = {
    "reference": "acme-77", "kind": "person", "name": {"given": "Margarethe", "family": "Quellenhof"},
    "birth_date": "1979-05-17", "nationality": "AT", "country": "AT", "email": "m.quellenhof@example.at",
    "documents": [{"country": "AT", "number": "P4366918", "kind": "passport"}],
}
SECRETS = ("Quellenhof", "m.quellenhof@example.at", "1979-05-17", "P4366918")


def open_account(services: Services, account_type: str = "reseller") -> str:
    record = TypeAdapter(CustomerRecord).validate_python({
        "kind": "entity", "legal_name": "Nordlicht Cloud Reseller GmbH",
        "registration": {"country": "DE", "number": "HRB 99"},
        "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
        "email": "ops@nordlicht.example", "phone": "+494012345678",
    })
    [customer_id] = services.customers.create([record], SIGNUP)
    account_id = str(uuid.uuid4())
    with services.database.engine.begin() as conn:
        conn.execute(insert(account).values(id=account_id, customer_id=customer_id, type=account_type,
                                            channel="sales_assisted", state="active", opened_at=datetime.now(UTC)))
    return account_id


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.mark.requirement("E2")
def test_share_list_page_and_remove(services: Services, client: TestClient, keys: dict[str, str]) -> None:
    account_id = open_account(services)
    path = f"/v1/resellers/{account_id}/sub-lessees"
    signup = auth(keys["signup-service"])
    created = client.post(path, json=SUB_LESSEE, headers=signup)
    assert created.status_code == 201, created.text
    [answer] = created.json()["sub_lessees"]
    assert (answer["reference"], answer["status"], answer["outcome"], answer["screening"]["band"]) == (
        "acme-77", "active", "created", "clear")
    assert not any(secret in created.text for secret in SECRETS)
    again = client.post(path, json=[SUB_LESSEE], headers=signup)
    assert again.status_code == 200 and again.json()["sub_lessees"][0]["id"] == answer["id"]
    batch = [{**SUB_LESSEE, "reference": f"acme-{n}"} for n in range(5)]
    assert client.post(path, json=batch, headers=signup).status_code == 201

    analyst = auth(keys["analyst"], **{"X-Access-Purpose": "reseller review"})
    first = client.get(path, params={"limit": 4}, headers=analyst)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["sub_lessees"]) == 4 and page["next_cursor"]
    rest = client.get(path, params={"limit": 4, "cursor": page["next_cursor"]}, headers=analyst).json()
    assert len(rest["sub_lessees"]) == 2 and rest["next_cursor"] is None
    everyone = page["sub_lessees"] + rest["sub_lessees"]
    assert len({v["id"] for v in everyone}) == 6
    assert all(v["birth_date"] == "••••-••-••" and v["email"] == "m•••@example.at" for v in everyone)
    assert not any(secret in first.text for secret in SECRETS[1:])

    removed = client.delete(f"{path}/{answer['id']}", headers=signup)
    assert removed.status_code == 200 and removed.json()["status"] == "removed"
    only_removed = client.get(path, params={"status": "removed"}, headers=analyst).json()["sub_lessees"]
    assert [v["id"] for v in only_removed] == [answer["id"]]
    entries = services.ledger.entries_for_record("sub_lessee", answer["id"])
    assert [e["action"] for e in entries] == ["create", "share_unchanged", "read", "remove", "read"]
    assert entries[2]["purpose"] == "reseller review"


@pytest.mark.requirement("E2")
def test_unknown_and_non_reseller_accounts_are_404(services: Services, client: TestClient,
                                                  keys: dict[str, str]) -> None:
    standard = open_account(services, "standard")
    reseller = open_account(services)
    for account_id in (standard, "00000000-0000-0000-0000-000000000000"):
        path = f"/v1/resellers/{account_id}/sub-lessees"
        assert client.post(path, json=SUB_LESSEE, headers=auth(keys["signup-service"])).status_code == 404
        assert client.get(path, headers=auth(keys["analyst"])).status_code == 404
        assert client.delete(f"{path}/00000000-0000-0000-0000-000000000000",
                             headers=auth(keys["signup-service"])).status_code == 404
    missing = client.delete(f"/v1/resellers/{reseller}/sub-lessees/00000000-0000-0000-0000-000000000000",
                            headers=auth(keys["signup-service"]))
    assert missing.status_code == 404 and "sub-lessee" in missing.json()["detail"]
    assert client.get("/v1/resellers/not-an-id/sub-lessees", headers=auth(keys["analyst"])).status_code == 422


@pytest.mark.parametrize(("body", "fields"), [
    ({**SUB_LESSEE, "birth_date": "17.05.1979"}, ["birth_date"]),
    ({**SUB_LESSEE, "birth_date": "2999-01-01"}, ["birth_date"]),
    ({**SUB_LESSEE, "email": "not an email"}, ["email"]),
    ({**SUB_LESSEE, "email": "x@no_such_domain"}, ["email"]),
    ({**SUB_LESSEE, "country": "QQ", "nationality": "XX"}, ["country", "nationality"]),
    ({**SUB_LESSEE, "nationality": "Austria"}, ["nationality"]),
    ({**SUB_LESSEE, "subdivision": "ZZ-99"}, ["subdivision"]),
    ({**SUB_LESSEE, "reference": "has spaces and @"}, ["reference"]),
    ({**SUB_LESSEE, "kind": "martian"}, ["kind"]),
    ({**SUB_LESSEE, "favourite_colour": "blue"}, ["favourite_colour"]),
    ({k: v for k, v in SUB_LESSEE.items() if k != "name"}, ["name"]),
    ({**SUB_LESSEE, "documents": [{"country": "XX", "number": "1"}]}, ["documents.0.country"]),
    ({**SUB_LESSEE, "name": {"given": "A", "family": "B" * 199, "middle": "C" * 150}}, ["name"]),
    ([SUB_LESSEE, {**SUB_LESSEE, "country": "QQ"}], ["1.reference", "1.country"]),
    ([SUB_LESSEE, 7], ["1"]),
    ([], ["body"]),
    ("text", ["body"]),
])
@pytest.mark.requirement("E2")
def test_bad_fields_are_named_and_never_echoed(services: Services, client: TestClient, keys: dict[str, str],
                                               body: Any, fields: list[str]) -> None:
    account_id = open_account(services)
    response = client.post(f"/v1/resellers/{account_id}/sub-lessees", json=body,
                           headers=auth(keys["signup-service"]))
    assert response.status_code == 422, response.text
    named = {problem["field"] for problem in response.json()["fields"]}
    assert set(fields) <= named, named
    assert not any(secret in response.text for secret in SECRETS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
field_names = st.sampled_from(["reference", "kind", "name", "legal_name", "birth_date", "nationality", "country",
                               "subdivision", "email", "documents"])


@pytest.fixture(scope="module")
def robust(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    directory: Path = tmp_path_factory.mktemp("resellers")
    settings_ = Settings(data_dir=directory / "data", database_url=f"sqlite:///{directory / 'db.sqlite'}")
    initialise(settings_)
    services = open_services(settings_)
    account_id = open_account(services)
    with services.database.engine.begin() as conn:
        signup = create_api_key(conn, "signup-service", None, datetime.now(UTC))
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield client, signup, account_id
    services.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(patch=st.dictionaries(field_names, json_values, max_size=4), as_array=st.booleans())
def test_any_sub_lessee_body_is_a_clean_answer(robust: tuple[TestClient, str, str], patch: dict[str, Any],
                                               as_array: bool) -> None:
    client, signup, account_id = robust
    body: Any = {**SUB_LESSEE, **patch}
    body = [body] if as_array else body
    response = client.post(f"/v1/resellers/{account_id}/sub-lessees", content=json.dumps(body),
                           headers={"Authorization": f"Bearer {signup}", "Content-Type": "application/json"})
    assert response.status_code in (200, 201, 422), response.text
    if response.status_code == 422:
        assert response.json()["fields"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_are_a_clean_answer(robust: tuple[TestClient, str, str], raw: bytes) -> None:
    client, signup, account_id = robust
    response = client.post(f"/v1/resellers/{account_id}/sub-lessees", content=raw,
                           headers={"Authorization": f"Bearer {signup}", "Content-Type": "application/json"})
    assert 200 <= response.status_code < 500, response.text
