"""B2 (bad input never a 500, nothing stored): a NUL character anywhere a client can put one is refused
with the 422 naming the field, on both engines. PostgreSQL cannot store a NUL in text and answered
``POST /v1/reporting/cip-copy-requests`` with ``requester: "a\\u0000b"`` with a 500; SQLite kept it.

Each row: where the NUL is sent, the field the 422 must name.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.api.test_one_validator import APPLICATION_EXTRA, ENTITY, INDIVIDUAL, auth

from cloudcip.reports.schema import cip_copy_request
from cloudcip.runtime import Services
from cloudcip.storage.schema import customer

NUL = "\x00"


def _with(record: dict[str, Any], path: list[str | int], value: str) -> dict[str, Any]:
    body = copy.deepcopy(record)
    node: Any = body
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return body


#: endpoint, role, JSON body, the field the 422 names
JSON_ROWS = [
    pytest.param("/v1/applications", "signup-service",
                 _with({**INDIVIDUAL, **APPLICATION_EXTRA}, ["name", "given"], f"An{NUL}na"), "name.given",
                 id="application-given-name"),
    pytest.param("/v1/applications", "signup-service",
                 _with({**ENTITY, **APPLICATION_EXTRA}, ["beneficial_owners", 0, "name", "family"], f"Berg{NUL}"),
                 "beneficial_owners.0.name.family", id="application-owner-family-name"),
    pytest.param("/v1/customers", "signup-service", _with(INDIVIDUAL, ["address", "line1"], f"{NUL}Invalidenstr. 117"),
                 "address.line1", id="customer-address"),
    pytest.param("/v1/customers", "signup-service", _with(INDIVIDUAL, ["payment_means", 0, "number"], f"4111{NUL}"),
                 "payment_means.0.number", id="customer-card-number"),
    pytest.param("/v1/reporting/cip-copy-requests", "compliance-officer", {"requester": f"a{NUL}b"}, "requester",
                 id="cip-copy-requester"),
    pytest.param("/v1/reporting/cip-copy-requests", "compliance-officer", {f"requester{NUL}": "Commerce"}, "body",
                 id="nul-in-a-key"),
]


def _count(services: Services, table: Any) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(("endpoint", "role", "body", "field"), JSON_ROWS)
@pytest.mark.requirement("B2")
def test_a_nul_in_a_json_body_is_a_422_naming_the_field_and_nothing_is_stored(
        client: TestClient, keys: dict[str, str], services: Services, endpoint: str, role: str, body: dict[str, Any],
        field: str) -> None:
    headers = {**auth(keys[role]), "X-Access-Purpose": "test", "X-Legal-Basis": "test"}
    response = client.post(endpoint, json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["fields"] == [{"field": field, "message": "must not contain a NUL character"}]
    assert NUL not in response.text and "\\u0000" not in response.text
    assert _count(services, customer) == 0
    assert _count(services, cip_copy_request) == 0


@pytest.mark.parametrize(("url", "field"), [
    pytest.param("/v1/reporting/due?as_of=2026-01-01%00", "as_of", id="query-value"),
    pytest.param("/v1/reporting/due?as%00_of=2026-01-01", "as_of", id="query-name"),
    pytest.param("/v1/customers/abc%00def", "path", id="path"),
])
@pytest.mark.requirement("B2")
def test_a_nul_in_the_url_is_a_422_naming_where(client: TestClient, keys: dict[str, str], url: str,
                                                field: str) -> None:
    response = client.get(url, headers={**auth(keys["compliance-officer"]), "X-Access-Purpose": "test"})
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == field


@pytest.mark.requirement("B2")
def test_a_nul_in_a_console_form_is_refused(client: TestClient) -> None:
    response = client.post("/console/login", content=b"username=officer%00&password=x",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == "username"


@pytest.mark.requirement("B2")
def test_the_taxii_server_answers_a_nul_with_a_taxii_error_object(client: TestClient) -> None:
    response = client.post("/taxii2/api1/collections/any/objects/", content=b'{"objects": [{"name": "x\\u0000"}]}',
                           headers={"Content-Type": "application/taxii+json;version=2.1"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/taxii+json")
    assert response.json() == {"title": "invalid request", "description": "objects.0.name: must not contain a NUL "
                               "character", "http_status": "422"}


@pytest.mark.requirement("B2")
def test_text_that_only_spells_backslash_u0000_is_taken_as_written(client: TestClient, keys: dict[str, str],
                                                                   services: Services) -> None:
    """``"a\\\\u0000"`` in JSON is the seven characters a, backslash, u, 0, 0, 0, 0: no NUL."""
    headers = {**auth(keys["compliance-officer"]), "Content-Type": "application/json"}
    response = client.post("/v1/reporting/cip-copy-requests", content=json.dumps({"requester": "a\\u0000"}),
                           headers=headers)
    assert response.status_code == 201, response.text
    assert _count(services, cip_copy_request) == 1


@pytest.mark.requirement("B2")
def test_the_cli_refuses_an_application_file_with_a_nul(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cloudcip.cli.main import app

    runner = CliRunner()
    monkeypatch.setenv("CLOUDCIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CLOUDCIP_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["init"]).exit_code == 0
    application = tmp_path / "application.json"
    application.write_text(json.dumps(_with({**INDIVIDUAL, **APPLICATION_EXTRA}, ["email"], f"anna{NUL}@example.de")))
    result = runner.invoke(app, ["applications", "submit", str(application)])
    assert result.exit_code == 2, result.output
    assert "email: must not contain a NUL character" in result.output


@pytest.mark.requirement("B2")
def test_a_query_that_only_spells_percent_00_is_taken_as_written(client: TestClient, keys: dict[str, str]) -> None:
    """``as_of=%2500`` is the text "%00", not a NUL: the route's own validation answers (a bad date)."""
    response = client.get("/v1/reporting/due?as_of=%2500", headers={**auth(keys["compliance-officer"]),
                                                                   "X-Access-Purpose": "test"})
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["message"] != "must not contain a NUL character"
