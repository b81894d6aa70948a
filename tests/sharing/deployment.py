"""A deployment the sharing tests start from (E2, G1, G3): an initialised data directory driven through
the CLI, a Reseller Account with a key per role, a peer with read and write on a TAXII collection, and
the indicators and sub-lessees the tests share (generated, made-up data)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import insert
from tests.sharing.builders import SIGNUP
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import ROLES, create_api_key
from cloudcip.runtime import Services, open_services
from cloudcip.settings import Settings
from cloudcip.sharing.store import SharingStore
from cloudcip.storage.schema import account

GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"  # TLP:GREEN
Run = Callable[..., Any]


def indicator(pattern: str) -> dict[str, Any]:
    """A STIX 2.1 indicator of ``pattern`` marked TLP:GREEN, with a fresh id."""
    return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z", "pattern": pattern,
            "pattern_type": "stix", "valid_from": "2026-03-01T00:00:00Z", "object_marking_refs": [GREEN]}


def reseller_deployment(tmp_path: Path, database_url: str) -> tuple[Run, Services, str, dict[str, str]]:
    """``cloudcip init`` in ``tmp_path``, a German reseller's active Reseller Account and a key per role:
    the CLI runner (asserting success), the open services, the account id and the keys."""
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    run("init")
    services = open_services(Settings(data_dir=data_dir, database_url=database_url))
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
        keys: dict[str, str] = {role: create_api_key(conn, role, "test", datetime.now(UTC)) for role in ROLES}
    return run, services, account_id, keys


def peer_collection(services: Services) -> tuple[str, str]:
    """A TAXII collection of abuse indicators and a peer's key that may read and write it."""
    store = SharingStore(services.database)
    collection = store.add_collection("abuse indicators")
    with services.database.engine.begin() as conn:
        peer_key = create_api_key(conn, "peer", "Peer Cloud B", datetime.now(UTC))
        store.add_peer(conn, peer_key.split("_")[1], "Peer Cloud B")
    store.grant(peer_key.split("_")[1], collection, read=True, write=True)
    return collection, peer_key


def sub_lessee_body(reference: str, email: str) -> dict[str, Any]:
    """A sub-lessee a reseller shares: a person in Germany with ``email``."""
    return {"reference": reference, "kind": "person", "name": {"given": "Viktor", "family": "Sokolov"},
            "country": "DE", "email": email}


def share(run: Run, tmp_path: Path, account_id: str, sub_lessees: list[dict[str, Any]]) -> dict[str, Any]:
    """The sub-lessees shared through ``cloudcip resellers sub-lessees add``, by reference."""
    path = tmp_path / f"sub-lessees-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(sub_lessees))
    answer = json.loads(run("resellers", "sub-lessees", "add", account_id, str(path)).stdout)
    return {item["reference"]: item for item in answer["sub_lessees"]}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
