"""E2, D3, D4 at the terminal: ``cloudcip resellers sub-lessees add | list | remove | rescreen``; bad input is
a clear error naming the field, never a traceback."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter
from sqlalchemy import insert
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import Actor
from cloudcip.runtime import open_services
from cloudcip.settings import Settings
from cloudcip.storage.schema import account

HEADER = "id,schema,name,aliases,birth_date,nationality,country,id_numbers,emails,wallets,programs,remarks\n"


@pytest.fixture
def cli(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args],
                               env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == code, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        return result

    run.data_dir = data_dir  # type: ignore[attr-defined]
    run.database_url = database_url  # type: ignore[attr-defined]
    run("init")
    return run


def reseller_account(cli: Any, account_type: str = "reseller") -> str:
    services = open_services(Settings(data_dir=cli.data_dir, database_url=cli.database_url))
    try:
        record = TypeAdapter(CustomerRecord).validate_python({
            "kind": "entity", "legal_name": "Nordlicht Cloud Reseller GmbH",
            "registration": {"country": "DE", "number": "HRB 99"},
            "address": {"line1": "Hafenstr. 1", "city": "Hamburg", "country": "DE"},
            "email": "ops@nordlicht.example", "phone": "+494012345678",
        })
        [customer_id] = services.customers.create([record], Actor("test:signup", "signup-service"))
        account_id = str(uuid.uuid4())
        with services.database.engine.begin() as conn:
            conn.execute(insert(account).values(id=account_id, customer_id=customer_id, type=account_type,
                                                channel="sales_assisted", state="active",
                                                opened_at=datetime.now(UTC)))
    finally:
        services.close()
    return account_id


@pytest.mark.requirement("E2", "D4")
def test_add_list_remove_rescreen(cli: Any, tmp_path: Path) -> None:
    account_id = reseller_account(cli)
    shared = tmp_path / "sub-lessees.json"
    shared.write_text(json.dumps([
        {"reference": "r-1", "kind": "person", "name": {"given": "Viktor", "family": "Bout"},
         "birth_date": "1967-01-13", "nationality": "RU", "country": "RU"},
        {"reference": "r-2", "kind": "entity", "legal_name": "Zwieselstein Datenwerk KG", "country": "AT",
         "email": "ops@zwieselstein.example"},
    ]))
    answer = json.loads(cli("resellers", "sub-lessees", "add", account_id, str(shared)).stdout)
    assert [(s["reference"], s["outcome"], s["screening"]["band"]) for s in answer["sub_lessees"]] == [
        ("r-1", "created", "clear"), ("r-2", "created", "clear")]
    again = json.loads(cli("resellers", "sub-lessees", "add", account_id, str(shared)).stdout)
    assert [s["outcome"] for s in again["sub_lessees"]] == ["unchanged", "unchanged"]

    listed = json.loads(cli("resellers", "sub-lessees", "list", account_id).stdout)
    views = {v["reference"]: v for v in listed["sub_lessees"]}
    assert views["r-2"]["email"] == "o•••@zwieselstein.example" and views["r-1"]["birth_date"] == "••••-••-••"

    listing = tmp_path / "list.csv"
    listing.write_text(HEADER + "A1,Person,Viktor Bout,,1967-01-13,RU,,,,,,\n", encoding="utf-8")
    cli("lists", "import", "--format", "own-csv", str(listing))
    rescreened = json.loads(cli("resellers", "sub-lessees", "rescreen").stdout)
    assert (rescreened["screened"], rescreened["new_hits"]) == (2, 1)

    removed = json.loads(cli("resellers", "sub-lessees", "remove", account_id, views["r-2"]["id"]).stdout)
    assert removed["status"] == "removed"
    only_removed = json.loads(cli("resellers", "sub-lessees", "list", account_id, "--status", "removed").stdout)
    assert [v["reference"] for v in only_removed["sub_lessees"]] == ["r-2"]


@pytest.mark.requirement("E2")
def test_bad_input_is_a_clear_error(cli: Any, tmp_path: Path) -> None:
    account_id = reseller_account(cli)
    standard = reseller_account(cli, "standard")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"reference": "r 1", "kind": "person", "name": {"given": "A"}, "country": "QQ"}))
    failed = cli("resellers", "sub-lessees", "add", account_id, str(bad), code=2)  # invalid input
    assert "reference" in failed.output and "name.family" in failed.output
    semantic = tmp_path / "semantic.json"
    semantic.write_text(json.dumps({"reference": "r-1", "kind": "entity", "legal_name": "X", "country": "QQ"}))
    assert "country" in cli("resellers", "sub-lessees", "add", account_id, str(semantic), code=2).output
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\xff{not json")
    assert "not JSON" in cli("resellers", "sub-lessees", "add", account_id, str(junk), code=2).output
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"reference": "r-1", "kind": "entity", "legal_name": "X GmbH", "country": "DE"}))
    assert "no such Reseller Account" in cli("resellers", "sub-lessees", "add", standard, str(good), code=3).output
    assert "no such Reseller Account" in cli("resellers", "sub-lessees", "list", standard, code=3).output
    assert "--status" in cli("resellers", "sub-lessees", "list", account_id, "--status", "gone", code=1).output
