"""B4: every route of the API × every role × {no key, bogus key, revoked key, expired key}, from the one
table in ``tests/api/authorization_table.py``; a route missing from the table fails the test."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update
from starlette.routing import Mount
from tests.api.authorization_table import CUSTOMER, MEASURE, PUBLIC, ROUTES, STATEMENTS, Route

from cloudcip.api.app import create_app
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services
from cloudcip.storage.schema import account, api_key

TABLE_FILE = "tests/api/authorization_table.py"
STATED = {"X-Access-Purpose": "authorization matrix", "X-Legal-Basis": "matrix basis 1"}


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    """SQLite only: who may call what does not depend on the engine (the PostgreSQL suite runs the
    revocation across workers and nodes in tests/api/test_api_keys.py)."""
    return f"sqlite:///{tmp_path / 'cloudcip.db'}"


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as test_client:
        yield test_client


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


class Fixtures:
    """The objects the table's placeholders name, made through the API as their owners would."""

    def __init__(self, services: Services, client: TestClient, keys: dict[str, str]) -> None:
        self.services, self.client, self.keys = services, client, keys
        self.values: dict[str, str] = {"account_id": "acct-m"}
        self.makers: dict[str, Callable[[], str]] = {
            "customer_id": self._customer, "measure_id": self._measure, "hit_id": self._hit,
            "application_id": self._application, "reseller_account_id": self._reseller_account,
            "sub_lessee_id": self._sub_lessee, "key_id": self._key, "incident_id": self._incident,
            "open_account_id": self._open_account, "process_id": self._process, "hold_id": self._hold,
            "legal_basis": self._legal_basis,
            "cluster_id": self._cluster, "match_id": self._match, "exemption_id": self._exemption,
            "reseller_id": self._reseller, "cip_reseller_id": self._cip_reseller,
            "terminating_reseller_id": self._terminating_reseller, "review_id": self._review,
            "review_sub_lessee_id": self._review_sub_lessee, "cip_request_id": self._cip_request,
        }
        self.exemptions_made = 0

    def _post(self, role: str, url: str, body: Any, status: int) -> dict[str, Any]:
        response = self.client.post(url, json=body, headers=auth(self.keys[role], **STATED))
        assert response.status_code == status, (url, response.text)
        answer: dict[str, Any] = response.json()
        return answer

    def _customer(self) -> str:
        return str(self._post("signup-service", "/v1/customers", CUSTOMER, 201)["id"])

    def _measure(self) -> str:
        return str(self._post("compliance-officer", "/v1/measures", MEASURE, 201)["id"])

    def _hit(self) -> str:
        from cloudcip.screening import hits
        from cloudcip.screening.matcher import Hit

        with self.services.database.engine.begin() as conn:
            [hit_id] = hits.record_hits(conn, "customer", str(uuid.uuid4()), "h",
                                        [Hit("test", "42", "Listed Person", 0.95, "block", {"name": 0.95}, [])],
                                        lambda _s, _i: "p", datetime.now(UTC),
                                        index_key=self.services.keyring.blind_index_key())
        return hit_id

    def _application(self) -> str:
        from tests.api.authorization_table import APPLICATION

        return str(self._post("signup-service", "/v1/applications", APPLICATION, 201)["id"])

    def _reseller_account(self) -> str:
        account_id = str(uuid.uuid4())
        with self.services.database.engine.begin() as conn:
            conn.execute(insert(account).values(id=account_id, customer_id=self.get("customer_id"), type="reseller",
                                                channel="sales_assisted", state="active",
                                                opened_at=datetime.now(UTC)))
        return account_id

    def _sub_lessee(self) -> str:
        body = {"reference": "r-fixture", "kind": "entity", "legal_name": "Fixture Hosting", "country": "DE"}
        shared = self._post("signup-service", f"/v1/resellers/{self.get('reseller_account_id')}/sub-lessees",
                            body, 201)
        return str(shared["sub_lessees"][0]["id"])

    def _incident(self) -> str:
        body = {"account_id": self.get("reseller_account_id"), "summary": "abuse seen"}
        return str(self._post("analyst", "/v1/incidents", body, 201)["id"])

    def _open_account(self) -> str:
        from tests.api.authorization_table import APPLICATION

        return str(self._post("signup-service", "/v1/applications", APPLICATION, 201)["account_id"])

    def _process(self) -> str:
        body = {"kind": "subpoena", "authority": "Grand jury", "reference": "GJ-matrix", "customers": ["c-1"]}
        return str(self._post("legal", "/v1/legal/processes", body, 201)["id"])

    def _hold(self) -> str:
        return str(self._post("legal", "/v1/legal/holds", {"process_id": self.get("process_id")}, 201)["id"])

    def _legal_basis(self) -> str:
        """B4: legal reads name a registered process whose scope covers them: a court order naming the
        fixtures' customers (by their e-mail, so every fixture customer is covered), accounts and network."""
        body = {"kind": "court_order", "authority": "U.S. District Court", "reference": "1:26-cv-matrix",
                "identifiers": [{"kind": "email", "value": CUSTOMER["email"]}],
                "accounts": ["acct-m", self.get("reseller_account_id")], "networks": ["198.51.100.0/24"]}
        return str(self._post("legal", "/v1/legal/processes", body, 201)["id"])
    def _cluster(self) -> str:
        from sqlalchemy import select

        from cloudcip.linkage.graph import LinkGraph
        from cloudcip.linkage.schema import link_cluster
        LinkGraph(self.services.database, self.services.keyring).backfill()
        with self.services.database.engine.connect() as conn:
            return str(conn.execute(select(link_cluster.c.cluster_id)
                                    .where(link_cluster.c.subject_id == self.get("customer_id"))).scalar_one())
    def _match(self) -> str:
        from cloudcip.sharing.schema import shared_indicator_match
        match_id = str(uuid.uuid4())
        with self.services.database.engine.begin() as conn:
            conn.execute(insert(shared_indicator_match).values(
                id=match_id, indicator_id="indicator--1", source="peer", subject_type="account",
                subject_id=str(uuid.uuid4()), matched_on="access_ip", state="open", created_at=datetime.now(UTC)))
        return match_id

    def _reseller(self) -> str:
        """E1: a reseller of the register: a new customer with a Reseller Account, registered."""
        customer_id = self._customer()
        with self.services.database.engine.begin() as conn:
            conn.execute(insert(account).values(id=str(uuid.uuid4()), customer_id=customer_id, type="reseller",
                                                channel="sales_assisted", state="active",
                                                opened_at=datetime.now(UTC)))
        body = {"customer_id": customer_id, "contact": "cip@reseller.example"}
        return str(self._post("compliance-officer", "/v1/resellers", body, 201)["id"])

    def _cip_reseller(self) -> str:
        reseller_id = self._reseller()
        response = self.client.post(f"/v1/resellers/{reseller_id}/cip-documents", content=b"our written CIP",
                                    headers=auth(self.keys["compliance-officer"], **STATED))
        assert response.status_code == 201, response.text
        return reseller_id

    def _terminating_reseller(self) -> str:
        reseller_id = self._reseller()
        self._post("compliance-officer", f"/v1/resellers/{reseller_id}/findings",
                   {"kind": "non_compliant", "reason": "evidence missing"}, 201)
        return reseller_id

    def _review(self) -> str:
        """An open review of ``reseller_id`` whose sample holds a sub-lessee shared for it."""
        reseller_id = self.get("reseller_id")
        reseller = self.client.get(f"/v1/resellers/{reseller_id}",
                                   headers=auth(self.keys["compliance-officer"], **STATED)).json()
        [account_id] = [a["id"] for a in reseller["accounts"] if a["type"] == "reseller"]
        shared = self._post("signup-service", f"/v1/resellers/{account_id}/sub-lessees",
                            {"reference": "r-review", "kind": "entity", "legal_name": "Review Hosting",
                             "country": "DE"}, 201)
        self.values["review_sub_lessee_id"] = str(shared["sub_lessees"][0]["id"])
        review_id = str(self._post("compliance-officer", f"/v1/resellers/{reseller_id}/reviews", {}, 201)["id"])
        self._post("compliance-officer", f"/v1/resellers/{reseller_id}/reviews/{review_id}/sample",
                   {"size": 10, "seed": 1}, 200)
        return review_id

    def _review_sub_lessee(self) -> str:
        self.get("review_id")
        return self.values["review_sub_lessee_id"]
    def _cip_request(self) -> str:
        body = {"requester": "Department of Commerce"}
        return str(self._post("compliance-officer", "/v1/reporting/cip-copy-requests", body, 201)["id"])

    def _exemption(self) -> str:
        """A sub-lessee exemption, each in a year of its own (exemptions may not overlap)."""
        self.exemptions_made += 1
        year = 2040 + self.exemptions_made
        body = {"scope": "lessee_type", "scope_value": "sub_lessee", "basis": "abuse-deterrence program",
                "steps": ["beneficial_owner_verification"], "granted_at": f"{year}-01-01",
                "expires_at": f"{year + 1}-01-01"}
        return str(self._post("compliance-officer", "/v1/exemptions", body, 201)["id"])

    def _key(self) -> str:
        with self.services.database.engine.begin() as conn:
            return create_api_key(conn, "analyst", "to revoke", datetime.now(UTC)).split("_")[1]

    def get(self, name: str) -> str:
        fresh = name.startswith("fresh_")
        base = name.removeprefix("fresh_")
        if fresh:
            return self.makers[base]()
        if base not in self.values:
            self.values[base] = self.makers[base]()
        return self.values[base]

    def url(self, template: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda match: self.get(match.group(1)), template)

    def body(self, body: Any) -> Any:
        if isinstance(body, str):
            return self.url(body)
        if isinstance(body, dict):
            return {key: self.body(value) for key, value in body.items()}
        if isinstance(body, list):
            return [self.body(value) for value in body]
        return body


@pytest.fixture
def keys(services: Services) -> dict[str, str]:
    with services.database.engine.begin() as conn:
        return {role: create_api_key(conn, role, "matrix", datetime.now(UTC)) for role in ROLES}


@pytest.fixture
def dead_keys(services: Services) -> dict[str, dict[str, str]]:
    """Per role, a revoked key and an expired key."""
    dead: dict[str, dict[str, str]] = {"revoked": {}, "expired": {}}
    now = datetime.now(UTC)
    with services.database.engine.begin() as conn:
        for role in ROLES:
            for kind in dead:
                key = create_api_key(conn, role, kind, now)
                values = {"revoked_at": now} if kind == "revoked" else {"expires_at": now - timedelta(seconds=1)}
                conn.execute(update(api_key).where(api_key.c.id == key.split("_")[1]).values(**values))
                dead[kind][role] = key
    return dead


def _flat_routes(routes: Any) -> Iterator[Any]:
    """Every route of the app, through included routers (FastAPI keeps those as one entry that
    resolves its routes lazily: ``effective_route_contexts``)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            yield from contexts()
        else:
            yield route


def _declared(client: TestClient) -> set[tuple[str, str]]:
    routes: set[tuple[str, str]] = set()
    for route in _flat_routes(client.app.routes):  # type: ignore[attr-defined]
        if route.path.startswith("/console"):
            continue  # the web console's pages take a person's session, not an API key: tests/console/routes_table.py
        if isinstance(route, Mount):
            routes.add(("MOUNT", route.path))
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                routes.add((method, route.path))
    return routes


def _call(client: TestClient, fixtures: Fixtures, row: Route, headers: dict[str, str]) -> int:
    url, body = fixtures.url(row.url or row.path), fixtures.body(row.body)
    if headers.get("X-Legal-Basis") == STATED["X-Legal-Basis"]:  # a registered process covering the fixtures
        headers = {**headers, "X-Legal-Basis": fixtures.get("legal_basis")}
    headers = {**headers, **row.headers}
    if row.method == "MOUNT":  # a mounted application: its entry resource
        return client.request("GET", url, headers=headers).status_code
    if row.raw:
        return client.request(row.method, url, content=json.dumps(body), headers=headers).status_code
    return client.request(row.method, url, json=body, headers=headers).status_code


@pytest.mark.requirement("B4")
def test_every_route_has_a_row_and_every_row_a_route(client: TestClient) -> None:
    declared = _declared(client)
    listed = {(row.method, row.path) for row in ROUTES}
    missing = sorted(declared - listed)
    assert not missing, (
        f"routes with no row in {TABLE_FILE}: {missing}. Add a Route(...) row to ROUTES there saying which roles "
        "may call each one and what a permitted call answers (and a fixture in "
        "tests/api/test_authorization_matrix.py::Fixtures for a new kind of id)."
    )
    stale = sorted(listed - declared)
    assert not stale, f"rows in {TABLE_FILE} for routes the app does not declare: {stale}"
    assert len(listed) == len(ROUTES), f"a route is listed twice in {TABLE_FILE}"


@pytest.mark.requirement("B4")
def test_every_route_times_every_role_and_every_dead_key(services: Services, client: TestClient,
                                                        keys: dict[str, str],
                                                        dead_keys: dict[str, dict[str, str]]) -> None:
    fixtures = Fixtures(services, client, keys)
    wrong: list[str] = []

    def expect(row: Route, who: str, got: int, want: int) -> None:
        if got != want:
            wrong.append(f"{row.method} {row.path} as {who}: {got}, the table says {want}")

    for row in ROUTES:
        if row.allowed is PUBLIC:
            expect(row, "anyone", _call(client, fixtures, row, {}), row.ok)
            continue
        for who, headers in (("no key", {}), ("a bogus key", auth("ccip_abc123_nosuchsecret")),
                             ("a malformed key", auth("not-a-key")),
                             ("a revoked key", auth(dead_keys["revoked"][min(row.allowed)], **STATED)),
                             ("an expired key", auth(dead_keys["expired"][min(row.allowed)], **STATED))):
            expect(row, who, _call(client, fixtures, row, headers), 401)
        for role in ROLES:
            headers = auth(keys[role], **STATED)
            if role == "admin" and row.path == "/v1/customers/{customer_id}":
                headers["X-Break-Glass"] = "incident 7"
            want = row.ok if role in row.allowed else 403
            expect(row, role, _call(client, fixtures, row, headers), want)
    assert not wrong, "\n".join(wrong)


@pytest.mark.requirement("B4")
def test_a_role_that_does_not_state_what_it_must_is_refused(services: Services, client: TestClient,
                                                           keys: dict[str, str]) -> None:
    fixtures = Fixtures(services, client, keys)
    wrong = []
    for case in STATEMENTS:
        response = client.request(case.method, fixtures.url(case.url), json=case.body,
                                  headers=auth(keys[case.role], **case.headers))
        if response.status_code != 403:
            wrong.append(f"{case.method} {case.url} as {case.role} stating {sorted(case.headers)}: "
                         f"{response.status_code}")
    assert not wrong, "\n".join(wrong)
