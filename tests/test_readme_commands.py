"""Every ``cloudcip`` command line of the README names a command that exists, with options it takes
(the README's tour is a statement to users: a renamed command or option must change it too).

Each line of the README's ``sh`` blocks that runs ``.venv/bin/cloudcip`` (alone, or inside
``VAR=$(...)``) is split as the shell would, its ``$VARIABLES`` given a stand-in value, and parsed by
the command's own parser (Click's ``make_context``, which checks the command path, every option and
the arguments' count and types) without running it. The tour's first-hour commands are run for real by
``tests/cli/test_cli_first_hour.py`` and the examples by ``tests/test_examples.py``."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
from typer._click import core as click_core
from typer._click import exceptions as click_exceptions
from typer._click import termui
from typer.core import TyperGroup
from typer.exceptions import Exit

from cloudcip.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _command_lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    lines: list[str] = []
    for block in blocks:
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = re.sub(r"\$\(echo \$\w+ \| cut [^)]*\)", "$KEY_ID", line)
            found = re.search(r"\.venv/bin/cloudcip\b([^|)#]*)", line)
            if found and "pip install" not in line:
                lines.append("cloudcip" + found.group(1).rstrip())
    return lines


LINES = _command_lines()


def _args(line: str) -> list[str]:
    line = re.sub(r"\$\{?([A-Z_]+)\}?", lambda m: f"stand-in-{m.group(1).lower()}", line)
    words = shlex.split(line)
    words = words[: words.index(">")] if ">" in words else words
    # a file of the user's own (their CIP, a list they downloaded) stands in as a file the checkout has
    return [w if w.startswith("-") or not _USER_FILE.search(w) or (ROOT / w).exists() else "README.md"
            for w in words[1:]]


_USER_FILE = re.compile(r"\.(pdf|docx?|csv|jsonl?|xml|zip|pem|ya?ml|txt|html?|parquet|gz)$")


def _parse(args: list[str]) -> str:
    """The command path the arguments resolve to; raises what Click raises for a bad line."""
    command: click_core.Command = typer.main.get_command(app)
    path = ["cloudcip"]
    ctx = command.make_context("cloudcip", list(args), resilient_parsing=False)
    while isinstance(command, TyperGroup) and ctx._protected_args + ctx.args:
        remaining = [*ctx._protected_args, *ctx.args]
        name, sub, rest = command.resolve_command(ctx, remaining)
        assert sub is not None, f"no command {remaining[0]!r} under {' '.join(path)}"
        path.append(str(name))
        command = sub
        ctx = command.make_context(str(name), rest, parent=ctx)
    return " ".join(path)


def test_the_readme_shows_cloudcip_commands() -> None:
    assert len(LINES) >= 40, LINES  # the tour is there and this test reads it


@pytest.mark.parametrize("line", LINES)
def test_each_readme_command_line_parses(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # examples/... paths are relative to the checkout, as in the README
    monkeypatch.setattr(termui, "prompt", lambda *a, **k: "stand-in-password-1234")  # a prompted option
    args = _args(line)
    if args in ([], ["--version"]):
        return
    try:
        path = _parse(args)
    except Exit:
        return  # --help / --version
    except click_exceptions.UsageError as exc:
        pytest.fail(f"README line does not parse: {line!r}: {exc.format_message()}")
    assert path.startswith("cloudcip ")


def test_a_wrong_line_fails_to_parse() -> None:
    """The check above can fail: an unknown option and an unknown command are caught."""
    with pytest.raises(click_exceptions.UsageError):
        _parse(["retention", "plan", "--no-such-option"])
    with pytest.raises((click_exceptions.UsageError, AssertionError)):
        _parse(["no-such-command"])
