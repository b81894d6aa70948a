"""The screening commands end to end (D1, D3, D4, D5): lists import/show/diff, measures, screen
name/batch/compare/rescreen, hits list/decide; bad input is a clear error, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.domain.customer import CustomerRecord
from cloudcip.records.roles import Actor
from cloudcip.runtime import open_services
from cloudcip.settings import Settings

HEADER = "id,schema,name,aliases,birth_date,nationality,country,id_numbers,emails,wallets,programs,remarks\n"


@pytest.fixture
def cli(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args],
                               env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == code, (args, result.output, result.exception)
        assert "Traceback" not in result.output
        return result.stdout

    def output(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args],
                               env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    run.output = output  # type: ignore[attr-defined]
    run.data_dir = data_dir  # type: ignore[attr-defined]
    run.database_url = database_url  # type: ignore[attr-defined]
    run("init")
    return run


def own_list(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.requirement("D3")
def test_lists_import_show_diff(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first = own_list(tmp_path / "v1.csv", "A1,Person,Viktor Bout,,1967-01-13,RU,,,,,,",
                     "A2,Person,Ali Hassan,,,,,,,,,", "A3,Organization,Acme Trading LLC,,,,,,,,,")
    assert "imported own version 1: 3 parties" in cli("lists", "import", "--format", "own-csv", str(first))
    assert "unchanged" in cli("lists", "import", "--format", "own-csv", str(first))
    second = own_list(tmp_path / "v2.csv", "A1,Person,Viktor Bout,,1967-01-14,RU,,,,,,",
                      "A3,Organization,Acme Trading LLC,,,,,,,,,", "A4,Person,Maria Lopez,,,,,,,,,")
    assert "version 2" in cli("lists", "import", "--format", "own-csv", str(second))
    shown = json.loads(cli("lists", "show", "--json"))
    [source] = shown["sources"]
    assert (source["source"], source["version"], source["parties"], source["snapshots"]) == ("own", 2, 3, 2)
    diff = json.loads(cli("lists", "diff", "--json"))
    assert (diff["added"], diff["removed"], diff["changed"]) == (["A4"], ["A2"], ["A1"])
    assert "+ A4" in cli("lists", "diff", "--source", "own", "1", "2")

    broken = own_list(tmp_path / "bad.csv", "B1,Person,Good Name,,,,,,,,,", "B2,Person,Bad Date,,1967-13-45,,,,,,,")
    message = cli.output("lists", "import", "--format", "own-csv", str(broken), code=2)
    assert "nothing imported" in message and "line 3" in message
    assert json.loads(cli("lists", "show", "--json"))["sources"][0]["version"] == 2  # still in force
    cli("lists", "import", "--format", "nonsense", str(first), code=1)
    cli("lists", "diff", "--source", "own", "1", "9", code=3)  # no such snapshot


@pytest.mark.requirement("D3")
def test_screen_name_batch_and_compare(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("lists", "import", "--format", "own-csv",
        str(own_list(tmp_path / "l.csv", "A1,Person,Viktor Bout,,1967-01-13,RU,,,,,,")))
    result = json.loads(cli("screen", "name", "BOUT Viktor", "--birth-date", "1967-01-13", "--json"))
    assert result["band"] == "block" and result["hits"][0]["list_source_id"] == "A1"
    assert "band: clear" in cli("screen", "name", "Anna Schmidt")
    for bad in ("", "   ", "x" * 5000, "\x01\x02"):
        assert "error:" in cli.output("screen", "name", bad, code=2)
    assert "nationality" in cli.output("screen", "name", "Viktor Bout", "--nationality", "xyz", code=2)
    assert "birth_date" in cli.output("screen", "name", "Viktor Bout", "--birth-date", "1967-02-30", code=2)

    batch = tmp_path / "batch.csv"
    batch.write_text("name,birth_date,nationality\nViktor Bout,1967-01-13,ru\nAnna Schmidt,,DE\n,,\n",
                     encoding="utf-8")
    lines = [json.loads(line) for line in cli("screen", "batch", str(batch), "--json").splitlines()]
    assert [line["row"] for line in lines] == [1, 2, 3]
    assert lines[0]["hits"][0]["list_source_id"] == "A1" and lines[1]["hits"] == []
    assert "error" in lines[2]

    pairs = tmp_path / "pairs.csv"
    pairs.write_text("name1,name2,schema\nViktor Bout,BOUT Viktor,Person\nAcme LLC,Acme Trading OOO,Company\n"
                     "Anna Schmidt,Wang Wei,\n,x,\n", encoding="utf-8")
    scored = [json.loads(line) for line in cli("screen", "compare", "--pairs", str(pairs), "--json").splitlines()]
    assert scored[0]["match"] is True and scored[0]["score"] > 0.9
    assert scored[2]["match"] is False
    assert "error" in scored[3]
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"name1,name2\n\xff\xfe\x00\x01,abc\n")
    assert "not UTF-8" in cli.output("screen", "compare", "--pairs", str(binary), code=1)
    assert "missing column" in cli.output("screen", "batch", str(pairs), code=1)


@pytest.mark.requirement("D1", "D4", "D5")
@pytest.mark.control("measure.register", "rescreen.on_change", "hits.adjudicated")
def test_measures_rescreen_and_hits(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    added = json.loads(cli("measures", "add", "--kind", "jurisdiction", "--target", "IR", "--measure", "prohibit",
                           "--determination-date", "2026-01-15", "--json"))
    assert added["effective_date"] == "2026-07-14"
    refused = cli.output("measures", "add", "--kind", "jurisdiction", "--target", "IR", "--measure", "prohibit",
                         "--determination-date", "2026-01-15", "--effective-date", "2026-02-01", code=2)
    assert "lead time" in refused
    cli("measures", "add", "--kind", "jurisdiction", "--target", "crimea", "--measure", "conditions",
        "--condition", "no_gpu", "--condition", "enhanced_monitoring", "--determination-date", "2026-01-15")
    cli("measures", "add", "--kind", "jurisdiction", "--target", "QQ", "--measure", "prohibit",
        "--determination-date", "2026-01-15", code=2)
    assert "expires 2027-08-13" in cli("measures", "extend", added["id"], "--days", "30", "--reason", "renewed")
    assert "revoked" in cli("measures", "revoke", added["id"], "--reason", "lifted")
    cli("measures", "revoke", added["id"], "--reason", "lifted", code=2)  # refused: already revoked
    listed = json.loads(cli("measures", "list", "--json"))["measures"]
    assert sorted(m["status"] for m in listed) == ["in_force", "revoked"]

    cli("demo", "--customers", "5", "--no-serve")
    services = open_services(Settings(data_dir=cli.data_dir, database_url=cli.database_url))
    try:
        services.customers.create([TypeAdapter(CustomerRecord).validate_python({
            "kind": "individual", "name": {"given": "Viktor", "family": "Bout"}, "birth_date": "1967-01-13",
            "address": {"line1": "1 Test Street", "city": "Moscow", "country": "RU"},
            "email": "vb@example.com", "phone": "+74951234567"})], Actor("test:signup", "signup-service"))
    finally:
        services.close()
    cli("lists", "import", "--format", "own-csv",
        str(own_list(tmp_path / "l.csv", "A1,Person,Viktor Bout,,1967-01-13,RU,,,,,,")))
    report = json.loads(cli("screen", "rescreen", "--reason", "test", "--json"))
    assert report["finished"] and report["done"] == 6 and report["new_hits"] == 1
    [hit] = json.loads(cli("hits", "list", "--json"))["hits"]
    assert (hit["state"], hit["list_source_id"]) == ("open", "A1")
    cli("hits", "decide", hit["id"], "--state", "false_positive", code=2)  # refused: no reason
    assert "false_positive" in cli("hits", "decide", hit["id"], "--state", "false_positive", "--reason", "other")
    assert json.loads(cli("hits", "list", "--json"))["hits"] == []
    again = json.loads(cli("screen", "rescreen", "--json"))
    assert again["new_hits"] == 0 and again["mode"] == "delta"  # nothing changed since the last run
    forced = json.loads(cli("screen", "rescreen", "--full", "--json"))
    assert forced["mode"] == "full" and forced["done"] == 6 and forced["new_hits"] == 0
    cli("hits", "decide", "00000000-0000-0000-0000-000000000000", "--state", "confirmed", code=3)  # not found
    cli("hits", "list", "--state", "maybe", code=2)
