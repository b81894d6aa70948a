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
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.sharing.builders import person
from tests.sharing.deployment import auth, indicator, peer_collection, reseller_deployment, share, sub_lessee_body

from cloudcip.api.app import create_app
from cloudcip.sharing.taxii import MEDIA_TYPE

WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"


@pytest.mark.requirement("G3", "E2")
@pytest.mark.control("sharing.indicators_matched")
def test_subjects_that_arrive_after_an_indicator_are_matched_on_arrival(tmp_path: Path, database_url: str) -> None:
    run, services, account_id, keys = reseller_deployment(tmp_path, database_url)
    try:
        collection, peer_key = peer_collection(services)
        by_email = indicator("[email-addr:value = 'Viktor.Sokolov+abuse@gmail.com']")
        by_wallet = indicator(f"[x-cloudcip-crypto-wallet:address = '{WALLET}']")
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            posted = client.post(f"/taxii2/api1/collections/{collection}/objects/",
                                 content=json.dumps({"objects": [by_email, by_wallet]}),
                                 headers={"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}, auth=("peer", peer_key))
            assert posted.status_code == 202, posted.text
            assert json.loads(run("sharing", "matches", "list").stdout or "[]") == []  # no one holds them yet
            # a sub-lessee carrying the mailbox (as the reseller spells it) is shared: matched at once
            shared = share(run, tmp_path, account_id, [sub_lessee_body("r-1", "viktorsokolov@gmail.com"),
                                                       sub_lessee_body("r-2", "v.sokolov@sokolov-family.example")])
            # a customer holding the wallet signs up: matched in the signup's transaction
            body = {**person("Lena", "Vogt", email="lena.vogt@vogt.example", phone="+4930111222",
                             card=None, wallet=WALLET, national_id="T55000123"),
                    "account": {"type": "standard", "channel": "self_serve"}, "signup_ip": "198.51.100.4",
                    "notice_version": "notice-2024-01"}
            body["national_id"]["kind"] = "id_card"
            signup = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"]))
            assert signup.status_code == 201, signup.text
            other = client.post("/v1/applications", json={
                **body, "email": "otto.lind@lind.example", "phone": "+4930333444",
                "national_id": {**body["national_id"], "number": "T55000999"},
                "payment_means": [{"type": "crypto_wallet", "currency": "ETH",
                                   "address": "0x0000000000000000000000000000000000000001"}]},
                headers=auth(keys["signup-service"]))
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
    _run, services, account_id, keys = reseller_deployment(tmp_path, database_url)
    try:
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            body = {**person("Viktor", "Sokolov", email="viktor.sokolov@gmail.com"),
                    "account": {"type": "standard", "channel": "self_serve"}, "signup_ip": "198.51.100.4",
                    "notice_version": "notice-2024-01"}
            body["national_id"]["kind"] = "id_card"
            first = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"])).json()
            closed = client.post(f"/v1/accounts/{first['account_id']}/close", headers=auth(keys["signup-service"]))
            assert closed.status_code == 200, closed.text
            # the reseller shares the same mailbox under another spelling, and someone unrelated
            shared = client.post(f"/v1/resellers/{account_id}/sub-lessees",
                                 json=[sub_lessee_body("r-1", "Viktor.Sokolov+cloud@googlemail.com"),
                                       sub_lessee_body("r-2", "mira.holm@holm.example")],
                                 headers=auth(keys["signup-service"]))
            assert shared.status_code == 201, shared.text
            by_reference = {item["reference"]: item for item in shared.json()["sub_lessees"]}
            signals = client.get(f"/v1/accounts/{account_id}/signals",
                                 headers={**auth(keys["analyst"]), "X-Access-Purpose": "sub-lessee link review"})
            assert signals.status_code == 200, signals.text
            links = client.get(f"/v1/customers/{first['customer_id']}/links", headers=auth(keys["analyst"])).json()
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
