"""G3: the TAXII 2.1 server at /taxii2/, driven by the OASIS ``taxii2-client`` over real HTTP (a
uvicorn server on a free port), and raw requests for what clients and servers often get wrong:
filters kept across pages, a changed filter refused, timestamps with and without fractions, the
date-added headers on every page, 406/415/413, per-object status, grants per peer key, TLP:RED only
to its named recipient."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
import pytest
import requests
import uvicorn
from taxii2client.v21 import Collection, Server, as_pages
from tests.sharing.builders import OFFICER, person, store_account

from cloudcip.api.app import create_app
from cloudcip.incidents.service import IncidentService
from cloudcip.records.roles import create_api_key
from cloudcip.runtime import Services
from cloudcip.sharing.envelope import check_objects
from cloudcip.sharing.export import export_incident
from cloudcip.sharing.store import SharingStore
from cloudcip.sharing.taxii import MEDIA_TYPE

HEADERS = {"Accept": MEDIA_TYPE}
# generous: the suite may share a busy machine
get = partial(httpx.get, timeout=120.0)
post = partial(httpx.post, timeout=120.0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(services: Services) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    for _ in range(200):
        if running.started:
            break
        time.sleep(0.05)  # waiting for the socket to listen, not for time to pass in the system under test
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def peer(services: Services, store: SharingStore, name: str) -> tuple[str, str]:
    with services.database.engine.begin() as conn:
        key = create_api_key(conn, "peer", name, datetime.now(UTC))
        store.add_peer(conn, key.split("_")[1], name)
    return key, key.split("_")[1]


def publish(services: Services, store: SharingStore, collection: str, level: str, recipient: str | None = None,
            ip: str = "203.0.113.7") -> list[dict[str, Any]]:
    _, account_id = store_account(services, person(email=f"x{ip.replace('.', '')}@nordwind-vps.example"),
                                  state="closed", accesses=[(ip, datetime(2026, 3, 1, 10, tzinfo=UTC))])
    incidents = IncidentService(services.database, services.ledger, services.customers)
    report = incidents.create(account_id, "botnet controller", OFFICER)
    objects: list[dict[str, Any]] = json.loads(export_incident(incidents, report.id, level, OFFICER,  # type: ignore[arg-type]
                                                               provider_name="Example Cloud Inc."))["objects"]
    checked = check_objects(objects)
    with services.database.engine.begin() as conn:
        store.add_objects(conn, collection, checked.valid, source="local", tlp_of=checked.tlp_of, recipient=recipient)
    return objects


@pytest.mark.requirement("G3")
def test_taxii2_client_reads_pages_and_posts(services: Services, server: str) -> None:
    store = SharingStore(services.database)
    shared = store.add_collection("abuse indicators")
    private = store.add_collection("not for this peer")
    key, key_id = peer(services, store, "Peer Cloud A")
    store.grant(key_id, shared, read=True, write=True)
    objects = publish(services, store, shared, "green")
    publish(services, store, private, "green", ip="198.51.100.9")

    discovery = Server(f"{server}/taxii2/", user="peer", password=key)
    assert discovery.title == "cloudcip TAXII 2.1"
    [root] = discovery.api_roots
    assert root.versions == [MEDIA_TYPE]
    assert [c.id for c in root.collections] == [shared]  # only what the grants name
    collection = Collection(f"{server}/taxii2/api1/collections/{shared}/", user="peer", password=key)
    assert collection.can_read and collection.can_write
    seen: list[dict[str, Any]] = []
    for page in as_pages(collection.get_objects, per_request=3):
        seen += page.get("objects", [])
    assert sorted(o["id"] for o in seen) == sorted({o["id"] for o in objects})
    manifest = collection.get_manifest()
    assert {m["id"] for m in manifest["objects"]} == {o["id"] for o in objects}
    # a peer posts an envelope: one good indicator, one whose pattern does not parse
    good = {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2026-04-01T00:00:00.000Z", "modified": "2026-04-01T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '192.0.2.99']", "pattern_type": "stix",
            "valid_from": "2026-04-01T00:00:00Z", "object_marking_refs": [
                "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}  # TLP 1.0 GREEN
    bad = {**good, "id": "indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "pattern": "[ipv4-addr:value = "}
    status = collection.add_objects({"objects": [good, bad]})
    assert status.status == "complete" and status.success_count == 1 and status.failure_count == 1
    assert status.failures[0]["id"] == bad["id"] and "pattern" in status.failures[0]["message"]
    assert status.pending_count == 0
    versions = get(f"{server}/taxii2/api1/collections/{shared}/objects/{good['id']}/versions/",
                         headers=HEADERS, auth=("peer", key)).json()
    assert versions["versions"] == ["2026-04-01T00:00:00.000000Z"]
    forbidden = Collection(f"{server}/taxii2/api1/collections/{private}/", user="peer", password=key)
    with pytest.raises(requests.HTTPError) as refused:
        forbidden.get_objects()
    assert refused.value.response.status_code == 403
    assert refused.value.response.json()["http_status"] == "403"


@pytest.mark.requirement("G3")
def test_paging_filters_headers_and_media_types(services: Services, server: str) -> None:
    store = SharingStore(services.database)
    shared = store.add_collection("abuse indicators")
    key, key_id = peer(services, store, "Peer Cloud A")
    store.grant(key_id, shared, read=True, write=False)
    objects = publish(services, store, shared, "clear")
    url = f"{server}/taxii2/api1/collections/{shared}/objects/"
    auth = ("peer", key)
    first = get(url, params={"limit": 2, "match[type]": "indicator"}, headers=HEADERS, auth=auth)
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/taxii+json")
    body = first.json()
    assert body["more"] is True and all(o["type"] == "indicator" for o in body["objects"])
    assert first.headers["X-TAXII-Date-Added-First"].endswith("Z") and "." in first.headers["X-TAXII-Date-Added-Last"]
    # the next token keeps the filter: only indicators on the next page, even when the client omits it
    second = get(url, params={"next": body["next"], "limit": 2}, headers=HEADERS, auth=auth).json()
    assert all(o["type"] == "indicator" for o in second.get("objects", []))
    changed = get(url, params={"next": body["next"], "match[type]": "sighting"}, headers=HEADERS, auth=auth)
    assert changed.status_code == 400 and "filters changed" in changed.json()["description"]
    last_added = first.headers["X-TAXII-Date-Added-Last"]
    for after in (last_added, last_added.split(".")[0] + "Z", "2026-01-01T00:00:00+00:00"):
        answer = get(url, params={"added_after": after}, headers=HEADERS, auth=auth)
        assert answer.status_code == 200, after
    empty = get(url, params={"added_after": "2999-01-01T00:00:00.123456Z"}, headers=HEADERS, auth=auth)
    assert empty.json() == {"more": False}
    assert empty.headers["X-TAXII-Date-Added-First"] == "2999-01-01T00:00:00.123456Z"
    assert empty.headers["X-TAXII-Date-Added-Last"] == "2999-01-01T00:00:00.123456Z"
    assert get(url, params={"added_after": "yesterday"}, headers=HEADERS, auth=auth).status_code == 400
    assert get(url, headers={"Accept": "application/json"}, auth=auth).status_code == 406
    assert get(url, headers={"Accept": "application/taxii+json;version=2.0"}, auth=auth).status_code == 406
    posted = post(url, content=b'{"objects": []}', headers={**HEADERS, "Content-Type": "application/json"},
                        auth=auth)
    assert posted.status_code == 415
    huge = post(url, content=b"{" + b" " * 2_000_000 + b"}", headers={**HEADERS, "Content-Type": MEDIA_TYPE},
                      auth=auth)
    assert huge.status_code == 413
    # this key may read but not write
    refused = post(url, content=b'{"objects": []}', headers={**HEADERS, "Content-Type": MEDIA_TYPE}, auth=auth)
    assert refused.status_code == 403
    assert get(url, headers=HEADERS).status_code == 401
    assert len(objects) > 4


@pytest.mark.requirement("G3")
def test_red_goes_only_to_its_named_recipient_and_amber_from_a_peer_is_not_reshared(services: Services,
                                                                                    server: str) -> None:
    store = SharingStore(services.database)
    shared = store.add_collection("abuse indicators")
    key_a, id_a = peer(services, store, "Peer Cloud A")
    key_b, id_b = peer(services, store, "Peer Cloud B")
    for key_id in (id_a, id_b):
        store.grant(key_id, shared, read=True, write=True)
    publish(services, store, shared, "red", recipient="Peer Cloud A")
    amber = {"type": "indicator", "spec_version": "2.1", "id": "indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
             "created": "2026-04-01T00:00:00.000Z", "modified": "2026-04-01T00:00:00.000Z",
             "pattern": "[ipv4-addr:value = '192.0.2.55']", "pattern_type": "stix",
             "valid_from": "2026-04-01T00:00:00Z",
             "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]}
    posted = post(f"{server}/taxii2/api1/collections/{shared}/objects/", content=json.dumps({"objects": [amber]}),
                        headers={**HEADERS, "Content-Type": MEDIA_TYPE}, auth=("peer", key_b))
    assert posted.status_code == 202 and posted.json()["success_count"] == 1

    def indicators(key: str) -> set[str]:
        page = get(f"{server}/taxii2/api1/collections/{shared}/objects/", params={"match[type]": "indicator"},
                         headers=HEADERS, auth=("peer", key)).json()
        return {o["pattern"] for o in page.get("objects", [])}

    assert "[ipv4-addr:value = '203.0.113.7']" in indicators(key_a)
    assert "[ipv4-addr:value = '203.0.113.7']" not in indicators(key_b)
    assert "[ipv4-addr:value = '192.0.2.55']" not in indicators(key_a)  # B's AMBER is not re-shared to A
    assert "[ipv4-addr:value = '192.0.2.55']" in indicators(key_b)  # B sees its own
    status = get(f"{server}/taxii2/api1/status/{posted.json()['id']}/", headers=HEADERS,
                       auth=("peer", key_a))
    assert status.status_code == 404  # a peer sees only its own POSTs' statuses


@pytest.mark.requirement("G3")
def test_an_indicator_posted_by_a_peer_flags_the_account_for_a_person(services: Services, server: str) -> None:
    store = SharingStore(services.database)
    shared = store.add_collection("abuse indicators")
    key, key_id = peer(services, store, "Peer Cloud B")
    store.grant(key_id, shared, read=True, write=True)
    _, flagged = store_account(services, person(), accesses=[("203.0.113.77", datetime(2026, 3, 10, tzinfo=UTC))])
    _, later = store_account(services, person(card=None), accesses=[("203.0.113.77", datetime(2027, 3, 10,
                                                                                              tzinfo=UTC))])
    posted = {"type": "indicator", "spec_version": "2.1", "id": "indicator--2e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
              "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
              "pattern": "[ipv4-addr:value = '203.0.113.77']", "pattern_type": "stix",
              "valid_from": "2026-03-01T00:00:00Z", "valid_until": "2026-04-01T00:00:00Z",
              "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}
    url = f"{server}/taxii2/api1/collections/{shared}/objects/"
    answer = post(url, content=json.dumps({"objects": [posted]}),
                        headers={**HEADERS, "Content-Type": MEDIA_TYPE}, auth=("peer", key))
    assert answer.status_code == 202
    with services.database.engine.begin() as conn:
        analyst = create_api_key(conn, "analyst", "t", datetime.now(UTC))
        signup = create_api_key(conn, "signup-service", "t", datetime.now(UTC))
    listed = get(f"{server}/v1/sharing/matches", headers={"Authorization": f"Bearer {analyst}"}).json()
    assert [(m["subject_type"], m["subject_id"], m["source"], m["tlp"]) for m in listed] == [
        ("account", flagged, "Peer Cloud B", "green")]
    assert later not in json.dumps(listed)
    assert get(f"{server}/v1/sharing/matches", headers={"Authorization": f"Bearer {signup}"}).status_code == 403
    decided = post(f"{server}/v1/sharing/matches/{listed[0]['id']}/decision",
                         json={"decision": "false_positive", "reason": "shared office NAT"},
                         headers={"Authorization": f"Bearer {analyst}"})
    assert decided.status_code == 200 and decided.json()["state"] == "false_positive"
    bad = post(f"{server}/v1/sharing/matches/{listed[0]['id']}/decision", json={"decision": "maybe",
                     "reason": "x"}, headers={"Authorization": f"Bearer {analyst}"})
    assert bad.status_code == 422 and "decision" in bad.text
    # a malformed envelope is refused whole with a TAXII error object
    broken = post(f"{server}/taxii2/api1/collections/{shared}/objects/", content=b'{"objects": 5}',
                        headers={**HEADERS, "Content-Type": MEDIA_TYPE}, auth=("peer", key))
    assert broken.status_code == 400 and broken.json()["http_status"] == "400"
    assert "objects" in broken.json()["description"]
