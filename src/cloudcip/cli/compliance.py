"""``cloudcip compliance matrix``: the requirement coverage matrix (A1-H3) from the code itself."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer

from cloudcip.cli.context import emit
from cloudcip.reports.compliance_matrix import build_matrix, default_locations, render_markdown

app = typer.Typer(help="Requirement coverage.", no_args_is_help=True)


@app.command("matrix")
def matrix(
    output_format: Annotated[str, typer.Option("--format", help="md or json")] = "md",
) -> None:
    """Which modules serve each requirement id and which tests check it."""
    package_dir, tests_dir = default_locations()
    rows = build_matrix(package_dir, tests_dir)
    if output_format == "json":
        emit(json.dumps([{**asdict(r), "status": r.status} for r in rows], indent=2))
    else:
        emit(render_markdown(rows))
