"""``cloudcip compliance matrix``: the requirement coverage matrix (A1-H3), from the tests that drive
each requirement through the API or the CLI (their ``requirement`` markers)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from cloudcip.cli.context import console, emit, fail
from cloudcip.reports.compliance_matrix import build_matrix, default_locations, render_markdown

app = typer.Typer(help="Requirement coverage.", no_args_is_help=True)


@app.command("matrix")
def matrix(
    output_format: Annotated[str, typer.Option("--format", help="md or json")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Each requirement id with the tests that drive it through the API or the CLI (status: served
    or not yet served), the controls the written CIP may state for it and the modules citing it."""
    if output_format not in ("md", "json"):
        raise fail("--format is md or json")
    package_dir, tests_dir = default_locations()
    if tests_dir is None:
        raise fail("the tests/ folder beside the source is needed: the matrix is built from the tests' markers")
    rows = build_matrix(package_dir, tests_dir)
    text = (json.dumps([{**asdict(r), "status": r.status} for r in rows], indent=2) + "\n"
            if output_format == "json" else render_markdown(rows))
    if output is not None:
        output.write_text(text, encoding="utf-8")
        console.print(f"coverage matrix ({output_format}) saved to {output}")
    else:
        emit(text.rstrip("\n"))
