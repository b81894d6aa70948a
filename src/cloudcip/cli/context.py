"""What every command shares: settings from ``--data-dir`` and the environment, services, output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.markup import escape
from typer import _click
from typer.core import TyperGroup

from cloudcip.errors import CloudcipError
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services, open_services
from cloudcip.settings import Settings, load_settings

console = Console(stderr=True)


def emit(text: str) -> None:
    """Machine-readable output on standard output, never styled."""
    typer.echo(text)

# the operator at the terminal acts as this actor on the ledger
OPERATOR = Actor(name="cli:operator", role="admin")


def settings_of(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj or {}
    settings: Settings = obj.get("settings") or load_settings()
    return settings


@contextmanager
def services_of(ctx: typer.Context) -> Iterator[Services]:
    """The process's services; :class:`NotInitialised` (exit 2) before ``cloudcip init``."""
    services = open_services(settings_of(ctx))
    try:
        yield services
    finally:
        services.close()


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


MAX_FIELD_LINES = 50


def report(exc: CloudcipError) -> None:
    """Print ``exc`` as the terminal shows it: each field at fault on a line of its own (at most
    :data:`MAX_FIELD_LINES`), then one red ``error:`` line with the public detail."""
    joined = "; ".join(f"{f.field}: {f.message}" for f in exc.fields)
    if len(exc.fields) == 1 and exc.public_detail == joined:
        console.print(f"[red]error:[/red] {escape(joined)}")
        return
    for issue in exc.fields[:MAX_FIELD_LINES]:
        console.print(f"[red]{escape(issue.field)}[/red]: {escape(issue.message)}")
    if len(exc.fields) > MAX_FIELD_LINES:
        console.print(f"... and {len(exc.fields) - MAX_FIELD_LINES} more")
    detail = f"{exc.title} ({len(exc.fields)} fields)" if exc.fields and exc.public_detail == joined \
        else exc.public_detail
    console.print(f"[red]error:[/red] {escape(detail)}")


class CloudcipGroup(TyperGroup):
    """The root command group: any :class:`CloudcipError` a command lets through becomes its fields at
    fault and one red ``error:`` line (its public detail) and the error kind's exit code, never a
    traceback. Commands do not catch these errors themselves."""

    def invoke(self, ctx: _click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CloudcipError as exc:
            report(exc)
            raise typer.Exit(exc.exit_code) from exc
