"""A new operator's first hour with the ``cloudcip`` command, each a surprise the README's tour used to
give: the import's progress bar stood at 0, ``access consume`` waited silently for a NATS that was
not there, ``serve`` said "listening" before failing to bind, help was cut at 80 columns, there was
no ``--version``, the demo wrote no key for some roles, and nothing said that one-time codes go
nowhere without a webhook URL (C1, C2, A4, B4)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from rich.progress import Progress
from typer.testing import CliRunner

from cloudcip import __version__
from cloudcip.cli.main import app
from cloudcip.records.roles import ROLES

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLOUDCIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CLOUDCIP_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLOUDCIP_WEBHOOK_URL", raising=False)
    assert runner.invoke(app, ["init"]).exit_code == 0
    return tmp_path / "data"


@pytest.mark.requirement("C1", "C2")
def test_the_import_progress_bar_moves_to_the_end(data_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    events = tmp_path / "events.jsonl"
    with events.open("w") as handle:
        for number in range(6000):
            handle.write(json.dumps({"id": f"e{number}", "account_id": f"acct-{number % 50}", "principal": "user:1",
                                     "time": f"2026-01-{1 + number % 28:02d}T08:00:00Z", "ip": "203.0.113.7",
                                     "action": "console.login", "kind": "access"}) + "\n")
    seen: list[tuple[float, float]] = []
    update = Progress.update

    def watch(self: Progress, task: Any, **fields: Any) -> None:
        if "completed" in fields:
            seen.append((fields["completed"], fields.get("total") or 0))
        update(self, task, **fields)

    monkeypatch.setattr(Progress, "update", watch)
    result = runner.invoke(app, ["access", "import", str(events), "--batch-size", "1000"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accepted"] == 6000
    completed = [done for done, _total in seen]
    assert len(set(completed)) >= 3 and completed == sorted(completed) and completed[0] > 0
    assert completed[-1] == events.stat().st_size == seen[-1][1]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.requirement("C2")
def test_consume_says_nats_does_not_answer_and_exits(data_dir: Path) -> None:
    port = _closed_port()
    result = runner.invoke(app, ["access", "consume", "--servers", f"nats://127.0.0.1:{port}",
                                 "--connect-timeout", "0.5", "--connect-attempts", "2"])
    assert result.exit_code == 7, result.output
    assert "NATS does not answer" in result.output and "Traceback" not in result.output


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        yield int(holder.getsockname()[1])


@pytest.mark.requirement("A4")
def test_serve_fails_before_saying_listening_and_warns_without_a_webhook(data_dir: Path, taken_port: int,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["serve", "--port", str(taken_port)])
    assert result.exit_code == 1, result.output
    assert f"cannot listen on 127.0.0.1:{taken_port}" in result.output
    assert "listening" not in result.output.replace("cannot listen", "")
    assert "CLOUDCIP_WEBHOOK_URL is not set" in result.output and "otp.deliver" in result.output
    monkeypatch.setenv("CLOUDCIP_WEBHOOK_URL", "https://hooks.example/cloudcip")
    configured = runner.invoke(app, ["serve", "--port", str(taken_port)])
    assert configured.exit_code == 1 and "CLOUDCIP_WEBHOOK_URL" not in configured.output


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_help_is_wrapped_never_cut_and_the_version_is_printed() -> None:
    root = typer.main.get_command(app)
    paths = list(_commands(root))
    assert len(paths) > 40
    for path in paths:
        shown = runner.invoke(app, [*path, "--help"], terminal_width=80)
        assert shown.exit_code == 0, (path, shown.output)
        assert "…" not in shown.output, path
        assert max(len(line) for line in shown.output.splitlines()) <= 80, path
    options = runner.invoke(app, ["measures", "add", "--help"], terminal_width=80).output
    assert "--determination-date" in options and "payment_methods_restricted" in options
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.strip() == f"cloudcip {__version__}"


@pytest.mark.requirement("B4")
def test_the_demo_writes_a_key_for_every_role(data_dir: Path) -> None:
    result = runner.invoke(app, ["demo", "--customers", "2", "--no-serve"])
    assert result.exit_code == 0, result.output
    lines = (data_dir / "demo-api-keys.txt").read_text().splitlines()
    assert sorted(line.split("\t")[0] for line in lines) == sorted(ROLES)
    assert all(line.split("\t")[1].startswith("ccip_") for line in lines)
    assert (data_dir / "demo-api-keys.txt").stat().st_mode & 0o077 == 0
