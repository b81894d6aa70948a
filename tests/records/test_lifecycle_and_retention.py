"""B1: accounts close (API, CLI, the access-event stream); each account's retention ends two years after
the later of its closure and its last access; the retention run purges what ended, never under a hold;
an administrator's purge before the end needs a recorded legal basis."""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.access.events import AccessEvent
from cloudcip.access.schema import access_event
from cloudcip.access.store import ingest
from cloudcip.cli.main import app as cli
from cloudcip.jobs.runner import JobRunner
from cloudcip.runtime import Services, default_tasks
from cloudcip.storage.schema import customer

from .conftest import OpenAccount, auth

runner = CliRunner()


def invoke(services: Services, *args: str) -> Any:
    result = runner.invoke(cli, ["--data-dir", str(services.settings.data_dir), *args],
                           env={"CLOUDCIP_DATABASE_URL": services.settings.database_url})
    return result


def access(account_id: str, when: datetime, action: str = "login", kind: str = "access") -> AccessEvent:
    return AccessEvent(account_id=account_id, principal="root", time=when, ip=ipaddress.ip_address("198.51.100.7"),
                       action=action, kind=kind, id=f"{account_id}-{action}-{when.timestamp()}")  # type: ignore[arg-type]


def opened_at(client: TestClient, keys: dict[str, str], account_id: str) -> datetime:
    view = client.get(f"/v1/accounts/{account_id}", headers=auth(keys["analyst"])).json()
    return clock.parse_instant(view["opened_at"], "opened_at")


def years(moment: datetime, count: int) -> datetime:
    return moment.replace(year=moment.year + count)


@pytest.mark.requirement("B1")
def test_the_provider_closes_an_account_through_the_api(client: TestClient, keys: dict[str, str],
                                                        open_account: OpenAccount, services: Services) -> None:
    answer = open_account()
    account_id = answer["account_id"]
    start = opened_at(client, keys, account_id)
    ingest(services.database, [access(account_id, start + timedelta(days=100))])
    assert client.post(f"/v1/accounts/{account_id}/close", json={},
                       headers=auth(keys["analyst"])).status_code == 403
    future = clock.iso(clock.now() + timedelta(days=1))
    refused = client.post(f"/v1/accounts/{account_id}/close", json={"at": future}, headers=auth(keys["signup-service"]))
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "at"
    closed = client.post(f"/v1/accounts/{account_id}/close", json={"at": clock.iso(start)},
                         headers=auth(keys["signup-service"]))
    assert closed.status_code == 200, closed.text
    view = closed.json()
    assert view["state"] == "closed" and view["closed_at"] == clock.iso(start)
    # the later of closure and last access (100 days after), plus the profile's two years
    assert view["retention_ends"] == clock.iso(years(start + timedelta(days=100), 2))
    again = client.post(f"/v1/accounts/{account_id}/close", json={}, headers=auth(keys["signup-service"]))
    assert again.status_code == 409
    assert client.post("/v1/accounts/no-such-account/close", json={},
                       headers=auth(keys["admin"])).status_code == 404
    shown = client.get(f"/v1/accounts/{account_id}", headers=auth(keys["analyst"], X_Access_Purpose="review"))
    assert shown.json()["retention_ends"] == view["retention_ends"]
    assert [e["action"] for e in services.ledger.entries_for_record("account", account_id)][-2:] == ["close", "read"]


@pytest.mark.requirement("B1")
def test_the_cli_closes_an_account_at_a_date(client: TestClient, keys: dict[str, str], open_account: OpenAccount,
                                             services: Services) -> None:
    account_id = open_account()["account_id"]
    start = opened_at(client, keys, account_id)
    result = invoke(services, "accounts", "close", account_id, "--at", clock.iso(start) or "")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["retention_ends"] == clock.iso(years(start, 2))
    assert invoke(services, "accounts", "close", account_id).exit_code == 5  # already closed: conflict
    bad = invoke(services, "accounts", "close", account_id, "--at", "yesterday-ish")
    assert bad.exit_code == 2 and "at:" in bad.output and "Traceback" not in bad.output


@pytest.mark.requirement("B1", "C2")
def test_an_account_closed_event_in_the_access_stream_closes_the_account(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services) -> None:
    account_id = open_account()["account_id"]
    start = opened_at(client, keys, account_id)
    closing = start + timedelta(hours=2)
    body = "\n".join(json.dumps(line) for line in [
        {"id": "e1", "account_id": account_id, "principal": "root", "time": clock.iso(start + timedelta(hours=1)),
         "ip": "198.51.100.7", "action": "login", "kind": "access"},
        {"id": "e2", "account_id": account_id, "principal": "billing", "time": clock.iso(closing),
         "ip": "198.51.100.7", "action": "account.closed", "kind": "admin"},
        {"id": "e3", "account_id": "not-a-cloudcip-account", "principal": "x", "time": clock.iso(closing),
         "ip": "198.51.100.8", "action": "account.closed", "kind": "admin"},
    ])
    posted = client.post("/v1/access-events", content=body, headers=auth(keys["event-ingest"]))
    assert posted.status_code == 200, posted.text
    outcomes = JobRunner(services, default_tasks()).run_once(clock.now())
    assert {o.name: o.result for o in outcomes if o.name == "account-closures"} == {"account-closures": 1}
    view = client.get(f"/v1/accounts/{account_id}", headers=auth(keys["analyst"])).json()
    assert view["state"] == "closed" and view["closed_at"] == clock.iso(closing)
    assert view["retention_ends"] == clock.iso(years(closing, 2))
    # the closure is also access history (an administrative action), and a second pass closes nothing
    assert view["last_access"] == clock.iso(closing)
    assert JobRunner(services, default_tasks()).run_once(clock.now())[1].result == 0


# Each row: how the account ended, its last access (days after opening), whether a hold stands, the
# date retention is evaluated on (days after opening) and what the plan says then. T = the opening.
RETENTION_CASES = [
    ("open, silent for three years", None, 0, False, 3 * 366, "open"),
    ("closed at T, never accessed, a day short of two years", 0, None, False, 2 * 365, "kept"),
    ("closed at T, never accessed, two years and a day later", 0, None, False, 2 * 365 + 2, "due"),
    ("closed at T, accessed 100 days later: the clock starts then", 0, 100, False, 2 * 365 + 2, "kept"),
    ("closed at T, accessed 100 days later, two years after that", 0, 100, False, 2 * 365 + 102, "due"),
    ("closed at T, due, but a legal hold stands", 0, None, True, 3 * 366, "held"),
]


@pytest.mark.requirement("B1")
def test_retention_plan_follows_the_rule_table(client: TestClient, keys: dict[str, str], open_account: OpenAccount,
                                               services: Services) -> None:
    rows: list[tuple[str, str, datetime, str]] = []
    for name, closed_days, access_days, held, as_of_days, expected in RETENTION_CASES:
        answer = open_account()
        account_id, customer_id = answer["account_id"], answer["customer_id"]
        start = opened_at(client, keys, account_id)
        if access_days is not None:
            ingest(services.database, [access(account_id, start + timedelta(days=access_days))])
        if closed_days is not None:
            assert client.post(f"/v1/accounts/{account_id}/close", json={"at": clock.iso(start)},
                               headers=auth(keys["admin"])).status_code == 200
        if held:
            process = client.post("/v1/legal/processes", json={
                "kind": "subpoena", "authority": "Grand jury", "reference": f"GJ-{name[:10]}",
                "customers": [customer_id]}, headers=auth(keys["legal"])).json()
            assert client.post("/v1/legal/holds", json={"process_id": process["id"]},
                               headers=auth(keys["legal"])).status_code == 201
        rows.append((name, customer_id, start + timedelta(days=as_of_days), expected))
    for name, customer_id, as_of, expected in rows:
        plan = client.get("/v1/retention/plan", params={"as_of": clock.iso(as_of)},
                          headers=auth(keys["compliance-officer"])).json()
        statuses = {item["customer_id"]: item["status"] for item in plan["customers"]}
        assert statuses.get(customer_id, "open") == expected, name


def _count(services: Services, table: Any, *where: Any) -> int:
    with services.database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


@pytest.mark.requirement("B1", "B5")
@pytest.mark.control("retention.purge", "records.legal_hold")
def test_a_record_under_hold_survives_the_run_and_goes_at_the_first_run_after_release(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services) -> None:
    held, free, still_open = open_account(), open_account(), open_account()
    start = opened_at(client, keys, held["account_id"])
    for answer in (held, free, still_open):
        ingest(services.database, [access(answer["account_id"], start + timedelta(minutes=5))])
    for answer in (held, free):
        assert client.post(f"/v1/accounts/{answer['account_id']}/close", json={},
                           headers=auth(keys["signup-service"])).status_code == 200
    process = client.post("/v1/legal/processes", json={
        "kind": "court_order", "authority": "U.S. District Court", "reference": "1:26-cv-0042",
        "accounts": [held["account_id"]]}, headers=auth(keys["legal"])).json()
    first = client.post("/v1/legal/holds", json={"process_id": process["id"]}, headers=auth(keys["legal"])).json()
    second = client.post("/v1/legal/holds", json={"process_id": process["id"]}, headers=auth(keys["legal"])).json()
    assert first["customers"] == 1 and first["accounts"] == 1
    as_of = clock.iso(years(clock.now(), 3)) or ""

    plan = invoke(services, "retention", "plan", "--as-of", as_of, "--json")
    assert plan.exit_code == 0, plan.output
    statuses = {line["customer_id"]: line["status"] for line in map(json.loads, plan.stdout.splitlines())}
    assert statuses == {held["customer_id"]: "held", free["customer_id"]: "due"}

    run = invoke(services, "retention", "run", "--as-of", as_of)
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["customers_purged"] == 1 and report["accounts_purged"] == 1 and report["held_skipped"] == 1
    analyst = auth(keys["analyst"])
    assert client.get(f"/v1/customers/{free['customer_id']}", headers=analyst).status_code == 410
    assert client.get(f"/v1/customers/{held['customer_id']}", headers=analyst).status_code == 200
    assert client.get(f"/v1/customers/{still_open['customer_id']}", headers=analyst).status_code == 200
    assert _count(services, access_event, access_event.c.account_id == free["account_id"]) == 0
    assert _count(services, access_event, access_event.c.account_id == held["account_id"]) == 1
    assert [e["action"] for e in services.ledger.entries_for_record("customer", free["customer_id"])][-1] == "purge"
    assert "purge_access_history" in [e["action"] for e in
                                      services.ledger.entries_for_record("account", free["account_id"])]

    # overlapping holds all hold: releasing one leaves the other standing
    legal = auth(keys["legal"])
    assert client.post(f"/v1/legal/holds/{first['id']}/release", json={"reason": " "},
                       headers=legal).status_code == 422
    assert client.post(f"/v1/legal/holds/{first['id']}/release", json={"reason": "case settled"},
                       headers=legal).status_code == 200
    assert client.post(f"/v1/legal/holds/{first['id']}/release", json={"reason": "again"},
                       headers=legal).status_code == 409
    assert json.loads(invoke(services, "retention", "run", "--as-of", as_of).stdout.splitlines()[-1])[
        "customers_purged"] == 0
    released = invoke(services, "legal", "hold", "release", second["id"], "--reason", "order vacated")
    assert released.exit_code == 0, released.output
    after = json.loads(invoke(services, "retention", "run", "--as-of", as_of).stdout.splitlines()[-1])
    assert after["customers_purged"] == 1 and after["accounts_purged"] == 1
    assert client.get(f"/v1/customers/{held['customer_id']}", headers=analyst).status_code == 410
    with services.database.engine.connect() as conn:
        statuses_now = dict(conn.execute(select(customer.c.id, customer.c.status)).all())
    assert statuses_now[still_open["customer_id"]] == "active"


@pytest.mark.requirement("B1", "B4")
def test_an_admin_purge_before_the_retention_end_needs_a_recorded_legal_basis(
        client: TestClient, keys: dict[str, str], open_account: OpenAccount) -> None:
    target, other = open_account(), open_account()
    admin = {"X-Access-Purpose": "customer asked for deletion"}
    refused = client.delete(f"/v1/customers/{target['customer_id']}", headers=auth(keys["admin"], **admin))
    assert refused.status_code == 403 and "retention" in refused.json()["detail"]
    legal = auth(keys["legal"])

    def process(kind: str, customer_id: str) -> str:
        response = client.post("/v1/legal/processes", json={
            "kind": kind, "authority": "State court", "reference": f"{kind}-1", "customers": [customer_id]},
            headers=legal)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    subpoena = process("subpoena", target["customer_id"])
    order_for_other = process("court_order", other["customer_id"])
    order = process("court_order", target["customer_id"])
    for basis, status in ((subpoena, 403), (order_for_other, 403), ("not-registered", 403), (order, 204)):
        response = client.delete(f"/v1/customers/{target['customer_id']}",
                                 headers=auth(keys["admin"], X_Legal_Basis=basis, **admin))
        assert response.status_code == status, (basis, response.text)
    assert client.get(f"/v1/customers/{target['customer_id']}", headers=auth(keys["analyst"])).status_code == 410
