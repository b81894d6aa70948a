"""B4, B5: the register of legal processes, holds under them, and legal reads only within a registered
process's scope."""

from __future__ import annotations

import ipaddress
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.access.events import AccessEvent
from cloudcip.access.store import ingest
from cloudcip.cli.main import app as cli
from cloudcip.runtime import Services

from .conftest import OpenAccount, auth

runner = CliRunner()


def invoke(services: Services, *args: str) -> Any:
    return runner.invoke(cli, ["--data-dir", str(services.settings.data_dir), *args],
                         env={"CLOUDCIP_DATABASE_URL": services.settings.database_url})


def register(client: TestClient, keys: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post("/v1/legal/processes", json={
        "kind": "subpoena", "authority": "Grand jury, E.D. Va.", "reference": "GJ-2026-17", **body},
        headers=auth(keys["legal"]))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.requirement("B4", "B5")
def test_legal_process_add_and_hold_add_print_their_ids_last(open_account: OpenAccount, services: Services,
                                                              client: TestClient, keys: dict[str, str]) -> None:
    answer = open_account()
    today = clock.now().date()
    added = invoke(services, "legal", "process", "add", "--kind", "court_order", "--authority", "U.S. District Court",
                   "--reference", "1:26-cr-7", "--customer", answer["customer_id"],
                   "--from", (today - timedelta(days=30)).isoformat(), "--to", today.isoformat(),
                   "--due", (today + timedelta(days=14)).isoformat(), "--handler", "counsel on duty")
    assert added.exit_code == 0, added.output
    process_id = added.stdout.strip().splitlines()[-1]
    shown = client.get(f"/v1/legal/processes/{process_id}", headers=auth(keys["compliance-officer"])).json()
    assert shown["kind"] == "court_order" and shown["scope"]["customers_in_scope"] == 1
    assert shown["scope"]["accounts_in_scope"] == 1 and shown["due"] == (today + timedelta(days=14)).isoformat()
    hold = invoke(services, "legal", "hold", "add", process_id)
    assert hold.exit_code == 0, hold.output
    hold_id = hold.stdout.strip().splitlines()[-1]
    view = client.get(f"/v1/accounts/{answer['account_id']}", headers=auth(keys["analyst"])).json()
    assert view["holds"] == [hold_id]
    assert invoke(services, "legal", "hold", "release", hold_id).exit_code == 2  # --reason is required
    released = invoke(services, "legal", "hold", "release", hold_id, "--reason", "production delivered")
    assert released.exit_code == 0 and json.loads(released.stdout)["standing"] is False
    assert client.get(f"/v1/accounts/{answer['account_id']}", headers=auth(keys["analyst"])).json()["holds"] == []


# Bad input: what is refused and what is accepted with a warning
BAD_PROCESSES = [
    ("a due date in the past", {"due": "2001-01-01"}, 422, "due"),
    ("a window that ends before it starts", {"from": "2026-02-01", "to": "2026-01-01"}, 422, "to"),
    ("a network that is not one", {"networks": ["300.1.2.3/8"]}, 422, "networks.0"),
    ("a national ID without its country", {"identifiers": [{"kind": "national_id", "value": "T22000129"}]}, 422,
     "identifiers.0.country"),
    ("no scope at all", {"customers": []}, 422, "scope"),
    ("an unknown kind", {"kind": "fishing_expedition"}, 422, "kind"),
]


@pytest.mark.requirement("B4")
@pytest.mark.parametrize(("case", "change", "status", "field"), BAD_PROCESSES, ids=[c[0] for c in BAD_PROCESSES])
def test_bad_legal_processes_are_refused_naming_the_field(client: TestClient, keys: dict[str, str], case: str,
                                                          change: dict[str, Any], status: int, field: str) -> None:
    body = {"kind": "subpoena", "authority": "Court", "reference": "R-1", "customers": ["c-1"], **change}
    response = client.post("/v1/legal/processes", json=body, headers=auth(keys["legal"]))
    assert response.status_code == status, case
    fields = [f["field"] for f in response.json()["fields"]]
    assert field in fields, (case, fields)
    assert "300.1.2.3" not in response.text and "T22000129" not in response.text


@pytest.mark.requirement("B4")
def test_a_scope_that_matches_nothing_is_accepted_with_a_warning(client: TestClient, keys: dict[str, str],
                                                                  services: Services) -> None:
    answer = register(client, keys, identifiers=[{"kind": "email", "value": "nobody@example.org"}])
    assert answer["warnings"] and answer["scope"]["customers_in_scope"] == 0
    cli_added = invoke(services, "legal", "process", "add", "--kind", "law_enforcement", "--authority", "FBI",
                       "--reference", "LE-1", "--customer", "no-such-customer")
    assert cli_added.exit_code == 0 and "warning" in cli_added.stderr
    assert client.post("/v1/legal/processes", json={"kind": "subpoena", "authority": "x", "reference": "y",
                                                    "customers": ["c"]},
                       headers=auth(keys["analyst"])).status_code == 403


@pytest.mark.requirement("B4")
def test_legal_reads_only_within_the_scope_of_a_registered_process(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services) -> None:
    inside, outside = open_account(email="inside@example.de"), open_account()
    now = clock.now()
    for answer, address in ((inside, "203.0.113.9"), (outside, "192.0.2.77")):
        ingest(services.database, [AccessEvent(account_id=answer["account_id"], principal="root",
                                               time=now - timedelta(days=10), ip=ipaddress.ip_address(address),
                                               action="login", id=f"{answer['account_id']}-1")])
    window = {"from": clock.iso(now - timedelta(days=30)), "to": clock.iso(now)}
    by_email = register(client, keys, identifiers=[{"kind": "email", "value": "INSIDE@example.de"}], **window)
    by_network = register(client, keys, networks=["203.0.113.0/24"], **window)
    assert by_email["scope"]["customers_in_scope"] == 1 and by_network["scope"]["accounts_in_scope"] == 1

    def read(path: str, basis: str | None, **params: str) -> int:
        headers = auth(keys["legal"], X_Access_Purpose="subpoena response",
                       **({"X_Legal_Basis": basis} if basis else {}))
        return client.get(path, params=params, headers=headers).status_code

    customer = f"/v1/customers/{inside['customer_id']}"
    # each row: the path read, the legal basis given, the query, the answer
    cases = [
        (customer, None, {}, 403),
        (customer, "court order 12", {}, 403),  # free text is not a registered process
        (customer, by_email["id"], {"unmask": "true"}, 200),
        (f"/v1/customers/{outside['customer_id']}", by_email["id"], {}, 403),
        (f"/v1/accounts/{inside['account_id']}/access", by_email["id"], window, 200),
        (f"/v1/accounts/{inside['account_id']}/access", by_email["id"], {}, 403),  # outside the window
        (f"/v1/accounts/{outside['account_id']}/access", by_email["id"], window, 403),
        (f"/v1/accounts/{inside['account_id']}/access", by_network["id"], window, 200),
        ("/v1/access", by_network["id"], {"ip": "203.0.113.9", **window}, 200),
        ("/v1/access", by_network["id"], {"ip": "192.0.2.0/24", **window}, 403),
        ("/v1/access", by_email["id"], {"ip": "203.0.113.9", **window}, 403),
    ]
    for path, basis, params, expected in cases:
        assert read(path, basis, **params) == expected, (path, basis, params)
    entries = services.ledger.entries_for_record("customer", inside["customer_id"])
    assert entries[-1]["action"] == "read_unmasked" and entries[-1]["legal_basis"] == by_email["id"]
    closed = client.post(f"/v1/legal/processes/{by_email['id']}/close", headers=auth(keys["legal"]))
    assert closed.status_code == 200
    assert read(customer, by_email["id"]) == 403
