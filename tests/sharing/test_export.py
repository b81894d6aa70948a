"""G3, G4: ``cloudcip sharing export --incident ID --tlp LEVEL`` prints one STIX 2.1 bundle, marked
with the OASIS TLP 2.0 marking, that passes the OASIS validator (strict), carries the indicators of
the incident with their windows, and no personal data outside the allow-list; the export is recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.sharing.builders import person, store_account
from tests.sharing.validation import assert_valid_bundle
from typer.testing import CliRunner

from cloudcip.cli.main import app
from cloudcip.runtime import open_services
from cloudcip.settings import Settings
from cloudcip.sharing.tlp import TLP2_IDS, TLP_EXTENSION_DEFINITION

WALLET = "0x52908400098527886E0F7030069857D2E4169EE7"


@pytest.fixture
def cli(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args], env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == code, (args, result.output)
        assert "Traceback" not in result.output
        return result

    run.settings = Settings(data_dir=data_dir, database_url=database_url)  # type: ignore[attr-defined]
    run("init")
    return run


@pytest.mark.requirement("G3", "G4")
@pytest.mark.control("sharing.export_scrubbed")
@pytest.mark.parametrize("level", ["clear", "green", "amber", "amber+strict", "red"])
def test_export_prints_one_valid_bundle_marked_with_tlp2(cli: Any, level: str) -> None:
    services = open_services(cli.settings)
    try:
        body = person(wallet=WALLET, email="jonas.keller@nordwind-vps.example")
        _, account_id = store_account(services, body, state="closed", accesses=[
            ("203.0.113.7", datetime(2026, 3, 1, 10, tzinfo=UTC)),
            ("203.0.113.7", datetime(2026, 3, 5, 10, tzinfo=UTC)),
            ("2001:db8::42", datetime(2026, 3, 3, 12, tzinfo=UTC))])
    finally:
        services.close()
    incident_id = cli("incidents", "create", "--account", account_id, "--summary",
                      "Jonas Keller (jonas.keller@nordwind-vps.example, +4930901820) mined on card 4111111111111111",
                      ).stdout.strip().splitlines()[-1]
    bundle = json.loads(cli("sharing", "export", "--incident", incident_id, "--tlp", level).stdout)
    assert bundle["type"] == "bundle"
    assert_valid_bundle(bundle)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for item in bundle["objects"]:
        by_type.setdefault(item["type"], []).append(item)
    [tlp] = [m for m in by_type["marking-definition"] if m["id"] == TLP2_IDS[level]]  # type: ignore[index]
    assert tlp["extensions"][TLP_EXTENSION_DEFINITION] == {"extension_type": "property-extension", "tlp_2_0": level}
    for item in bundle["objects"]:
        if item["type"] == "identity":  # the provider's public name
            assert item["object_marking_refs"] == [TLP2_IDS["clear"]]
        elif item["type"] != "marking-definition":
            assert item["object_marking_refs"] == [TLP2_IDS[level]]  # type: ignore[index]
    patterns = {i["pattern"] for i in by_type["indicator"]}
    assert "[ipv4-addr:value = '203.0.113.7']" in patterns
    assert "[ipv6-addr:value = '2001:db8::42']" in patterns
    assert "[email-addr:value LIKE '%@nordwind-vps.example']" in patterns
    assert f"[x-cloudcip-crypto-wallet:address = '{WALLET}']" in patterns
    [v4] = [i for i in by_type["indicator"] if "203.0.113.7" in i["pattern"]]
    assert v4["valid_from"].startswith("2026-03-01T10:00:00") and v4["valid_until"].startswith("2026-03-05T10:00:00")
    assert {"identity", "incident", "observed-data", "sighting", "relationship", "ipv4-addr"} <= set(by_type)
    text = json.dumps(bundle)
    for personal in ("Jonas", "Keller", "jonas.keller", "4930901820", "4111111111111111", "T22000129",
                     "Invalidenstr", "1984-03-09"):
        assert personal not in text, personal
    if level in ("clear", "green"):
        assert "description" not in by_type["incident"][0]
    else:
        assert "mined on card" in by_type["incident"][0]["description"]
    disclosures = [json.loads(line) for line in cli("incidents", "disclosures", incident_id).stdout.splitlines()]
    assert [(d["recipient"], d["tlp"], d["format"]) for d in disclosures] == [("export", level, "stix-bundle")]
    assert cli("sharing", "export", "--incident", incident_id, "--tlp", "purple", code=2)
