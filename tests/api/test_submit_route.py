"""B4: the signup's route (``api.submit_route``) decides a well-formed request without FastAPI's solving
of the dependencies, and answers every request as the endpoint's FastAPI handler does: the same
refusals, the same 422 naming the field, the same Idempotency-Key replays and conflicts, a revoked key
refused at once by every worker.

The endpoint's own FastAPI handler is reached with ``Content-Type: application/json; charset=utf-8``
(the same JSON to FastAPI, a content type the direct handler leaves to it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import fastapi.routing
import pytest
from fastapi.testclient import TestClient

from cloudcip.api.app import create_app
from cloudcip.runtime import Services, open_services

DIRECT = "application/json"
FASTAPI = "application/json; charset=utf-8"


def _body(given: str = "Ana", **patch: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "individual", "name": {"given": given, "family": "Lima"}, "birth_date": "1990-01-01",
        "address": {"line1": "Rua A 1", "city": "Lisboa", "country": "PT"}, "email": f"{given.lower()}@example.pt",
        "phone": "+351912345678", "account": {"type": "standard", "channel": "self_serve"},
        "signup_ip": "192.0.2.1", "notice_version": "notice-2024-01",
    }
    body.update(patch)
    return body


def _post(client: TestClient, content: bytes | str, content_type: str | None, key: str | None,
          idempotency_key: str | None = None, scheme: str = "Bearer") -> tuple[int, Any]:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if key is not None:
        headers["Authorization"] = f"{scheme} {key}"
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    response = client.post("/v1/applications", content=content, headers=headers)
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


@pytest.fixture
def solved() -> Iterator[list[object]]:
    """Each request FastAPI solved the dependencies of (its handler of an endpoint ran)."""
    calls: list[object] = []
    original = fastapi.routing.solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("request"))
        return await original(*args, **kwargs)

    with mock.patch.object(fastapi.routing, "solve_dependencies", counting):
        yield calls


@pytest.mark.requirement("B4")
def test_a_well_formed_signup_is_decided_without_solving_the_dependencies(
        client: TestClient, keys: dict[str, str], solved: list[object]) -> None:
    status, answer = _post(client, json.dumps(_body("Ana")), DIRECT, keys["signup-service"], "direct-1")
    assert status == 201 and answer["decision"] and not solved, answer
    status, through_fastapi = _post(client, json.dumps(_body("Bia")), FASTAPI, keys["signup-service"], "fastapi-1")
    assert status == 201 and len(solved) == 1
    assert set(answer) == set(through_fastapi)
    stored = client.get(f"/v1/applications/{answer['id']}", headers={
        "Authorization": f"Bearer {keys['analyst']}", "X-Access-Purpose": "test"}).json()
    assert {name: stored[name] for name in answer if name in stored} == {
        name: value for name, value in answer.items() if name in stored}


@pytest.mark.requirement("B4")
@pytest.mark.parametrize("case", ["no key", "unknown key", "malformed key", "basic scheme", "every other role",
                                  "malformed json", "empty body", "a list", "field at fault", "unknown field",
                                  "unknown kind", "idempotency key too long", "no content type", "text/plain"])
def test_every_request_is_answered_as_the_endpoints_fastapi_handler_answers_it(
        client: TestClient, keys: dict[str, str], case: str) -> None:
    signup = keys["signup-service"]
    good = json.dumps(_body())
    requests: list[tuple[bytes | str, str | None, str | None, str | None]] = {
        "no key": [(good, DIRECT, None, None)],
        "unknown key": [(good, DIRECT, "ccip_000000000000_" + "x" * 43, None)],
        "malformed key": [(good, DIRECT, "not-a-key", None)],
        "basic scheme": [(good, DIRECT, signup, None)],
        "every other role": [(good, DIRECT, key, None) for role, key in keys.items() if role != "signup-service"],
        "malformed json": [('{"kind": "individual",', DIRECT, signup, None), ('{"kind":', DIRECT, None, None)],
        "empty body": [("", DIRECT, signup, None)],
        "a list": [("[]", DIRECT, signup, None)],
        "field at fault": [(json.dumps(_body(birth_date="1990-13-45")), DIRECT, signup, None),
                           (json.dumps(_body(email="not an address")), DIRECT, None, None)],
        "unknown field": [(json.dumps(_body(colour="blue")), DIRECT, signup, None)],
        "unknown kind": [(json.dumps(_body(kind="robot")), DIRECT, signup, None)],
        "idempotency key too long": [(good, DIRECT, signup, "k" * 129), (good, DIRECT, None, "k" * 129)],
        "no content type": [(good, None, signup, None)],
        "text/plain": [(good, "text/plain", signup, None)],
    }[case]
    scheme = "Basic" if case == "basic scheme" else "Bearer"
    for content, content_type, key, idempotency_key in requests:
        direct = _post(client, content, content_type, key, idempotency_key, scheme)
        assert direct[0] in (401, 403, 422), direct
        if content_type == DIRECT:  # the same request to the endpoint's FastAPI handler
            assert _post(client, content, FASTAPI, key, idempotency_key, scheme) == direct


@pytest.mark.requirement("B4")
def test_idempotency_key_replays_and_conflicts_are_the_endpoints(client: TestClient, keys: dict[str, str]) -> None:
    signup = keys["signup-service"]
    body = json.dumps(_body("Caio"))
    status, first = _post(client, body, DIRECT, signup, "same-key")
    assert status == 201
    for content_type in (DIRECT, FASTAPI):
        status, replayed = _post(client, body, content_type, signup, "same-key")
        assert status == 200 and replayed["id"] == first["id"] and replayed["replayed"] is True
        assert {**replayed, "replayed": False} == first
    conflicts = [_post(client, json.dumps(_body("Duda")), content_type, signup, "same-key")
                 for content_type in (DIRECT, FASTAPI)]
    assert conflicts[0][0] == 409 and conflicts[0] == conflicts[1]


@pytest.mark.requirement("B4")
def test_a_revoked_signup_key_is_refused_at_once_by_every_worker(services: Services, client: TestClient,
                                                                 keys: dict[str, str]) -> None:
    other = open_services(services.settings)  # a second worker process: its own app, engine and pool
    try:
        with TestClient(create_app(other), raise_server_exceptions=False) as second_worker:
            signup = keys["signup-service"]
            for number, worker in enumerate((client, second_worker)):
                assert _post(worker, json.dumps(_body(f"Eva{'x' * number}")), DIRECT, signup)[0] == 201
            revoked = client.delete(f"/v1/apikeys/{signup.split('_')[1]}",
                                    headers={"Authorization": f"Bearer {keys['admin']}"})
            assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
            for worker in (second_worker, client):  # the next signup, in either worker
                status, refused = _post(worker, json.dumps(_body("Fabi")), DIRECT, signup)
                assert status == 401 and "revoked" in refused["detail"]
    finally:
        other.close()
