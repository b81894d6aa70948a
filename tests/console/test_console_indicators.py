"""The shared-indicators pages through HTTP (G3, B3, B4): our own indicators and our peers' listed with
source, TLP, pattern type, window and match count, filtered and paged by "Next"; a peer's indicator
shows its matches masked only after a stated purpose, on the ledger; TLP:RED is shown to the compliance
officer only (an analyst neither sees it listed nor opens it)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.console.seed import Seeded, csrf_of

from cloudcip.ledger.schema import ledger_entry
from cloudcip.records.roles import create_api_key
from cloudcip.runtime import Services
from cloudcip.sharing.store import SharingStore
from cloudcip.sharing.taxii import MEDIA_TYPE
from cloudcip.sharing.tlp import TLP2_IDS

PEER = "Peer Cloud B"


def indicator(pattern: str, tlp: str) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z", "pattern": pattern,
            "pattern_type": "stix", "valid_from": "2026-03-01T00:00:00Z", "object_marking_refs": [TLP2_IDS[tlp]]}  # type: ignore[index]


def _peer_posts(client: TestClient, services: Services, objects: list[dict[str, Any]]) -> None:
    store = SharingStore(services.database)
    collection = store.add_collection("abuse indicators")
    with services.database.engine.begin() as conn:
        key = create_api_key(conn, "peer", PEER, datetime.now(UTC))
        store.add_peer(conn, key.split("_")[1], PEER)
    store.grant(key.split("_")[1], collection, read=True, write=True)
    posted = client.post(f"/taxii2/api1/collections/{collection}/objects/", content=json.dumps({"objects": objects}),
                         headers={"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}, auth=("peer", key))
    assert posted.status_code == 202, posted.text


def _own(services: Services, objects: list[dict[str, Any]]) -> None:
    """Indicators we published (what ``cloudcip sharing publish`` stores: source ``local``)."""
    store = SharingStore(services.database)
    collection = store.add_collection("our indicators")
    with services.database.engine.begin() as conn:
        store.add_objects(conn, collection, objects, source="local", tlp_of={o["id"]: "green" for o in objects})


def _ids(html: str) -> list[str]:
    return re.findall(r'data-matches="(indicator--[0-9a-f\-]+)"', html)


@pytest.mark.requirement("G3", "B3", "B4")
def test_indicators_listed_filtered_paged_and_their_matches_read_with_a_purpose(
        as_person: Callable[[str], TestClient], app_client: TestClient, seeded: Seeded, services: Services) -> None:
    matched = indicator("[email-addr:value = 'customer1@example.de']", "amber")
    red = indicator("[email-addr:value = 'customer2@example.de']", "red")
    many = [indicator(f"[ipv4-addr:value = '198.51.100.{i}']", "green") for i in range(60)]
    _peer_posts(app_client, services, [matched, red, *many])
    own = indicator("[ipv4-addr:value = '203.0.113.9']", "green")
    _own(services, [own])
    ana, carol = as_person("ana"), as_person("carol")

    first = ana.get("/console/indicators")
    assert first.status_code == 200
    # "Next" to the end: every indicator the analyst may see once, in order, none twice
    seen, page, texts = _ids(first.text), first, [first.text]
    while 'rel="next"' in page.text:
        link = re.search(r'rel="next" href="([^"]+)"', page.text)
        assert link
        page = ana.get(link.group(1).replace("&amp;", "&"))
        assert page.status_code == 200
        seen += _ids(page.text)
        texts.append(page.text)
    assert len(seen) == len(set(seen)) == 62 and set(seen) == {matched["id"], own["id"], *(m["id"] for m in many)}
    assert seen[0] == own["id"]  # newest first: ours was stored after the peer's batch
    listed = "".join(texts)
    assert f'data-matches="{matched["id"]}">1<' in listed  # one customer holds the mailbox
    assert red["id"] not in listed  # TLP:RED: not for an analyst
    assert _ids(carol.get("/console/indicators?tlp=red").text) == [red["id"]]  # the officer sees it
    # filters: own only, one peer's amber only; a TLP that is none answers 422 naming it
    assert _ids(ana.get("/console/indicators?source=local").text) == [own["id"]]
    assert _ids(ana.get(f"/console/indicators?source={PEER}&tlp=amber").text) == [matched["id"]]
    refused = ana.get("/console/indicators?tlp=purple")
    assert refused.status_code == 422 and "tlp" in refused.text

    # one indicator: its matches only after a stated purpose, masked, the read on the ledger
    url = f"/console/indicators/{matched['id']}?source={PEER.replace(' ', '%20')}"
    shown = ana.get(url)
    assert shown.status_code == 200 and 'id="matches"' not in shown.text and 'name="purpose"' in shown.text
    customer = seeded.customers[1]
    assert customer not in shown.text
    stated = ana.post(f"/console/indicators/{matched['id']}/purpose?source={PEER}",
                      data={"csrf_token": csrf_of(shown.text), "purpose": "adjudicate the peer's match"})
    assert stated.status_code == 303
    opened = ana.get(url)
    assert 'id="matches"' in opened.text and f"…{customer[-4:]}" in opened.text
    assert f'href="/console/accounts/{customer}"' in opened.text  # unmasked only on the account page
    with services.database.engine.connect() as conn:
        entries = conn.execute(select(ledger_entry.c.actor, ledger_entry.c.record_id, ledger_entry.c.purpose)
                               .where(ledger_entry.c.action == "read_matches")).all()
    assert [(e.record_id, e.purpose) for e in entries] == [(f"{PEER}/{matched['id']}", "adjudicate the peer's match")]
    # TLP:RED: the analyst gets a 404 page, the officer the indicator
    red_url = f"/console/indicators/{red['id']}?source={PEER}"
    assert ana.get(red_url).status_code == 404
    assert carol.get(red_url).status_code == 200
    # our own: its pattern, no matches section
    mine = ana.get(f"/console/indicators/{own['id']}?source=local")
    assert mine.status_code == 200 and "203.0.113.9" in mine.text and 'name="purpose"' not in mine.text
