"""B4 (issue 13, "a new user's first hour"): the OpenAPI document tells the truth. Schemathesis generates
requests for every operation of ``/openapi.json`` from the document itself and runs all of its checks
on each answer: no 500, only documented statuses, bodies and headers matching the declared schemas,
documented content types, negative data refused, and so on. Each call carries a key of a role the
authorization table (``tests/api/authorization_table.py``) allows on the route, stating a purpose and a
legal basis, so the generated requests reach the route's own logic rather than stopping at 403.

It runs on both engines (the ``database_url`` fixture's two parameters): a bad input may fail on one
engine only (a NUL character in text was stored by SQLite and a 500 on PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from tests.api.authorization_table import PUBLIC, ROUTES

from cloudcip.api.app import create_app
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services

EXAMPLES_PER_OPERATION = 10  # bounded: the whole run stays within a few minutes on two busy cores
STATED = {"X-Access-Purpose": "schemathesis", "X-Legal-Basis": "schemathesis basis"}

# Every check schemathesis has runs, except one, and why:
# - positive_data_acceptance expects a 2xx for any body the JSON Schema admits. cloudcip's fields are
#   checked further than JSON Schema can say (check digits, numbering plans, assigned country codes,
#   dates not in the future, a referenced record that exists), and such a body is refused with the
#   documented 422 naming the field (A3, B2), so a schema-valid body may rightly be refused.
EXCLUDED_CHECKS = [positive_data_acceptance]

ROLE_OF = {(row.method, row.path): sorted(row.allowed - PUBLIC)[0] if row.allowed - PUBLIC else None
           for row in ROUTES}


@pytest.fixture
def role_keys(services: Services) -> dict[str, str]:
    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "schemathesis", datetime.now(UTC)) for role in ROLES}


def _operations(app: object) -> list[schemathesis.APIOperation]:
    # a generous read timeout: building the document takes seconds on a busy machine (the default is 10)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app, timeout=600)
    # the key is the test's own, of a role the authorization table allows: schemathesis leaves the bearer
    # scheme's Authorization header alone (its ignored_auth check still calls without it and expects 401)
    loaded.config.generation.update(with_security_parameters=False)
    return [result.ok() for result in loaded.get_all_operations()]


def _exercise(operation: schemathesis.APIOperation, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def exercise(case: schemathesis.Case) -> None:
        # no read timeout to speak of: the first screening call builds the index, seconds on a busy machine
        case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS, timeout=600)

    exercise()


@pytest.mark.requirement("B4")
def test_every_operation_answers_as_documented(services: Services, role_keys: dict[str, str]) -> None:
    app = create_app(services)
    operations = _operations(app)
    assert len(operations) > 50, "the document lists every operation of the API"
    failures: dict[str, str] = {}
    for operation in operations:
        role = ROLE_OF.get((operation.method.upper(), operation.path))
        headers = dict(STATED)
        if role is not None:
            headers["Authorization"] = f"Bearer {role_keys[role]}"
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _exercise(operation, mode, headers)
            except Unsatisfiable:
                # the operation takes nothing a request could get wrong (no parameter, no body): there is
                # no invalid request to make of it
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:
                causes = [str(cause) for cause in getattr(failure, "exceptions", ())]
                failures[f"{operation.label} ({mode.value})"] = "\n".join([str(failure), *causes])[:4000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


@pytest.mark.requirement("B4")
def test_the_document_defines_what_it_references_and_declares_the_real_error_shape(services: Services) -> None:
    """Every ``$ref`` resolves (``PersonSubLessee`` and ``EntitySubLessee`` once did not); every 422 is
    the error body the handler really sends, never FastAPI's default ``HTTPValidationError``; every
    operation taking a key declares 401 and 403."""
    from fastapi.testclient import TestClient

    with TestClient(create_app(services)) as client:
        document = client.get("/openapi.json").json()
        schemas = document["components"]["schemas"]
        missing = {ref for ref in _refs(document) if ref.removeprefix("#/components/schemas/") not in schemas}
        assert not missing, missing
        assert "HTTPValidationError" not in schemas
        operations = [(path, method, operation) for path, item in document["paths"].items()
                      for method, operation in item.items()]
        for path, method, operation in operations:
            responses = operation["responses"]
            if "422" in responses:
                [media] = responses["422"]["content"].values()
                assert media["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
            if ROLE_OF.get((method.upper(), path)) is not None:
                assert {"401", "403"} <= responses.keys(), (method, path)
        real = client.post("/v1/customers", json={"kind": "individual"},
                           headers={"Authorization": "Bearer nope"})
        assert real.status_code == 401 and set(real.json()) == {"error", "detail"}
