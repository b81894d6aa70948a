"""G1, B1: a purged customer's identifiers leave the link graph, and the cluster it held together splits
in the purge's own transaction (no ``links rebuild`` needed), through the administrator's purge.

A chain of five customers, each sharing one strong identifier with the next:
A -card- B -phone- C -national id- D -e-mail- E.

| purged | what is left                         | clusters                                        |
|--------|--------------------------------------|-------------------------------------------------|
| A      | B-C-D-E still joined                 | one, the same id                                |
| C      | B alone; D-E joined                  | two: D-E keep the id (the larger), B a new one  |
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.linkage.test_linkage import signup
from tests.sharing.builders import person

from cloudcip.linkage.service import LinkageService
from cloudcip.runtime import Services

ADMIN_PURPOSE = {"X-Access-Purpose": "deletion ordered by a court"}


def _auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **{name.replace("_", "-"): value for name, value in extra.items()}}


def _purge(client: TestClient, keys: dict[str, str], customer_id: str) -> None:
    order = client.post("/v1/legal/processes", json={
        "kind": "court_order", "authority": "U.S. District Court", "reference": "1:26-cv-78",
        "customers": [customer_id]}, headers=_auth(keys["legal"]))
    assert order.status_code == 201, order.text
    purged = client.delete(f"/v1/customers/{customer_id}",
                           headers=_auth(keys["admin"], X_Legal_Basis=order.json()["id"], **ADMIN_PURPOSE))
    assert purged.status_code == 204, purged.text


def _cluster_of(client: TestClient, keys: dict[str, str], customer_id: str) -> str:
    answer = client.get(f"/v1/customers/{customer_id}/links", headers=_auth(keys["analyst"]))
    assert answer.status_code == 200, answer.text
    cluster_id: str = answer.json()["cluster_id"]
    return cluster_id


def _members(client: TestClient, keys: dict[str, str], cluster_id: str) -> set[str]:
    answer = client.get(f"/v1/clusters/{cluster_id}", headers=_auth(keys["analyst"]))
    assert answer.status_code == 200, answer.text
    return {member["customer_id"] for member in answer.json()["members"]}


@pytest.mark.requirement("G1", "B1")
def test_a_purge_splits_the_cluster_its_record_held_together(services: Services, client: TestClient,
                                                             keys: dict[str, str]) -> None:
    linkage = LinkageService(services.database, services.keyring, services.ledger)
    chain: list[dict[str, Any]] = [
        person("Anna", "Ahl", email="a@a.example", card="4111111111111111", phone="+4930100001", national_id="T100"),
        person("Bo", "Berg", email="b@b.example", card="4111111111111111", phone="+4930100002", national_id="T200"),
        person("Cai", "Cole", email="c@c.example", card="5555555555554444", phone="+4930100002", national_id="T300"),
        person("Dana", "Dahl", email="d@d.example", card="4000056655665556", phone="+4930100004", national_id="T300"),
        person("Eli", "Ek", email="d@d.example", card="378282246310005", phone="+4930100005", national_id="T500"),
    ]
    a, b, c, d, e = (signup(services, linkage, body)[0] for body in chain)
    cluster = _cluster_of(client, keys, a)
    assert _members(client, keys, cluster) == {a, b, c, d, e}

    _purge(client, keys, a)  # a leaf: the rest stays one cluster, under the same id
    assert {_cluster_of(client, keys, x) for x in (b, c, d, e)} == {cluster}
    assert _members(client, keys, cluster) == {b, c, d, e}

    _purge(client, keys, c)  # the bridge: B on its own, D and E (the larger) keep the cluster's id
    assert _cluster_of(client, keys, d) == _cluster_of(client, keys, e) == cluster
    assert _members(client, keys, cluster) == {d, e}
    alone = _cluster_of(client, keys, b)
    assert alone != cluster and _members(client, keys, alone) == {b}
    explained = client.post("/v1/links/explain", json={"first": b, "second": d}, headers=_auth(keys["analyst"]))
    assert explained.status_code == 200 and explained.json()["linked"] is False
