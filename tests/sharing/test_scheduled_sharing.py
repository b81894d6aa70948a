"""G3: ``cloudcip serve``'s sharing jobs, at the periods of the settings, driven by the job runner's
injected clock (never by sleeping):

- ``sharing-rematch`` matches a stored peer indicator against access events that arrived after it
  (inside its window: flagged; the same address a year later: not), and not before it is due again;
- ``sharing-pull`` is scheduled only when peers are configured, at ``sharing_pull_every_seconds``.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.sharing.deployment import GREEN, peer_collection

from cloudcip.cli.sharing import scheduled_tasks
from cloudcip.jobs.runner import JobRunner
from cloudcip.runtime import Services
from cloudcip.sharing.taxii import MEDIA_TYPE

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _event(event_id: str, account: str, ip: str, when: datetime) -> dict[str, str]:
    return {"id": event_id, "account_id": account, "principal": "user:1", "ip": ip, "action": "console.login",
            "kind": "access", "time": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _matches(client: TestClient, keys: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get("/v1/sharing/matches", headers={"Authorization": f"Bearer {keys['analyst']}"})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


@pytest.mark.requirement("G3")
def test_serve_rematches_stored_indicators_against_new_access_events_on_schedule(
        services: Services, client: TestClient, keys: dict[str, str]) -> None:
    collection, peer_key = peer_collection(services)
    indicator = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                 "created": "2026-05-01T00:00:00.000Z", "modified": "2026-05-01T00:00:00.000Z",
                 "pattern": "[ipv4-addr:value ISSUBSET '203.0.113.0/28']", "pattern_type": "stix",
                 "valid_from": "2026-05-01T00:00:00Z", "valid_until": "2026-07-01T00:00:00Z",
                 "object_marking_refs": [GREEN]}
    posted = client.post(f"/taxii2/api1/collections/{collection}/objects/",
                         content=json.dumps({"objects": [indicator]}),
                         headers={"Accept": MEDIA_TYPE, "Content-Type": MEDIA_TYPE}, auth=("peer", peer_key))
    assert posted.status_code == 202, posted.text
    assert _matches(client, keys) == []  # no one used the network yet

    # events arrive after the indicator: one inside its window, one from the same address a year later
    ingest = {"Authorization": f"Bearer {keys['event-ingest']}"}
    stored = client.post("/v1/access-events", headers=ingest, content=json.dumps([
        _event("e-1", "acct-inside", "203.0.113.7", datetime(2026, 6, 15, 9, tzinfo=UTC)),
        _event("e-2", "acct-later", "203.0.113.7", datetime(2027, 6, 15, 9, tzinfo=UTC))]))
    assert stored.status_code == 200, stored.text

    settings = dataclasses.replace(services.settings, sharing_rematch_every_seconds=1800.0)
    runner = JobRunner(dataclasses.replace(services, settings=settings), scheduled_tasks(
        dataclasses.replace(services, settings=settings)))
    assert [task.name for task in runner.tasks] == ["sharing-rematch"]  # no peers configured: no pull
    [outcome] = runner.run_once(T0)
    assert outcome.ok and outcome.result == {"indicators": 1, "new_matches": 1}
    [match] = _matches(client, keys)
    assert (match["subject_type"], match["subject_id"], match["matched_on"], match["indicator_id"]) == (
        "account", "acct-inside", "access_ip", indicator["id"])

    # the same event again and a new one inside the window: not due before the period is over, then found
    client.post("/v1/access-events", headers=ingest, content=json.dumps([
        _event("e-3", "acct-second", "203.0.113.9", datetime(2026, 6, 20, 9, tzinfo=UTC))]))
    assert runner.run_once(T0 + timedelta(seconds=1799)) == []
    [outcome] = runner.run_once(T0 + timedelta(seconds=1800))
    assert outcome.ok and outcome.result == {"indicators": 1, "new_matches": 1}
    assert sorted(m["subject_id"] for m in _matches(client, keys)) == ["acct-inside", "acct-second"]


@pytest.mark.requirement("G3")
def test_serve_pulls_from_configured_peers_at_the_configured_period(services: Services, tmp_path: Path) -> None:
    peers = tmp_path / "peers.json"
    peers.write_text("peers: []\n")
    configured = dataclasses.replace(services.settings, sharing_peers_path=peers, sharing_pull_every_seconds=600.0,
                                     sharing_rematch_every_seconds=7200.0)
    tasks = scheduled_tasks(dataclasses.replace(services, settings=configured))
    assert [(task.name, task.every_seconds) for task in tasks] == [("sharing-pull", 600.0),
                                                                   ("sharing-rematch", 7200.0)]
    runner = JobRunner(dataclasses.replace(services, settings=configured), tasks)
    assert [(o.name, o.ok, o.result) for o in runner.run_once(T0)] == [
        ("sharing-pull", True, []), ("sharing-rematch", True, {"indicators": 0, "new_matches": 0})]
    assert runner.run_once(T0 + timedelta(seconds=599)) == []
    assert [o.name for o in runner.run_once(T0 + timedelta(seconds=600))] == ["sharing-pull"]


@pytest.mark.requirement("G3")
@pytest.mark.parametrize(("value", "expected"), [
    (None, 3600.0), ("7200", 7200.0), ("60", 60.0),
    ("30", "at least 60 seconds"), ("hourly", "a number of seconds"),
])
def test_the_rematch_period_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       value: str | None, expected: float | str) -> None:
    from cloudcip.settings import load_settings

    if value is None:
        monkeypatch.delenv("CLOUDCIP_SHARING_REMATCH_EVERY_SECONDS", raising=False)
    else:
        monkeypatch.setenv("CLOUDCIP_SHARING_REMATCH_EVERY_SECONDS", value)
    if isinstance(expected, float):
        assert load_settings(tmp_path).sharing_rematch_every_seconds == expected
    else:
        with pytest.raises(ValueError, match=expected) as raised:
            load_settings(tmp_path)
        assert "CLOUDCIP_SHARING_REMATCH_EVERY_SECONDS" in str(raised.value)
