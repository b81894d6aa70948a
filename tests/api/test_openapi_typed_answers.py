"""B4 (issue 12, typed answers; issue 13, the OpenAPI document): every 2xx JSON answer of every
operation in ``/openapi.json`` names its shape (a schema under ``components``, a list of one, or one
or null), and every answer that is not JSON states its media types, each with a schema. Which routes
answer files or text is listed here, so a route that drops its model fails rather than slipping in."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudcip.api.app import create_app
from cloudcip.runtime import Services

#: (method, path) -> the media types its 2xx answer may have besides JSON: files and text
NOT_JSON: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/ledger/public-key"): {"text/plain"},
    ("GET", "/v1/incidents/{incident_id}/document"): {"text/plain"},
    ("POST", "/v1/legal/processes/{process_id}/productions"): {"application/zip"},
    ("GET", "/v1/certification"): {"text/html", "application/pdf"},
    ("GET", "/v1/exemptions/evidence"): {"text/html", "application/pdf"},
    ("POST", "/v1/roster/export"): {"text/csv", "application/vnd.apache.parquet"},
    ("GET", "/v1/resellers/{reseller_id}/cip-documents/{version}"): {
        "application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "text/plain; charset=utf-8", "text/html; charset=utf-8"},
    ("GET", "/metrics"): {"text/plain; version=1.0.0; charset=utf-8"},
}
#: answers with no body at all
NO_BODY = {("DELETE", "/v1/customers/{customer_id}"), ("PUT", "/v1/reporting/contact")}


def _named(schema: dict[str, Any]) -> bool:
    """A ``$ref`` to a component, a list of them, or one of them or null."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _named(schema.get("items", {}))
    options = schema.get("anyOf", [])
    return bool(options) and all(_named(option) or option == {"type": "null"} for option in options)


@pytest.fixture
def database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """SQLite: the document does not depend on the engine."""
    return f"sqlite:///{tmp_path / 'cloudcip.db'}"


@pytest.fixture
def document(services: Services) -> dict[str, Any]:
    with TestClient(create_app(services)) as client:
        answer: dict[str, Any] = client.get("/openapi.json").json()
    return answer


def _successes(document: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    return [(method.upper(), path, status, response)
            for path, item in document["paths"].items() for method, operation in item.items()
            for status, response in operation["responses"].items() if status.startswith("2")]


@pytest.mark.requirement("B4")
def test_every_json_answer_names_its_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    untyped = []
    for method, path, status, response in _successes(document):
        if (method, path) in NO_BODY:
            assert "content" not in response, (method, path, status)
            continue
        content = response.get("content", {})
        assert content, f"{method} {path} {status} declares no media type"
        json_media = content.get("application/json")
        if json_media is None:
            assert (method, path) in NOT_JSON, f"{method} {path} answers no JSON and is not listed as a file"
            continue
        if not _named(json_media.get("schema", {})):
            untyped.append(f"{method} {path} {status}: {json_media.get('schema')}")
    assert not untyped, "answers without a named schema:\n" + "\n".join(untyped)
    for ref in ("CustomerView", "ScreeningAnswer", "HitList", "MeasureView", "AccountAccess", "IngestAnswer",
                "SubLesseePage", "SharedSubLessees", "Health"):
        assert ref in schemas, ref


@pytest.mark.requirement("B4")
def test_file_and_text_answers_state_their_media_types(document: dict[str, Any]) -> None:
    for (method, path), media_types in NOT_JSON.items():
        [response] = [r for m, p, s, r in _successes(document) if (m, p) == (method, path)]
        content = response["content"]
        assert media_types <= content.keys(), (method, path, sorted(content))
        for media in media_types:
            assert content[media].get("schema", {}).get("type") == "string", (method, path, media)


@pytest.mark.requirement("B4")
def test_the_walk_catches_an_untyped_answer() -> None:
    """The check itself: a bare object, a free dict or an empty schema is not a named one."""
    assert not _named({"type": "object", "additionalProperties": True})
    assert not _named({})
    assert not _named({"anyOf": [{"type": "object"}, {"type": "null"}]})
    assert _named({"$ref": "#/components/schemas/X"})
    assert _named({"type": "array", "items": {"$ref": "#/components/schemas/X"}})
    assert _named({"anyOf": [{"$ref": "#/components/schemas/X"}, {"type": "null"}]})


@pytest.mark.requirement("B4")
def test_every_route_taking_a_key_declares_the_bearer_scheme(document: dict[str, Any], services: Services) -> None:
    """``/docs`` shows how to authenticate: one HTTP bearer scheme, on every route the authorization
    table gives to a role, and on no public one; a request without the key is still the 401 the
    README documents, as ``ErrorBody``."""
    from tests.api.authorization_table import PUBLIC, ROUTES

    assert document["components"]["securitySchemes"] == {"bearer": {
        "type": "http", "scheme": "bearer", "bearerFormat": "API key",
        "description": document["components"]["securitySchemes"]["bearer"]["description"]}}
    operations = {(method.upper(), path): operation for path, item in document["paths"].items()
                  for method, operation in item.items()}
    rows = [row for row in ROUTES if row.method != "MOUNT"]  # mounted apps (TAXII, assets) are not in the document
    rows = [row for row in rows if (row.method, row.path) in operations or row.allowed - PUBLIC]  # /docs, /redoc ...
    assert {(row.method, row.path) for row in rows} == operations.keys()
    for row in rows:
        operation = operations[(row.method, row.path)]
        if row.allowed - PUBLIC:
            assert operation.get("security") == [{"bearer": []}], (row.method, row.path)
        else:
            assert "security" not in operation, (row.method, row.path)
    with TestClient(create_app(services)) as client:
        for header in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "},
                       {"Authorization": "Bearer nope"}):
            answer = client.get("/v1/lists", headers=header)
            assert answer.status_code == 401 and set(answer.json()) == {"error", "detail"}, header
