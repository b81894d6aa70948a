"""``cloudcip console users add|list|disable``: the people who sign in to the web console (B4)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cloudcip.cli.context import OPERATOR, console, emit, services_of

app = typer.Typer(help="The analysts' web console (served by `cloudcip serve` under /console).",
                  no_args_is_help=True)
users = typer.Typer(help="Console users: one per person, each with one role.", no_args_is_help=True)
app.add_typer(users, name="users")


@users.command("add")
def add(
    ctx: typer.Context,
    username: Annotated[str, typer.Argument(help="2-32 characters: a-z, 0-9, '.', '_', '-'.")],
    role: Annotated[str, typer.Option(help="analyst, compliance-officer, legal, auditor or admin.")],
    totp: Annotated[bool, typer.Option("--totp", help="Require an authenticator code at sign-in.")] = False,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          help="At least 12 characters (prompted when not given).")] = "",
) -> None:
    """Add a person; with --totp, print the otpauth:// URI to load into their authenticator, once."""
    from cloudcip.console.app import console_users

    with services_of(ctx) as services:
        user, uri = console_users(services).add(username, password, role, OPERATOR, totp=totp)
    console.print(f"console user {user.username} added ({user.role})")
    if uri:
        console.print("load this into the person's authenticator now; it is not shown again:")
        emit(uri)


@users.command("list")
def list_users(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Every console user: role, second factor, disabled, last sign-in."""
    from cloudcip import clock
    from cloudcip.console.app import console_users

    with services_of(ctx) as services:
        found = console_users(services).list()
    rows = [{"username": u.username, "role": u.role, "totp": u.totp, "disabled": u.disabled,
             "last_login_at": clock.iso(u.last_login_at)} for u in found]
    if as_json:
        emit(json.dumps(rows))
        return
    for row in rows:
        emit(f"{row['username']}\t{row['role']}\t{'totp' if row['totp'] else '-'}\t"
             f"{'disabled' if row['disabled'] else 'active'}\t{row['last_login_at'] or 'never'}")


@users.command("disable")
def disable(ctx: typer.Context, username: Annotated[str, typer.Argument()]) -> None:
    """The person can no longer sign in; their open sessions end now."""
    from cloudcip.console.app import console_users

    with services_of(ctx) as services:
        console_users(services).disable(username, OPERATOR)
    console.print(f"console user {username} disabled")
