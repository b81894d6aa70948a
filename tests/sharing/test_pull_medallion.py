"""G3: ``cloudcip sharing pull`` against the OASIS reference TAXII 2.1 server ``medallion`` (memory
back-end, started here on a free port): an indicator a peer published flags the account that used
the address within the indicator's window and not the one that used it a year later; a wallet
indicator flags the customer holding it (through the blind index); a second pull takes only what
was added since; a person adjudicates the match."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from taxii2client.v21 import Collection
from tests.sharing.builders import person, store_account
from typer.testing import CliRunner
from werkzeug.serving import make_server

from cloudcip.cli.main import app
from cloudcip.runtime import open_services
from cloudcip.settings import Settings

COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"
_medallion: dict[str, Any] = {}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _data(base: str) -> dict[str, Any]:
    return {
        "/discovery": {"title": "peer", "default": f"{base}/api1/", "api_roots": [f"{base}/api1/"]},
        "api1": {"information": {"title": "peer", "versions": ["application/taxii+json;version=2.1"],
                                 "max_content_length": 10_000_000},
                 "status": [],
                 "collections": [{"id": COLLECTION, "title": "abuse", "can_read": True, "can_write": True,
                                  "media_types": ["application/stix+json;version=2.1"], "objects": [],
                                  "manifest": []}]},
    }


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[str]:
    """The reference server, started once per process (its Flask app is a module global); each test
    gets a fresh memory back-end."""
    import medallion as reference

    if "server" not in _medallion:
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        data_file = tmp_path / "medallion-data.json"
        data_file.write_text(json.dumps(_data(base)))
        config = tmp_path / "medallion.json"
        config.write_text(json.dumps({"backend": {"module": "medallion.backends.memory_backend",
                                                  "module_class": "MemoryBackend", "filename": str(data_file)},
                                      "users": {"cloudcip": "peer-secret"}, "taxii": {"max_page_size": 100}}))
        flask_app = reference.load_app(str(config))
        server = make_server("127.0.0.1", port, flask_app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        _medallion.update(server=server, base=base, app=flask_app)
    data_file = tmp_path / "medallion-fresh.json"
    data_file.write_text(json.dumps(_data(_medallion["base"])))
    reference.set_config(_medallion["app"], "backend", {"backend": {
        "module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": str(data_file)}})
    yield f"{_medallion['base']}/api1/collections/{COLLECTION}/"


def indicator(number: int, pattern: str, valid_from: str, valid_until: str, marking: str) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--0000000{number}-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "pattern": pattern,
            "pattern_type": "stix", "valid_from": valid_from, "valid_until": valid_until,
            "object_marking_refs": [marking]}


@pytest.mark.requirement("G3")
@pytest.mark.control("sharing.indicators_matched")
def test_pull_from_medallion_flags_the_account_in_the_window_only(tmp_path: Path, database_url: str,
                                                                  medallion: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args],
                               env={"CLOUDCIP_DATABASE_URL": database_url, "PEER_SECRET": "peer-secret"})
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    run("init")
    services = open_services(Settings(data_dir=data_dir, database_url=database_url))
    try:
        _, in_window = store_account(services, person(email="a@one.example"),
                                     accesses=[("203.0.113.50", datetime(2026, 1, 15, 9, tzinfo=UTC))])
        _, year_later = store_account(services, person(email="b@two.example", card=None),
                                      accesses=[("203.0.113.50", datetime(2027, 1, 15, 9, tzinfo=UTC))])
        wallet_customer, _ = store_account(services, person(email="c@three.example", card=None, wallet=WALLET))
    finally:
        services.close()
    peer = Collection(medallion, user="cloudcip", password="peer-secret")
    status = peer.add_objects({"objects": [
        indicator(1, "[ipv4-addr:value ISSUBSET '203.0.113.0/24']", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z",
                  "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"),  # TLP 2.0 GREEN
        indicator(2, f"[x-cloudcip-crypto-wallet:address = '{WALLET}']", "2026-01-01T00:00:00Z",
                  "2027-01-01T00:00:00Z", "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),  # TLP 1.0 WHITE
    ]})
    assert status.success_count == 2
    pulled = json.loads(run("sharing", "pull", "--url", medallion, "--peer", "Peer Cloud B", "--user", "cloudcip",
                            "--password-env", "PEER_SECRET").stdout.splitlines()[-1])
    assert (pulled["objects"], pulled["indicators"], pulled["matches"]) == (2, 2, 2)
    assert pulled["added_after"]
    matches = [json.loads(line) for line in run("sharing", "matches", "list").stdout.splitlines()]
    flagged = {(m["subject_type"], m["subject_id"], m["matched_on"]) for m in matches}
    assert flagged == {("account", in_window, "access_ip"), ("customer", wallet_customer, "wallet")}
    assert all(m["source"] == "Peer Cloud B" for m in matches)
    assert {m["tlp"] for m in matches} == {"green", "clear"}  # TLP 1.0 WHITE taken as CLEAR
    assert year_later not in {m["subject_id"] for m in matches}
    # the next pull takes only what was added since: nothing new, no duplicate match
    again = json.loads(run("sharing", "pull", "--url", medallion, "--peer", "Peer Cloud B", "--user", "cloudcip",
                           "--password-env", "PEER_SECRET").stdout.splitlines()[-1])
    assert again["matches"] == 0 and again["objects"] == 0
    [account_match] = [m for m in matches if m["subject_type"] == "account"]
    decided = json.loads(run("sharing", "matches", "decide", account_match["id"], "--decision", "confirmed",
                             "--reason", "same controller traffic in our flow logs").stdout)
    assert decided["state"] == "confirmed"
    run("sharing", "matches", "decide", account_match["id"], "--decision", "confirmed", "--reason", "again", code=5)
    monkeypatch.delenv("PEER_SECRET", raising=False)
    run("sharing", "pull", "--url", "http://127.0.0.1:9/nothing/", "--peer", "Nobody", code=7)
