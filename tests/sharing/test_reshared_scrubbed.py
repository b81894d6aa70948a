"""G3: what one peer contributed reaches another peer scrubbed (allowed properties only, at its TLP), as
stored once when it arrived; the provider's own people read it as it came."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloudcip.records.roles import create_api_key
from cloudcip.runtime import Services
from cloudcip.sharing.store import SharingStore
from cloudcip.sharing.taxii import MEDIA_TYPE

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
HEADERS = {"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}


def _peer(services: Services, store: SharingStore, name: str, collection: str) -> str:
    with services.database.engine.begin() as conn:
        key = create_api_key(conn, "peer", name, datetime.now(UTC))
        store.add_peer(conn, key.split("_")[1], name)
    store.grant(key.split("_")[1], collection, read=True, write=True)
    return key


@pytest.mark.requirement("G3")
def test_a_peers_object_reaches_another_peer_scrubbed(services: Services, client: TestClient,
                                                      keys: dict[str, str]) -> None:
    store = SharingStore(services.database)
    collection = store.add_collection("abuse indicators")
    key_a = _peer(services, store, "Peer Cloud A", collection)
    key_b = _peer(services, store, "Peer Cloud B", collection)
    posted: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": "indicator--5e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-04-01T00:00:00.000Z", "modified": "2026-04-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '192.0.2.66']", "pattern_type": "stix", "valid_from": "2026-04-01T00:00:00Z",
        "x_contact_email": "jonas.keller@keller-hosting.example", "object_marking_refs": [GREEN]}
    url = f"/taxii2/api1/collections/{collection}/objects/"
    answer = client.post(url, content=json.dumps({"objects": [posted]}), headers=HEADERS, auth=("peer", key_b))
    assert answer.status_code == 202, answer.text

    def served(**auth: Any) -> dict[str, Any]:
        page = client.get(url, **{"headers": {"Accept": MEDIA_TYPE}, **auth})
        assert page.status_code == 200, page.text
        [item] = page.json()["objects"]
        found: dict[str, Any] = item
        return found

    to_a = served(auth=("peer", key_a))
    assert to_a["pattern"] == posted["pattern"] and "x_contact_email" not in to_a
    assert "keller" not in json.dumps(to_a)
    analyst = served(headers={"Accept": MEDIA_TYPE, "Authorization": f"Bearer {keys['analyst']}"})
    assert analyst["x_contact_email"] == posted["x_contact_email"]
