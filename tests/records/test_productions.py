"""B5: a production holds exactly what the process covers, signed and hash-manifested with ledger
proofs; tampered in any way it fails verification naming what failed (cloudcip and the stand-alone
verifier in docs/); the production goes on the ledger as a disclosure."""

from __future__ import annotations

import base64
import ipaddress
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cloudcip import clock
from cloudcip.access.events import AccessEvent
from cloudcip.access.store import ingest
from cloudcip.cli.main import app as cli
from cloudcip.legal.package import manifest_message
from cloudcip.runtime import Services

from .conftest import OpenAccount, auth

runner = CliRunner()
VERIFIER = Path(__file__).resolve().parents[2] / "docs" / "production_verifier.py"


def invoke(services: Services, *args: str) -> Any:
    return runner.invoke(cli, ["--data-dir", str(services.settings.data_dir), *args],
                         env={"CLOUDCIP_DATABASE_URL": services.settings.database_url})


def rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """A copy of the zip with each member passed through ``change`` (None drops it)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
    return target


def standalone(package: Path, pubkey: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, str(VERIFIER), str(package), str(pubkey)],
                          capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, done.stdout


@pytest.fixture
def produced(client: TestClient, keys: dict[str, str], open_account: OpenAccount, services: Services,
             tmp_path: Path) -> dict[str, Any]:
    inside, outside = open_account(), open_account(email="someone.else@example.de")
    now = clock.now()
    events = [AccessEvent(account_id=answer["account_id"], principal="root", time=now - timedelta(days=days),
                          ip=ipaddress.ip_address("203.0.113.5"), action="login", id=f"{answer['account_id']}-{days}")
              for answer in (inside, outside) for days in (3, 40)]
    ingest(services.database, events)
    client.get(f"/v1/customers/{inside['customer_id']}", headers=auth(keys["analyst"]))  # a read on the ledger
    added = invoke(services, "legal", "process", "add", "--kind", "court_order", "--authority", "U.S. District Court",
                   "--reference", "1:26-cr-99", "--customer", inside["customer_id"],
                   "--from", clock.iso(now - timedelta(days=10)) or "", "--to", clock.iso(now) or "")
    assert added.exit_code == 0, added.output
    process_id = added.stdout.strip().splitlines()[-1]
    package = tmp_path / "production.zip"
    created = invoke(services, "production", "create", process_id, "-o", str(package))
    assert created.exit_code == 0, created.output
    pubkey = tmp_path / "pub.pem"
    pubkey.write_text(services.ledger.public_key_pem())
    return {"inside": inside, "outside": outside, "process": process_id, "package": package, "pubkey": pubkey,
            "production": created.stdout.strip().splitlines()[-1]}


@pytest.mark.requirement("B5", "B3")
def test_a_production_holds_exactly_what_the_process_covers_and_verifies(produced: dict[str, Any],
                                                                         services: Services) -> None:
    inside, outside = produced["inside"], produced["outside"]
    with zipfile.ZipFile(produced["package"]) as archive:
        names = set(archive.namelist())
        record = json.loads(archive.read(f"records/{inside['customer_id']}.json"))
        access = [json.loads(line) for line in archive.read(f"access/{inside['account_id']}.jsonl").splitlines()]
        decisions = json.loads(archive.read(f"decisions/{inside['customer_id']}.json"))
        entries = [json.loads(line) for line in archive.read("ledger/entries.jsonl").splitlines()]
    assert f"records/{outside['customer_id']}.json" not in names
    assert f"access/{outside['account_id']}.jsonl" not in names
    assert record["masked"] is False and record["email"] == "customer1@example.de"  # unmasked, as a court order allows
    assert [event["time"][:10] for event in access] == [(clock.now() - timedelta(days=3)).date().isoformat()]
    assert decisions["applications"][0]["id"] == inside["id"]
    assert decisions["applications"][0]["determinations"][0]["status"] == "foreign_person"
    actions = {json.loads(e["leaf_input"])["action"] for e in entries}
    assert {"create", "read", "register"} <= actions
    assert all(json.loads(e["leaf_input"])["record"].split("/")[1] != outside["customer_id"] for e in entries)

    verified = invoke(services, "production", "verify", str(produced["package"]), "--pubkey", str(produced["pubkey"]))
    assert verified.exit_code == 0 and verified.stdout.startswith("OK "), verified.output
    assert invoke(services, "production", "verify", str(produced["package"])).exit_code == 0  # the local key
    assert standalone(produced["package"], produced["pubkey"])[0] == 0
    # the production is on the ledger as a disclosure
    disclosed = services.ledger.entries_for_record("customer", inside["customer_id"])[-1]
    assert disclosed["action"] == "disclose" and disclosed["legal_basis"] == produced["process"]
    assert services.ledger.entries_for_record("legal_process", produced["process"])[-1]["action"] == "production"
    assert services.ledger.verify().ok


def _edit_record(name: str, data: bytes) -> bytes:
    return data.replace(b"customer1@example.de", b"customer9@example.de") if name.startswith("records/") else data


def _drop_access(name: str, data: bytes) -> bytes | None:
    return None if name.startswith("access/") else data


def _manifest_entry(name: str, data: bytes) -> bytes:
    if name != "manifest.json":
        return data
    manifest = json.loads(data)
    manifest["files"][0]["sha256"] = "0" * 64
    return json.dumps(manifest).encode()


def _proof(name: str, data: bytes) -> bytes:
    if name != "ledger/proofs.jsonl":
        return data
    lines = [json.loads(line) for line in data.splitlines()]
    lines[0]["audit_path"][0] = "ff" * 32
    return b"\n".join(json.dumps(line).encode() for line in lines) + b"\n"


def _signature(name: str, data: bytes) -> bytes:
    if name != "manifest.sig":
        return data
    raw = bytearray(base64.b64decode(data.strip()))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw))


# each row: the tampering, and what the verification must name
TAMPERING = [
    ("a file edited", _edit_record, "records/"),
    ("a file removed", _drop_access, "missing from the package"),
    ("a manifest entry changed", _manifest_entry, "manifest.sig"),
    ("a proof altered", _proof, "ledger/proofs.jsonl"),
    ("the signature changed", _signature, "manifest.sig"),
]


@pytest.mark.requirement("B5")
@pytest.mark.parametrize(("case", "change", "named"), TAMPERING, ids=[row[0] for row in TAMPERING])
def test_a_tampered_production_fails_naming_what_failed(produced: dict[str, Any], services: Services, tmp_path: Path,
                                                        case: str, change: Callable[[str, bytes], bytes | None],
                                                        named: str) -> None:
    tampered = rewrite(produced["package"], tmp_path / "tampered.zip", change)
    result = invoke(services, "production", "verify", str(tampered), "--pubkey", str(produced["pubkey"]))
    assert result.exit_code == 1, case
    assert named in result.stdout and "Traceback" not in result.output, (case, result.output)
    code, printed = standalone(tampered, produced["pubkey"])
    assert code == 1 and named in printed, (case, printed)


@pytest.mark.requirement("B5")
def test_a_proof_altered_by_someone_who_re_signs_the_manifest_names_the_entry(
        produced: dict[str, Any], services: Services, tmp_path: Path) -> None:
    """Even with the manifest re-hashed and re-signed, the proof itself does not lead to the signed root."""
    with zipfile.ZipFile(produced["package"]) as archive:
        first = json.loads(archive.read("ledger/proofs.jsonl").splitlines()[0])["index"]
    altered = rewrite(produced["package"], tmp_path / "altered.zip", _proof)
    with zipfile.ZipFile(altered) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    import hashlib

    for item in manifest["files"]:
        item["sha256"] = hashlib.sha256(members[item["path"]]).hexdigest()
        item["bytes"] = len(members[item["path"]])
    members["manifest.json"] = json.dumps(manifest).encode()
    members["manifest.sig"] = base64.b64encode(services.ledger.signing_key.sign(
        manifest_message(members["manifest.json"])))
    resigned = tmp_path / "resigned.zip"
    with zipfile.ZipFile(resigned, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    result = invoke(services, "production", "verify", str(resigned), "--pubkey", str(produced["pubkey"]))
    assert result.exit_code == 1 and f"ledger entry {first}" in result.stdout, result.output
    code, printed = standalone(resigned, produced["pubkey"])
    assert code == 1 and f"ledger entry {first}" in printed


@pytest.mark.requirement("B5")
def test_what_is_not_a_production_is_refused_clearly(produced: dict[str, Any], services: Services,
                                                     tmp_path: Path) -> None:
    text_file = tmp_path / "notes.zip"
    text_file.write_text("not a zip at all")
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "hi")
    for package in (text_file, other_zip):
        result = invoke(services, "production", "verify", str(package), "--pubkey", str(produced["pubkey"]))
        assert result.exit_code == 1 and "not a production" in result.stdout, result.output
        assert "Traceback" not in result.output
        code, printed = standalone(package, produced["pubkey"])
        assert code == 1 and "not a production" in printed
    missing = invoke(services, "production", "verify", str(tmp_path / "absent.zip"))
    assert missing.exit_code == 2 and "Traceback" not in missing.output


@pytest.mark.requirement("B5")
def test_productions_of_unknown_or_closed_processes_are_refused(produced: dict[str, Any], client: TestClient,
                                                                keys: dict[str, str]) -> None:
    legal = auth(keys["legal"])
    unknown = client.post("/v1/legal/processes/00000000-0000-4000-8000-000000000000/productions", headers=legal)
    assert unknown.status_code == 404
    assert client.post(f"/v1/legal/processes/{produced['process']}/productions",
                       headers=auth(keys["analyst"])).status_code == 403
    answered = client.post(f"/v1/legal/processes/{produced['process']}/productions", headers=legal)
    assert answered.status_code == 200 and answered.headers["content-type"] == "application/zip"
    assert answered.content[:2] == b"PK" and answered.headers["x-manifest-sha256"]
    assert client.post(f"/v1/legal/processes/{produced['process']}/close", headers=legal).status_code == 200
    assert client.post(f"/v1/legal/processes/{produced['process']}/productions", headers=legal).status_code == 409
