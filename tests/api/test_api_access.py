"""C1-C3 over HTTP: intake all-or-nothing and idempotent, an account's IPs, accounts from an IP or
network (IPv4 and IPv6), each query on the ledger with its purpose, each endpoint behind its role."""

from __future__ import annotations

import gzip
import json

import pytest
from fastapi.testclient import TestClient

from cloudcip.access.follower import catch_up
from cloudcip.runtime import Services


def _events() -> list[dict[str, str]]:
    events = []
    for number in range(60):
        events.append({"id": f"evt-{number}", "account_id": f"acct-{number % 3}", "principal": "user:7",
                       "time": f"2026-10-{1 + number % 28:02d}T08:{number % 60:02d}:00.250Z",
                       "ip": f"198.51.100.{number % 5}" if number % 2 else f"2001:db8:0:1::{number % 4 + 1}",
                       "action": "console.login", "kind": "access"})
    return events


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.mark.requirement("C1", "C2")
@pytest.mark.control("access.recorded")
def test_intake_is_idempotent_and_all_or_nothing(client: TestClient, keys: dict[str, str]) -> None:
    ingest = auth(keys["event-ingest"])
    first = client.post("/v1/access-events", content=json.dumps(_events()), headers=ingest)
    assert first.status_code == 200 and first.json() == {"accepted": 60, "duplicates": 0}
    lines = "\n".join(json.dumps(e) for e in _events()).encode()
    again = client.post("/v1/access-events", content=gzip.compress(lines), headers=ingest)
    assert again.json() == {"accepted": 0, "duplicates": 60}
    bad = [*_events()[:3], {"id": "x", "account_id": "acct-9", "principal": "p", "time": "yesterday",
                            "ip": "999.1.1.1", "action": "a", "kind": "access"}]
    rejected = client.post("/v1/access-events", content="\n".join(json.dumps(e) for e in bad), headers=ingest)
    assert rejected.status_code == 422
    assert {error["line"] for error in rejected.json()["errors"]} == {4}
    assert "999.1.1.1" not in rejected.text
    view = client.get("/v1/accounts/acct-9/access", headers=auth(keys["analyst"], **{"X-Access-Purpose": "t"})).json()
    assert view["ips"] == [] and view["first_access"] is None  # nothing of the rejected batch stored


@pytest.mark.requirement("C3")
@pytest.mark.control("access.recorded")
def test_queries_answer_ips_accounts_and_networks(client: TestClient, keys: dict[str, str],
                                                  services: Services) -> None:
    client.post("/v1/access-events", content=json.dumps(_events()), headers=auth(keys["event-ingest"]))
    analyst = auth(keys["analyst"], **{"X-Access-Purpose": "court order 12"})
    view = client.get("/v1/accounts/acct-1/access", params={"from": "2026-10-01T00:00:00Z",
                                                            "to": "2026-10-31T23:59:59Z", "limit": 5},
                      headers=analyst).json()
    assert view["first_access"].startswith("2026-10-0") and len(view["events"]) == 5 and view["next_cursor"]
    assert sum(item["count"] for item in view["ips"]) == 20
    following = client.get("/v1/accounts/acct-1/access", params={"limit": 5, "cursor": view["next_cursor"]},
                           headers=analyst).json()
    assert {e["id"] for e in following["events"]}.isdisjoint({e["id"] for e in view["events"]})
    from_v4 = client.get("/v1/access", params={"ip": "198.51.100.0/24"}, headers=analyst).json()
    assert {a["account_id"] for a in from_v4["accounts"]} == {"acct-0", "acct-1", "acct-2"}
    one = client.post("/v1/access/search", json={"ip": "198.51.100.3"}, headers=analyst).json()
    assert {a["ip"] for a in one["accounts"]} == {"198.51.100.3"}
    from_v6 = client.get("/v1/access", params={"ip": "2001:db8:0:1::/64"}, headers=analyst).json()
    assert from_v6["accounts"] and all(a["ip"].startswith("2001:db8:0:1::") for a in from_v6["accounts"])
    assert client.get("/v1/access", params={"ip": "not-an-ip"}, headers=analyst).status_code == 422
    entries = services.ledger.entries_for_record("account", "acct-1")
    assert entries and entries[-1]["action"] == "read_access" and entries[-1]["purpose"] == "court order 12"


@pytest.mark.requirement("C2")
def test_intake_names_line_and_field_lists_every_error_and_stores_nothing(client: TestClient,
                                                                          keys: dict[str, str]) -> None:
    """C2: the fast intake path (orjson, no model per event) still names each bad line and field."""
    ingest = auth(keys["event-ingest"])
    lines = [json.dumps(e) for e in _events()[:6]]
    broken = json.loads(lines[1])
    broken["kind"] = "login"
    lines[1] = json.dumps(broken)
    lines[3] = lines[3][:-5]  # truncated JSON
    missing = json.loads(lines[4])
    del missing["account_id"]
    lines[4] = json.dumps(missing)
    answer = client.post("/v1/access-events", content="\n".join(lines), headers=ingest)
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert [error["line"] for error in errors] == [2, 4, 5]
    assert "kind" in errors[0]["reason"] and errors[1]["reason"].startswith("invalid JSON")
    assert "account_id" in errors[2]["reason"]
    view = client.get("/v1/accounts/acct-0/access", headers=auth(keys["analyst"], **{"X-Access-Purpose": "t"})).json()
    assert view["ips"] == []  # all or nothing
    posted = client.post("/v1/access-events", content="\n".join(json.dumps(e) for e in _events()[:6]),
                         headers=ingest)
    assert posted.json() == {"accepted": 6, "duplicates": 0}
    assert client.post("/v1/access-events", content=gzip.compress(b"\n".join(
        json.dumps(e).encode() for e in _events()[:8])), headers=ingest).json() == {"accepted": 2, "duplicates": 6}


def test_intake_refuses_a_gzip_bomb() -> None:
    from cloudcip.access.formats import AccessBatchError, _decompress, parse_rows

    with pytest.raises(AccessBatchError) as refused:
        _decompress(gzip.compress(b" " * 4096), 1024)
    assert "expands beyond" in str(refused.value)
    assert parse_rows(gzip.compress(b"\n") + gzip.compress(b"\n")) == []  # several members, all blank


@pytest.mark.requirement("C4")
@pytest.mark.control("access.signals")
def test_signals_use_the_verified_identity_of_the_account(client: TestClient, keys: dict[str, str],
                                                         services: Services) -> None:
    """C4 end to end: an account opened for a person living in Portugal, then accessed from the
    United States and from Portugal: one signal, the country inconsistent with the identity, raised
    by the service's policy (identities looked up for all of a round's accounts at once)."""
    body = {"kind": "individual", "name": {"given": "Ana", "family": "Lima"}, "birth_date": "1990-01-01",
            "address": {"line1": "Rua A 1", "city": "Lisboa", "country": "PT"}, "email": "ana@example.pt",
            "phone": "+351912345678", "account": {"type": "standard", "channel": "self_serve"},
            "signup_ip": "192.0.2.1", "notice_version": "notice-2024-01"}
    opened = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"]))
    assert opened.status_code == 201, opened.text
    account_id = opened.json()["account_id"]
    assert "PT" in {code[:2] for code in opened.json()["location"]}
    events = [{"id": f"id-{n}", "account_id": account_id, "principal": "user:1",
               "time": f"2026-10-0{n + 1}T08:00:00Z", "ip": ip, "action": "console.login", "kind": "access"}
              for n, ip in enumerate(["193.136.0.1", "8.8.8.8"])]
    events.append({**events[0], "id": "other", "account_id": "acct-without-identity", "ip": "8.8.8.8"})
    posted = client.post("/v1/access-events", json=events, headers=auth(keys["event-ingest"]))
    assert posted.status_code == 200 and posted.json()["accepted"] == 3
    catch_up(services.database, client.app.state.signal_policy)  # type: ignore[attr-defined]  # what serve runs
    read = auth(keys["analyst"], **{"X-Access-Purpose": "test"})
    signals = client.get(f"/v1/accounts/{account_id}/signals", headers=read).json()["signals"]
    assert [(s["kind"], s["detail"]["country"]) for s in signals] == [("country_inconsistent_with_identity", "US")]
    assert "PT" in signals[0]["detail"]["identity_countries"]
    unknown = client.get("/v1/accounts/acct-without-identity/signals", headers=read).json()["signals"]
    assert unknown == []
