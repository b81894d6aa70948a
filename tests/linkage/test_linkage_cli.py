"""G1 at the terminal: ``cloudcip links backfill`` brings sub-lessees (shared by resellers) and
customers stored outside the signup into the graph; ``links show`` then names the link."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import insert
from tests.sharing.builders import SIGNUP, person
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import Actor
from cloudcip.resellers import sub_lessees
from cloudcip.runtime import open_services, screening_service
from cloudcip.settings import Settings
from cloudcip.storage.schema import account


@pytest.mark.requirement("G1", "E2")
def test_backfill_links_sub_lessees_and_customers(tmp_path: Path, database_url: str) -> None:
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    run("init")
    services = open_services(Settings(data_dir=data_dir, database_url=database_url))
    try:
        adapter: TypeAdapter[CustomerRecord] = TypeAdapter(CustomerRecord)
        reseller = adapter.validate_python({
            "kind": "entity", "legal_name": "Nordlicht Cloud Reseller GmbH",
            "registration": {"country": "DE", "number": "HRB 99"},
            "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
            "email": "ops@nordlicht.example", "phone": "+494012345678"})
        [reseller_id, customer_id] = services.customers.create(
            [reseller, adapter.validate_python(person(email="Viktor.Sokolov+vps@gmail.com"))], SIGNUP)
        account_id = str(uuid.uuid4())
        with services.database.engine.begin() as conn:
            conn.execute(insert(account).values(id=account_id, customer_id=reseller_id, type="reseller",
                                                channel="sales_assisted", state="active", opened_at=datetime.now(UTC)))
        # a sub-lessee stored before sub-lessees joined the graph on arrival (no links hook)
        items, _ = sub_lessees.parse_sub_lessees([{
            "reference": "r-1", "kind": "person", "name": {"given": "Viktor", "family": "Sokolov"}, "country": "DE",
            "email": "viktorsokolov@gmail.com"}])
        sub_lessees.share_sub_lessees(services, screening_service(services), account_id, items,
                                      Actor("test:reseller", "signup-service"))
    finally:
        services.close()
    shared = tmp_path / "sub-lessees.json"  # one shared now joins the graph on arrival: nothing to backfill
    shared.write_text(json.dumps([{"reference": "r-2", "kind": "person", "name": {"given": "Mira", "family": "Holm"},
                                   "country": "DE", "email": "mira.holm@holm.example"}]))
    run("resellers", "sub-lessees", "add", account_id, str(shared))
    added = json.loads(run("links", "backfill").stdout.splitlines()[-1])
    assert added == {"customers_added": 2, "sub_lessees_added": 1}
    assert json.loads(run("links", "backfill").stdout.splitlines()[-1]) == {"customers_added": 0,
                                                                             "sub_lessees_added": 0}
    shown = json.loads(run("links", "show", customer_id).stdout)
    [linked] = [entry for entry in shown["links"] if entry["subject_type"] == "sub_lessee"]
    assert [link["kind"] for link in linked["links"]] == ["email"] and linked["strength"] == "strong"
    assert "viktorsokolov" not in json.dumps(shown).lower()
    assert run("links", "show", str(uuid.uuid4()), code=3)
