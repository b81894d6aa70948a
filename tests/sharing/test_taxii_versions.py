"""G3: versions of one object kept apart in a TAXII collection, however they arrive (several in one
envelope, an older one after a newer, one posted twice): ``versions/`` lists each once (in the order
they were added), and ``match[version]`` ``first``, ``last``, ``all`` or a timestamp pick the right ones.

| envelope | versions in it (modified)           | stored versions after it          | first / last |
|----------|-------------------------------------|-----------------------------------|--------------|
| 1        | 2026-03-01, 2026-02-01 (older after)| 02-01, 03-01                      | 02-01 / 03-01|
| 2        | 2026-04-01, 2026-03-01 (again), 2026-01-01 | 01-01, 02-01, 03-01, 04-01 | 01-01 / 04-01|
"""

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

OBJECT_ID = "indicator--3e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
OTHER_ID = "indicator--4e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
HEADERS = {"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}


def version(object_id: str, modified: str) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": object_id, "created": "2026-01-01T00:00:00.000Z",
            "modified": f"{modified}T00:00:00.000Z", "pattern": "[ipv4-addr:value = '203.0.113.5']",
            "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"}


@pytest.mark.requirement("G3")
def test_versions_arriving_in_any_order_are_kept_apart(services: Services, client: TestClient) -> None:
    collection = SharingStore(services.database).add_collection("versions")
    with services.database.engine.begin() as conn:
        key = create_api_key(conn, "compliance-officer", "test", datetime.now(UTC))
    auth = {"Authorization": f"Bearer {key}", **HEADERS}
    url = f"/taxii2/api1/collections/{collection}/objects/"

    def stored(**params: str) -> list[str]:
        answer = client.get(f"{url}{OBJECT_ID}/", params=params, headers=auth)
        assert answer.status_code == 200, answer.text
        return sorted(item["modified"][:10] for item in answer.json()["objects"])

    def post(*objects: dict[str, Any]) -> dict[str, Any]:
        answer = client.post(url, content=json.dumps({"objects": list(objects)}), headers=auth)
        assert answer.status_code == 202, answer.text
        status: dict[str, Any] = answer.json()
        return status

    post(version(OBJECT_ID, "2026-03-01"), version(OBJECT_ID, "2026-02-01"), version(OTHER_ID, "2026-05-01"))
    assert stored(**{"match[version]": "all"}) == ["2026-02-01", "2026-03-01"]
    assert (stored(**{"match[version]": "first"}), stored()) == (["2026-02-01"], ["2026-03-01"])  # last: default

    again = post(version(OBJECT_ID, "2026-04-01"), version(OBJECT_ID, "2026-03-01"), version(OBJECT_ID, "2026-01-01"))
    assert again["success_count"] == 3 and again["failure_count"] == 0
    listed = client.get(f"{url}{OBJECT_ID}/versions/", headers=auth).json()["versions"]
    assert sorted(v[:10] for v in listed) == ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"]  # 03-01 once
    assert stored(**{"match[version]": "first"}) == ["2026-01-01"]
    assert stored(**{"match[version]": "last"}) == ["2026-04-01"]
    assert stored(**{"match[version]": "first,last"}) == ["2026-01-01", "2026-04-01"]
    assert stored(**{"match[version]": "2026-02-01T00:00:00Z"}) == ["2026-02-01"]
    # the other object kept its own flags
    other = client.get(f"{url}{OTHER_ID}/", params={"match[version]": "first"}, headers=auth).json()["objects"]
    assert [item["modified"][:10] for item in other] == ["2026-05-01"]
