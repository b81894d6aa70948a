"""C3: the windows of the access queries take a date or a time, and a time without an offset is UTC,
the same in the query string, in a search body and on the command line; anything else is a 422 (or
exit 2) naming the parameter. ``GET /v1/accounts/{id}/access?from=2026-01-01`` used to answer 500,
``GET /v1/access?ip=...&from=2026-01-01`` said the IP was wrong, and ``cloudcip access account acct-42
--from 2026-01-01`` (the README's own line) ended in a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.runtime import Services

EVENTS = [
    {"id": "e1", "account_id": "acct-42", "principal": "user:anna", "time": "2025-12-31T23:30:00Z",
     "ip": "203.0.113.7", "action": "console.login", "kind": "access"},
    {"id": "e2", "account_id": "acct-42", "principal": "user:anna", "time": "2026-01-01T09:30:00Z",
     "ip": "203.0.113.7", "action": "console.login", "kind": "access"},
    {"id": "e3", "account_id": "acct-42", "principal": "user:anna", "time": "2026-01-01T10:30:00Z",
     "ip": "198.51.100.9", "action": "instance.create", "kind": "admin"},
]

#: a window, and the ids of the events of acct-42 inside it (None: a 422 naming the parameter)
WINDOWS = [
    pytest.param({"from": "2026-01-01"}, {"e2", "e3"}, id="a-date-is-its-midnight-utc"),
    pytest.param({"to": "2026-01-01"}, {"e1"}, id="to-a-date"),
    pytest.param({"from": "2026-01-01T10:00"}, {"e3"}, id="no-offset-is-utc"),
    pytest.param({"from": "2026-01-01T10:00:00+02:00"}, {"e2", "e3"}, id="an-offset-is-honoured"),
    pytest.param({"from": "2026-01-01T09:00:00Z", "to": "2026-01-01T10:00:00Z"}, {"e2"}, id="z-both-ends"),
    pytest.param({"from": "01/02/2026"}, None, id="not-iso"),
    pytest.param({"from": "2026-13-01"}, None, id="no-such-month"),
    pytest.param({"to": "yesterday"}, None, id="a-word"),
    pytest.param({"from": "0001-01-01T00:00:00+01:00"}, None, id="before-year-one-in-utc"),
]


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.fixture
def stored(client: TestClient, keys: dict[str, str]) -> dict[str, str]:
    posted = client.post("/v1/access-events", json=EVENTS, headers=auth(keys["event-ingest"]))
    assert posted.status_code == 200, posted.text
    return auth(keys["compliance-officer"], **{"X-Access-Purpose": "EDD case 12"})


@pytest.mark.requirement("C3")
@pytest.mark.parametrize(("window", "expected"), WINDOWS)
def test_an_accounts_window_in_the_query_string(client: TestClient, stored: dict[str, str],
                                                window: dict[str, str], expected: set[str] | None) -> None:
    response = client.get("/v1/accounts/acct-42/access", params=window, headers=stored)
    if expected is None:
        assert response.status_code == 422, response.text
        assert [problem["field"] for problem in response.json()["fields"]] == list(window)
        assert next(iter(window.values())) not in response.text
        return
    assert response.status_code == 200, response.text
    assert {event["id"] for event in response.json()["events"]} == expected


@pytest.mark.requirement("C3")
@pytest.mark.parametrize(("window", "expected"), WINDOWS)
def test_the_accounts_seen_from_an_address_in_a_window(client: TestClient, stored: dict[str, str],
                                                       window: dict[str, str], expected: set[str] | None) -> None:
    by_query = client.get("/v1/access", params={"ip": "203.0.113.0/24", **window}, headers=stored)
    by_body = client.post("/v1/access/search", json={"ip": "203.0.113.0/24", **window}, headers=stored)
    for response in (by_query, by_body):
        if expected is None:
            assert response.status_code == 422, response.text
            assert [problem["field"] for problem in response.json()["fields"]] == list(window)
            continue
        assert response.status_code == 200, response.text
        seen = {item["account_id"] for item in response.json()["accounts"]}
        assert seen == ({"acct-42"} if expected & {"e1", "e2"} else set())


@pytest.mark.requirement("C3")
def test_one_pair_of_names_for_a_window(client: TestClient, stored: dict[str, str]) -> None:
    """``from``/``to`` everywhere: the search body no longer takes ``start``/``end``."""
    old = client.post("/v1/access/search", json={"ip": "203.0.113.7", "start": "2026-01-01"}, headers=stored)
    assert old.status_code == 422 and old.json()["fields"][0]["field"] == "start"
    backwards = client.get("/v1/accounts/acct-42/access", params={"from": "2026-02-01", "to": "2026-01-01"},
                           headers=stored)
    assert backwards.status_code == 422 and backwards.json()["fields"][0]["field"] == "to"


@pytest.mark.requirement("C3")
def test_the_readmes_command_line(services: Services, client: TestClient, stored: dict[str, str],
                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runner = CliRunner()
    monkeypatch.setenv("CLOUDCIP_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("CLOUDCIP_DATABASE_URL", services.settings.database_url)
    readme = runner.invoke(app, ["access", "account", "acct-42", "--from", "2026-01-01", "--purpose",
                                 "court order 17"])
    assert readme.exit_code == 0, readme.output
    answer = json.loads(readme.stdout)
    assert {item["ip"] for item in answer["ips"]} == {"203.0.113.7", "198.51.100.9"}
    naive = runner.invoke(app, ["access", "ip", "198.51.100.0/24", "--from", "2026-01-01T10:00"])
    assert naive.exit_code == 0, naive.output
    assert [item["account_id"] for item in json.loads(naive.stdout)["accounts"]] == ["acct-42"]
    bad = runner.invoke(app, ["access", "account", "acct-42", "--from", "01/02/2026"])
    assert bad.exit_code == 2 and "--from" in bad.output and "Traceback" not in bad.output
