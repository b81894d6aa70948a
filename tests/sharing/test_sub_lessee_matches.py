"""G3 for sub-lessees: an indicator a peer shares is matched against the sub-lessees of Reseller Accounts
where they carry the identifier it names (their e-mail address, through the linkage graph's blind
indexes), and the match waits for a person like any other; a sub-lessee with another address is not
flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.sharing.deployment import indicator, peer_collection, reseller_deployment

from cloudcip.api.app import create_app
from cloudcip.sharing.taxii import MEDIA_TYPE


@pytest.mark.requirement("G3", "E2")
@pytest.mark.control("sharing.indicators_matched")
def test_a_shared_email_indicator_flags_the_sub_lessee_that_carries_it(tmp_path: Path, database_url: str) -> None:
    run, services, account_id, _keys = reseller_deployment(tmp_path, database_url)
    try:
        shared = tmp_path / "sub-lessees.json"
        shared.write_text(json.dumps([
            {"reference": "r-1", "kind": "person", "name": {"given": "Viktor", "family": "Sokolov"}, "country": "DE",
             "email": "viktorsokolov@gmail.com"},
            {"reference": "r-2", "kind": "person", "name": {"given": "Mira", "family": "Holm"}, "country": "DE",
             "email": "mira.holm@holm.example"}]))
        run("resellers", "sub-lessees", "add", account_id, str(shared))
        run("links", "backfill")  # what serve does every 15 minutes: the sub-lessees join the graph
        collection, key = peer_collection(services)
        # the peer writes the address as it saw it: another spelling of the same mailbox
        posted = indicator("[email-addr:value = 'Viktor.Sokolov+abuse@gmail.com']")
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            answer = client.post(f"/taxii2/api1/collections/{collection}/objects/",
                                 content=json.dumps({"objects": [posted]}),
                                 headers={"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}, auth=("peer", key))
        assert answer.status_code == 202, answer.text
    finally:
        services.close()
    listed = [json.loads(line) for line in run("sharing", "matches", "list").stdout.splitlines() if line.strip()]
    assert [(m["subject_type"], m["matched_on"], m["indicator_id"], m["state"]) for m in listed] == [
        ("sub_lessee", "email", posted["id"], "open")]
    assert "viktor" not in json.dumps(listed).lower()  # the match names the subject, never the address
    decided = json.loads(run("sharing", "matches", "decide", listed[0]["id"], "--decision", "confirmed",
                             "--reason", "same mailbox as the peer's abuse report").stdout)
    assert decided["state"] == "confirmed"
