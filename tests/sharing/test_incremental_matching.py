"""G1, G3, E2: what arrives after an indicator or a bad actor is matched against them on arrival.

- a peer's e-mail or wallet indicator stored first, then a sub-lessee that carries the e-mail is shared,
  or a customer that holds the wallet signs up: each is matched as it arrives (no backfill, no
  re-pull), open for a person to adjudicate; one with other identifiers is not;
- a customer closed out first, then a reseller shares a sub-lessee with the same mailbox (another
  spelling): the sub-lessee is linked (a strong link, named masked in the share's answer) and the
  Reseller Account gets a ``sub_lessee_link`` signal for a person; an unrelated sub-lessee gets nothing;
- ``cloudcip sharing rematch`` runs the stored indicators again and finds nothing new twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import insert
from tests.sharing.builders import SIGNUP, person
from typer.testing import CliRunner

from cloudcip.api.app import create_app
from cloudcip.cli.main import app
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services, open_services
from cloudcip.settings import Settings
from cloudcip.sharing.store import SharingStore
from cloudcip.sharing.taxii import MEDIA_TYPE
from cloudcip.storage.schema import account

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"


def indicator(pattern: str) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z", "pattern": pattern,
            "pattern_type": "stix", "valid_from": "2026-03-01T00:00:00Z", "object_marking_refs": [GREEN]}


Run = Callable[..., Any]


def _setup(tmp_path: Path, database_url: str) -> tuple[Run, Services, str, dict[str, str]]:
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    run("init")
    services = open_services(Settings(data_dir=data_dir, database_url=database_url))
    reseller = TypeAdapter(CustomerRecord).validate_python({
        "kind": "entity", "legal_name": "Nordlicht Cloud Reseller GmbH",
        "registration": {"country": "DE", "number": "HRB 99"},
        "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
        "email": "ops@nordlicht.example", "phone": "+494012345678"})
    [reseller_id] = services.customers.create([reseller], SIGNUP)
    account_id = str(uuid.uuid4())
    with services.database.engine.begin() as conn:
        conn.execute(insert(account).values(id=account_id, customer_id=reseller_id, type="reseller",
                                            channel="sales_assisted", state="active", opened_at=datetime.now(UTC)))
        keys: dict[str, str] = {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}
    return run, services, account_id, keys


def _share(run: Run, tmp_path: Path, account_id: str, sub_lessees: list[dict[str, Any]]) -> dict[str, Any]:
    path = tmp_path / f"sub-lessees-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(sub_lessees))
    answer = json.loads(run("resellers", "sub-lessees", "add", account_id, str(path)).stdout)
    return {item["reference"]: item for item in answer["sub_lessees"]}


def _sub_lessee(reference: str, email: str) -> dict[str, Any]:
    return {"reference": reference, "kind": "person", "name": {"given": "Viktor", "family": "Sokolov"},
            "country": "DE", "email": email}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.requirement("G3", "E2")
@pytest.mark.control("sharing.indicators_matched")
def test_subjects_that_arrive_after_an_indicator_are_matched_on_arrival(tmp_path: Path, database_url: str) -> None:
    run, services, account_id, keys = _setup(tmp_path, database_url)
    try:
        store = SharingStore(services.database)
        collection = store.add_collection("abuse indicators")
        with services.database.engine.begin() as conn:
            peer_key = create_api_key(conn, "peer", "Peer Cloud B", datetime.now(UTC))
            store.add_peer(conn, peer_key.split("_")[1], "Peer Cloud B")
        store.grant(peer_key.split("_")[1], collection, read=True, write=True)
        by_email = indicator("[email-addr:value = 'Viktor.Sokolov+abuse@gmail.com']")
        by_wallet = indicator(f"[x-cloudcip-crypto-wallet:address = '{WALLET}']")
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            posted = client.post(f"/taxii2/api1/collections/{collection}/objects/",
                                 content=json.dumps({"objects": [by_email, by_wallet]}),
                                 headers={"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}, auth=("peer", peer_key))
            assert posted.status_code == 202, posted.text
            assert json.loads(run("sharing", "matches", "list").stdout or "[]") == []  # no one holds them yet
            # a sub-lessee carrying the mailbox (as the reseller spells it) is shared: matched at once
            shared = _share(run, tmp_path, account_id, [_sub_lessee("r-1", "viktorsokolov@gmail.com"),
                                                        _sub_lessee("r-2", "v.sokolov@sokolov-family.example")])
            # a customer holding the wallet signs up: matched in the signup's transaction
            body = {**person("Lena", "Vogt", email="lena.vogt@vogt.example", phone="+4930111222",
                             card=None, wallet=WALLET, national_id="T55000123"),
                    "account": {"type": "standard", "channel": "self_serve"}, "signup_ip": "198.51.100.4",
                    "notice_version": "notice-2024-01"}
            body["national_id"]["kind"] = "id_card"
            signup = client.post("/v1/applications", json=body, headers=_auth(keys["signup-service"]))
            assert signup.status_code == 201, signup.text
            other = client.post("/v1/applications", json={
                **body, "email": "otto.lind@lind.example", "phone": "+4930333444",
                "national_id": {**body["national_id"], "number": "T55000999"},
                "payment_means": [{"type": "crypto_wallet", "currency": "ETH",
                                   "address": "0x0000000000000000000000000000000000000001"}]},
                headers=_auth(keys["signup-service"]))
            assert other.status_code == 201, other.text
    finally:
        services.close()
    assert (shared["r-1"]["indicator_matches"], shared["r-2"]["indicator_matches"]) == (1, 0)
    listed = [json.loads(line) for line in run("sharing", "matches", "list").stdout.splitlines() if line.strip()]
    found = sorted((m["subject_type"], m["subject_id"], m["matched_on"], m["indicator_id"]) for m in listed)
    assert found == sorted([("sub_lessee", shared["r-1"]["id"], "email", by_email["id"]),
                            ("customer", signup.json()["customer_id"], "wallet", by_wallet["id"])])
    assert all(m["state"] == "open" for m in listed)
    assert "viktor" not in json.dumps(listed).lower() and WALLET.lower() not in json.dumps(listed).lower()
    # the full pass finds nothing the arrivals did not
    assert json.loads(run("sharing", "rematch").stdout) == {"indicators": 2, "new_matches": 0}


@pytest.mark.requirement("G1", "E2")
@pytest.mark.control("linkage.ban_evasion")
def test_a_sub_lessee_sharing_a_mailbox_with_a_closed_customer_is_linked_and_signalled(
        tmp_path: Path, database_url: str) -> None:
    _run, services, account_id, keys = _setup(tmp_path, database_url)
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            body = {**person("Viktor", "Sokolov", email="viktor.sokolov@gmail.com"),
                    "account": {"type": "standard", "channel": "self_serve"}, "signup_ip": "198.51.100.4",
                    "notice_version": "notice-2024-01"}
            body["national_id"]["kind"] = "id_card"
            first = client.post("/v1/applications", json=body, headers=_auth(keys["signup-service"])).json()
            closed = client.post(f"/v1/accounts/{first['account_id']}/close", headers=_auth(keys["signup-service"]))
            assert closed.status_code == 200, closed.text
            # the reseller shares the same mailbox under another spelling, and someone unrelated
            shared = client.post(f"/v1/resellers/{account_id}/sub-lessees",
                                 json=[_sub_lessee("r-1", "Viktor.Sokolov+cloud@googlemail.com"),
                                       _sub_lessee("r-2", "mira.holm@holm.example")],
                                 headers=_auth(keys["signup-service"]))
            assert shared.status_code == 201, shared.text
            by_reference = {item["reference"]: item for item in shared.json()["sub_lessees"]}
            signals = client.get(f"/v1/accounts/{account_id}/signals",
                                 headers={**_auth(keys["analyst"]), "X-Access-Purpose": "sub-lessee link review"})
            assert signals.status_code == 200, signals.text
            links = client.get(f"/v1/customers/{first['customer_id']}/links", headers=_auth(keys["analyst"])).json()
    finally:
        services.close()
    [link] = by_reference["r-1"]["links"]
    assert (link["kind"], link["strength"], link["review"]) == ("email", "strong", True)
    assert link["reason"].startswith("ban_evasion_link:email: linked by email v•••@gmail.com") \
        and link["reason"].endswith("(closed)")
    assert by_reference["r-2"]["links"] == []
    raised = [s for s in signals.json()["signals"] if s["kind"] == "sub_lessee_link"]
    assert len(raised) == 1 and raised[0]["state"] == "open"
    assert by_reference["r-1"]["id"] in json.dumps(raised[0])
    shown = json.dumps([shared.json(), signals.json()])
    assert "viktor.sokolov" not in shown.lower() and first["customer_id"] not in shown
    # the graph keeps the link: the closed customer's links show the sub-lessee, strongly
    assert [(e["subject_type"], e["subject_id"], e["strength"]) for e in links["links"]] == [
        ("sub_lessee", by_reference["r-1"]["id"], "strong")]
