"""E2, G1, G3: a sub-lessee's crypto wallet, as a customer's: checked (a bad address is a 422 naming the
field, never echoed), sealed, shown masked, linked by its blind index (a wallet of a closed customer is a
strong link for a person's review) and matched against the wallet indicators peers shared."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.sharing.builders import person
from tests.sharing.deployment import auth, indicator, peer_collection, reseller_deployment, sub_lessee_body

from cloudcip.api.app import create_app
from cloudcip.resellers.schema import sub_lessee
from cloudcip.sharing.taxii import MEDIA_TYPE

CLOSED_WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"  # a closed customer's
PEER_WALLET = "0xde709f2102306220921060314715629080e2fb77"  # named by a peer's indicator


@pytest.mark.requirement("E2", "G1", "G3")
def test_a_sub_lessee_wallet_is_checked_sealed_masked_linked_and_matched(tmp_path: Path, database_url: str) -> None:
    run, services, account_id, keys = reseller_deployment(tmp_path, database_url)
    try:
        collection, peer_key = peer_collection(services)
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            posted = client.post(f"/taxii2/api1/collections/{collection}/objects/", content=json.dumps(
                {"objects": [indicator(f"[x-cloudcip-crypto-wallet:address = '{PEER_WALLET}']")]}),
                headers={"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}, auth=("peer", peer_key))
            assert posted.status_code == 202, posted.text
            body = {**person("Viktor", "Sokolov", email="viktor@sokolov.example", card=None, wallet=CLOSED_WALLET),
                    "account": {"type": "standard", "channel": "self_serve"}, "signup_ip": "198.51.100.4",
                    "notice_version": "notice-2024-01"}
            body["national_id"]["kind"] = "id_card"
            first = client.post("/v1/applications", json=body, headers=auth(keys["signup-service"])).json()
            closed = client.post(f"/v1/accounts/{first['account_id']}/close", headers=auth(keys["signup-service"]))
            assert closed.status_code == 200, closed.text

            url = f"/v1/resellers/{account_id}/sub-lessees"
            bad = client.post(url, json=[{**sub_lessee_body("r-0", "a@a.example"),
                                          "wallet": {"currency": "ETH", "address": "0x1234567890abcdef1234"}}],
                              headers=auth(keys["signup-service"]))
            assert bad.status_code == 422 and "0.wallet.address" in bad.text and "0x1234567890" not in bad.text
            shared = client.post(url, json=[
                {**sub_lessee_body("r-1", "v1@one.example"),
                 "wallet": {"currency": "ETH", "address": CLOSED_WALLET.lower()}},
                {**sub_lessee_body("r-2", "v2@two.example"), "wallet": {"currency": "ETH", "address": PEER_WALLET}},
                sub_lessee_body("r-3", "v3@three.example")], headers=auth(keys["signup-service"]))
            assert shared.status_code == 201, shared.text
            by_reference = {item["reference"]: item for item in shared.json()["sub_lessees"]}
            listed = client.get(url, headers={**auth(keys["analyst"]), "X-Access-Purpose": "sub-lessee review"})
            assert listed.status_code == 200, listed.text
    finally:
        with services.database.engine.connect() as conn:
            sealed = [bytes(value) for value in conn.execute(select(sub_lessee.c.wallet_sealed)).scalars() if value]
        services.close()
    # linked by the wallet's blind index (case aside), strongly, for a person: the closed customer's
    [link] = by_reference["r-1"]["links"]
    assert (link["kind"], link["strength"], link["review"]) == ("wallet", "strong", True)
    assert by_reference["r-2"]["links"] == [] and by_reference["r-3"]["links"] == []
    # matched against the peer's wallet indicator on arrival
    assert [by_reference[r]["indicator_matches"] for r in ("r-1", "r-2", "r-3")] == [0, 1, 0]
    matches = [json.loads(line) for line in run("sharing", "matches", "list").stdout.splitlines() if line.strip()]
    assert [(m["subject_type"], m["subject_id"], m["matched_on"]) for m in matches] == [
        ("sub_lessee", by_reference["r-2"]["id"], "wallet")]
    # sealed at rest, masked when read, never in an answer in full
    assert len(sealed) == 2 and not any(w.lower().encode() in s.lower() for s in sealed
                                        for w in (CLOSED_WALLET, PEER_WALLET))
    views = {view["reference"]: view for view in listed.json()["sub_lessees"]}
    assert views["r-2"]["wallet"]["currency"] == "ETH" and views["r-2"]["wallet"]["address"].endswith("fb77")
    assert views["r-3"]["wallet"] is None
    shown = json.dumps([shared.json(), listed.json(), matches]).lower()
    assert CLOSED_WALLET.lower() not in shown and PEER_WALLET.lower() not in shown
