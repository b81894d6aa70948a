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
from cloudcip.runtime import NotInitialised, Services, open_services
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
    try:
        services = open_services(settings_of(ctx))
    except NotInitialised as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    try:
        yield services
    finally:
        services.close()


def fail(message: str, code: int = 1) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


class CloudcipGroup(TyperGroup):
    """The root command group: any :class:`CloudcipError` a command lets through becomes one red
    ``error:`` line (its public detail) and the error kind's exit code, never a traceback."""

    def invoke(self, ctx: _click.Context) -> object:
        try:
            return super().invoke(ctx)
        except CloudcipError as exc:
            console.print(f"[red]error:[/red] {escape(exc.public_detail)}")
            raise typer.Exit(exc.exit_code) from exc
