"""The operator's commands end to end: init, demo, apikeys, keys rotate, purge, ledger (B2, B3, B4)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from cloudcip.cli.main import app

VERIFIER = Path(__file__).resolve().parents[2] / "docs" / "offline_verifier.py"


@pytest.fixture
def cli(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    data_dir = tmp_path / "data"

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, ["--data-dir", str(data_dir), *args],
                               env={"CLOUDCIP_DATABASE_URL": database_url})
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.stdout

    run.data_dir = data_dir  # type: ignore[attr-defined]
    run.database_url = database_url  # type: ignore[attr-defined]
    return run


@pytest.mark.requirement("B2")
def test_init_is_safe_twice_and_keys_are_private(cli) -> None:  # type: ignore[no-untyped-def]
    cli("init")
    keyring = (cli.data_dir / "keyring.json").read_bytes()
    cli("init")
    assert (cli.data_dir / "keyring.json").read_bytes() == keyring
    for name in ("keyring.json", "ledger-signing-key.pem"):
        assert stat.S_IMODE((cli.data_dir / name).stat().st_mode) == 0o600


def test_commands_before_init_say_so(cli) -> None:  # type: ignore[no-untyped-def]
    cli("ledger", "verify", code=2)


@pytest.mark.requirement("B2", "B3")
def test_demo_apikeys_rotate_purge_and_ledger(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cli("demo", "--customers", "30", "--no-serve")
    key = cli("apikeys", "create", "--role", "analyst").strip().splitlines()[-1]
    assert key.startswith("ccip_")
    cli("apikeys", "create", "--role", "wizard", code=1)
    assert "rotated" not in cli("keys", "rotate")
    verified = cli("ledger", "verify")
    assert verified.startswith("OK tree_size=")
    size = int(verified.split("tree_size=")[1].split()[0])
    assert size >= 32  # 30 creates, one API key, one rotation

    engine = create_engine(cli.database_url)
    with engine.connect() as conn:
        customer_id = conn.execute(text("select id from customer order by created_at limit 1")).scalar_one()
    engine.dispose()
    cli("customers", "purge", customer_id, code=4)  # B1: the retention period has not ended
    order = cli("legal", "process", "add", "--kind", "court_order", "--authority", "U.S. District Court",
                "--reference", "1:26-cv-9", "--customer", customer_id).strip().splitlines()[-1]
    cli("customers", "purge", customer_id, "--legal-basis", order)
    cli("customers", "purge", customer_id, "--legal-basis", order, code=6)  # already purged: gone
    cli("customers", "show", customer_id, code=6)

    (tmp_path / "proof.json").write_text(cli("ledger", "proof", "5"))
    (tmp_path / "pub.pem").write_text(cli("ledger", "pubkey"))
    assert json.loads((tmp_path / "proof.json").read_text())["index"] == 5
    check = subprocess.run([sys.executable, "-I", str(VERIFIER), str(tmp_path / "proof.json"),
                            str(tmp_path / "pub.pem")], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    cli("ledger", "proof", "999999", code=3)  # not found

    engine = create_engine(cli.database_url)
    with engine.begin() as conn:
        conn.execute(text("update ledger_entry set actor = 'someone-else' where idx = 4"))
    engine.dispose()
    failed = cli("ledger", "verify", code=1)
    assert "first_bad_index=4" in failed
