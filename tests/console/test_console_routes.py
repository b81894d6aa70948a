"""B4: every console route × every person role × no session, from ``tests/console/routes_table.py``;
a console route missing from the table fails. API keys open no console page."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount
from tests.console.conftest import console_of
from tests.console.routes_table import PUBLIC, ROUTES, ConsoleRoute
from tests.console.seed import SIGNUP, Seeded, application, csrf_of

from cloudcip.records.roles import Actor, create_api_key
from cloudcip.runtime import Services
from cloudcip.storage.schema import account

PERSON_OF_ROLE = {"analyst": "ana", "compliance-officer": "carol", "legal": "lee", "auditor": "aud", "admin": "adm"}


@pytest.fixture
def database_url(tmp_path: Any) -> str:
    """SQLite only: who may open what does not depend on the engine."""
    return f"sqlite:///{tmp_path / 'cloudcip.db'}"


def _console_routes(app: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for item in (contexts() if contexts is not None else [route]):
            if not item.path.startswith("/console"):
                continue
            if isinstance(item, Mount):
                found.add(("MOUNT", item.path))
            for method in getattr(item, "methods", None) or ():
                if method != "HEAD":
                    found.add((method, item.path))
    return found


class Fixtures:
    def __init__(self, services: Services, client: TestClient, seeded: Seeded) -> None:
        self.services, self.console, self.seeded = services, console_of(client), seeded
        with services.database.engine.connect() as conn:
            account_id = conn.execute(select(account.c.id).where(
                account.c.customer_id == seeded.customers[0])).scalar_one()
        self.values = {"customer_id": seeded.customers[0], "case_id": seeded.in_review[0],
                       "hit_id": seeded.hits[0], "account_id": account_id}
        self.made: dict[str, Callable[[], str]] = {"case_id": self._case, "hit_id": self._hit,
                                                   "change_id": self._change, "measure_id": self._measure,
                                                   "incident_id": self._incident, "process_id": self._process,
                                                   "hold_id": self._hold, "reseller_id": self._reseller,
                                                   "exemption_id": self._exemption,
                                                   "indicator_id": self._indicator}
        self.counter = 100
        from cloudcip.runtime import reporting_contacts

        reporting_contacts(services).set(name="CIP Officer", email="cip@example.org", title=None, phone=None,
                                         actor=Actor("test:officer", "compliance-officer"))

    def _case(self) -> str:
        self.counter += 1
        return str(self.console.applications.submit(application(self.counter), SIGNUP)["id"])

    def _hit(self) -> str:
        from cloudcip.screening import hits
        from cloudcip.screening.matcher import Hit

        with self.services.database.engine.begin() as conn:
            [hit_id] = hits.record_hits(conn, "customer", str(uuid.uuid4()), "h",
                                        [Hit("test", "42", "Listed Person", 0.95, "block", {"name": 0.95}, [])],
                                        lambda _s, _i: "p", datetime.now(UTC),
                                        index_key=self.services.keyring.blind_index_key())
        return hit_id

    def _change(self) -> str:
        return self.console.four_eyes.propose("case.redress", "redress", {"application_id": "x", "reason": "r"},
                                              "matrix", Actor("test:maker", "compliance-officer"),
                                              subject=str(uuid.uuid4())).id

    def _measure(self) -> str:
        from cloudcip.screening.measures import add_measure

        return add_measure(self.services, Actor("test:officer", "compliance-officer"), kind="jurisdiction",
                           target="IR", measure="prohibit", determination_date=datetime(2026, 1, 5).date()).id

    def _incident(self) -> str:
        from cloudcip.incidents.service import IncidentService

        service = IncidentService(self.services.database, self.services.ledger, self.services.customers)
        return service.create(self.values["account_id"], "abuse seen", Actor("test:analyst", "analyst")).id

    def _process(self) -> str:
        from cloudcip.records.legal_process import LegalProcessInput
        from cloudcip.runtime import legal_processes

        return legal_processes(self.services).register(LegalProcessInput.model_validate({
            "kind": "court_order", "authority": "District Court", "reference": f"matrix-{self.counter}",
            "customers": [self.values["customer_id"]]}), Actor("test:legal", "legal")).id

    def _hold(self) -> str:
        from cloudcip.runtime import legal_holds

        return legal_holds(self.services).place(self.get("process_id"), Actor("test:legal", "legal")).id

    def _reseller(self) -> str:
        from tests.resellers.builders import reseller_customer

        from cloudcip.runtime import reseller_service

        self.counter += 1
        customer_id, _account = reseller_customer(self.services, f"Matrix Reseller {self.counter} GmbH")
        officer = Actor("test:officer", "compliance-officer")
        service = reseller_service(self.services)
        reseller_id = str(service.add(customer_id, "cip@matrix.example", officer)["id"])
        service.upload_cip(reseller_id, b"Our CIP: we verify every sub-lessee.", officer, filename="cip.txt")
        return reseller_id

    def _exemption(self) -> str:
        from cloudcip.runtime import exemption_register

        return str(exemption_register(self.services).grant(
            Actor("test:officer", "compliance-officer"), scope_kind="account_type", scope_value="trial",
            basis="abuse-deterrence program", steps=["identity_verification"],
            granted_at=datetime(2026, 1, 1, tzinfo=UTC), expires_at=datetime(2027, 1, 1, tzinfo=UTC))["id"])

    def _indicator(self) -> str:
        """One indicator we published (source ``local``)."""
        import uuid

        from cloudcip.sharing.store import SharingStore

        store, ident = SharingStore(self.services.database), f"indicator--{uuid.uuid4()}"
        collection = store.add_collection("matrix indicators")
        with self.services.database.engine.begin() as conn:
            store.add_objects(conn, collection, [{
                "type": "indicator", "spec_version": "2.1", "id": ident, "created": "2026-03-01T00:00:00.000Z",
                "modified": "2026-03-01T00:00:00.000Z", "pattern": "[ipv4-addr:value = '203.0.113.9']",
                "pattern_type": "stix", "valid_from": "2026-03-01T00:00:00Z"}], source="local", tlp_of={ident: None})
        return ident

    def get(self, name: str) -> str:
        base = name.removeprefix("fresh_")
        if name.startswith("fresh_"):
            return self.made[base]()
        if base not in self.values:
            self.values[base] = self.made[base]()
        return self.values[base]

    def fill(self, text: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: self.get(m.group(1)), text)


def _call(client: TestClient, fixtures: Fixtures, row: ConsoleRoute, token: str | None) -> int:
    url = fixtures.fill(row.url or row.path)
    if row.method == "GET" or row.method == "MOUNT":
        return client.get(url).status_code
    data = {k: fixtures.fill(v) if isinstance(v, str) else v for k, v in row.data.items()}
    if token is not None:
        data["csrf_token"] = token
    return client.post(url, data=data).status_code


@pytest.mark.requirement("B4")
def test_every_console_route_has_a_row_and_every_row_a_route(app_client: TestClient) -> None:
    declared = _console_routes(app_client.app)
    listed = {(row.method, row.path) for row in ROUTES}
    assert not sorted(declared - listed), f"console routes with no row in tests/console/routes_table.py: " \
                                          f"{sorted(declared - listed)}"
    assert not sorted(listed - declared), f"rows for routes the console does not declare: {sorted(listed - declared)}"


@pytest.mark.requirement("B4")
def test_every_console_route_times_every_role_and_no_session(services: Services, app_client: TestClient,
                                                            seeded: Seeded,
                                                            as_person: Callable[[str], TestClient]) -> None:
    fixtures = Fixtures(services, app_client, seeded)
    wrong: list[str] = []
    people = {role: as_person(name) for role, name in PERSON_OF_ROLE.items()}
    tokens = {role: csrf_of(client.get("/console/incidents" if role != "auditor" else "/console/ledger").text)
              for role, client in people.items() if role != "admin"}
    tokens["admin"] = csrf_of(people["admin"].get("/console/", follow_redirects=True).text)
    anonymous = TestClient(app_client.app, base_url="https://testserver", follow_redirects=False,
                           raise_server_exceptions=False)
    for row in ROUTES:
        if row.path == "/console/logout":
            continue  # signing out ends the person's session: checked last
        got = _call(anonymous, fixtures, row, None)
        want = row.ok if row.allowed is PUBLIC else {303}
        if got not in want:
            wrong.append(f"{row.method} {row.path} without a session: {got}, want {sorted(want)}")
        if row.allowed is PUBLIC:
            continue
        for role, client in people.items():
            got = _call(client, fixtures, row, tokens[role])
            want = row.ok if role in row.allowed else {403}
            if got not in want:
                wrong.append(f"{row.method} {row.path} as {role}: {got}, want {sorted(want)}")
    for role, client in people.items():
        if client.post("/console/logout", data={"csrf_token": tokens[role]}).status_code != 200:
            wrong.append(f"POST /console/logout as {role}")
    anonymous.close()
    assert not wrong, "\n".join(wrong)


@pytest.mark.requirement("B4")
def test_an_api_key_opens_no_console_page(services: Services, app_client: TestClient, seeded: Seeded) -> None:
    with services.database.engine.begin() as conn:
        key = create_api_key(conn, "compliance-officer", "matrix", datetime.now(UTC))
    for path in ("/console/queue", f"/console/accounts/{seeded.customers[0]}", "/console/ledger/proof/0"):
        answer = app_client.get(path, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login", path
