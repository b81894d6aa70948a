"""G3 for sub-lessees: an indicator a peer shares is matched against the sub-lessees of Reseller Accounts
where they carry the identifier it names (their e-mail address, through the linkage graph's blind
indexes), and the match waits for a person like any other; a sub-lessee with another address is not
flagged."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import insert
from tests.sharing.builders import SIGNUP
from typer.testing import CliRunner

from cloudcip.api.app import create_app
from cloudcip.cli.main import app
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import create_api_key
from cloudcip.runtime import open_services
from cloudcip.settings import Settings
from cloudcip.sharing.store import SharingStore
from cloudcip.sharing.taxii import MEDIA_TYPE
from cloudcip.storage.schema import account

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"


def indicator(pattern: str) -> dict[str, Any]:
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z", "pattern": pattern,
            "pattern_type": "stix", "valid_from": "2026-03-01T00:00:00Z", "object_marking_refs": [GREEN]}


@pytest.mark.requirement("G3", "E2")
@pytest.mark.control("sharing.indicators_matched")
def test_a_shared_email_indicator_flags_the_sub_lessee_that_carries_it(tmp_path: Path, database_url: str) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    run("init")
    services = open_services(Settings(data_dir=data_dir, database_url=database_url))
    try:
        reseller = TypeAdapter(CustomerRecord).validate_python({
            "kind": "entity", "legal_name": "Nordlicht Cloud Reseller GmbH",
            "registration": {"country": "DE", "number": "HRB 99"},
            "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
            "email": "ops@nordlicht.example", "phone": "+494012345678"})
        [reseller_id] = services.customers.create([reseller], SIGNUP)
        account_id = str(uuid.uuid4())
        with services.database.engine.begin() as conn:
            conn.execute(insert(account).values(id=account_id, customer_id=reseller_id, type="reseller",
                                                channel="sales_assisted", state="active", opened_at=datetime.now(UTC)))
        shared = tmp_path / "sub-lessees.json"
        shared.write_text(json.dumps([
            {"reference": "r-1", "kind": "person", "name": {"given": "Viktor", "family": "Sokolov"}, "country": "DE",
             "email": "viktorsokolov@gmail.com"},
            {"reference": "r-2", "kind": "person", "name": {"given": "Mira", "family": "Holm"}, "country": "DE",
             "email": "mira.holm@holm.example"}]))
        run("resellers", "sub-lessees", "add", account_id, str(shared))
        run("links", "backfill")  # what serve does every 15 minutes: the sub-lessees join the graph
        store = SharingStore(services.database)
        collection = store.add_collection("abuse indicators")
        with services.database.engine.begin() as conn:
            key = create_api_key(conn, "peer", "Peer Cloud B", datetime.now(UTC))
            store.add_peer(conn, key.split("_")[1], "Peer Cloud B")
        store.grant(key.split("_")[1], collection, read=True, write=True)
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
