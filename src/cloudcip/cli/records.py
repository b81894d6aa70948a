"""``cloudcip apikeys``, ``keys`` and ``customers``: roles, key rotation, purge (B2, B4)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

import typer
from rich.progress import Progress

from cloudcip import clock
from cloudcip.cli.context import OPERATOR, console, emit, fail, services_of
from cloudcip.records.api_keys import ApiKeyRegister
from cloudcip.records.roles import ROLES, role_table_markdown
from cloudcip.records.rotation import rotate_keys

apikeys = typer.Typer(help="API keys: one role each, stored hashed.", no_args_is_help=True)
keys = typer.Typer(help="Key-encryption keys of the keyring.", no_args_is_help=True)
customers = typer.Typer(help="Customer records.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(apikeys, name="apikeys")
    app.add_typer(keys, name="keys")
    app.add_typer(customers, name="customers")


@apikeys.command("create")
def apikeys_create(
    ctx: typer.Context,
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}.")],
    label: Annotated[str | None, typer.Option(help="What the key is for.")] = None,
    expires: Annotated[str | None, typer.Option(
        help="When the key stops working: a date (its midnight, UTC) or an ISO 8601 time.")] = None,
    expires_in_days: Annotated[int | None, typer.Option(min=1, help="Or: this many days from now.")] = None,
) -> None:
    """Create an API key; the key is printed once, as the last line of standard output."""
    if role not in ROLES:
        raise fail(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    expires_at = clock.parse_instant(expires, "--expires") if expires else None
    if expires_in_days is not None:
        expires_at = clock.now() + timedelta(days=expires_in_days)
    with services_of(ctx) as services:
        key, info = ApiKeyRegister(services.database, services.ledger).create(OPERATOR, role, label, expires_at)
    until = f", expires {clock.iso(info.expires_at)}" if info.expires_at else ""
    console.print(f"API key {info.id} for role {role}{until} (shown once; store it now):")
    emit(key)


@apikeys.command("list")
def apikeys_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key.")] = False,
) -> None:
    """Every API key: id, role, state (active, expired, revoked), label, created, expires, last used."""
    now = clock.now()
    with services_of(ctx) as services:
        keys_found = ApiKeyRegister(services.database, services.ledger).list()
    if as_json:
        for info in keys_found:
            emit(json.dumps(info.as_json(now)))
        return
    for info in keys_found:
        fields = info.as_json(now)
        emit("\t".join(str(fields[name] or "-") for name in ("id", "role", "state", "created_at", "expires_at",
                                                              "last_used_at", "label")))


@apikeys.command("revoke")
def apikeys_revoke(ctx: typer.Context, key_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Revoke an API key: the next request with it is refused, by every worker and node."""
    with services_of(ctx) as services:
        info = ApiKeyRegister(services.database, services.ledger).revoke(OPERATOR, key_id)
    emit(f"revoked {info.id} ({info.role})")


@apikeys.command("roles")
def apikeys_roles() -> None:
    """The roles and what each may do (the README's table, from the code)."""
    emit(role_table_markdown().rstrip())


@keys.command("rotate")
def keys_rotate(ctx: typer.Context) -> None:
    """Re-wrap every customer data key under a new key-encryption key; the service may keep running."""
    with services_of(ctx) as services, Progress(console=console, transient=True) as progress:
        task = progress.add_task("re-wrapping data keys", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = rotate_keys(services.database, services.keyring, services.ledger, OPERATOR, progress=advance)
    emit(f"new key-encryption key {report.new_kek_id}; re-wrapped {report.rewrapped} data keys; "
              f"retired {', '.join(report.retired) or 'none'}")


@customers.command("purge")
def customers_purge(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(metavar="ID")],
    purpose: Annotated[str, typer.Option(help="Why (recorded on the ledger).")] = "retention period ended",
    legal_basis: Annotated[str | None, typer.Option(
        "--legal-basis", help="Before the retention period ends: the id of a registered court order or "
                              "statutory deletion covering the customer.")] = None,
) -> None:
    """Destroy a customer's data key (crypto-shredding); the ledger records the purge. Refused under a
    legal hold, and before the retention period ends without --legal-basis (B1)."""
    with services_of(ctx) as services:
        services.customers.purge(customer_id, OPERATOR, purpose=purpose, legal_basis=legal_basis)
    emit(f"purged {customer_id}")


@customers.command("show")
def customers_show(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(metavar="ID")],
    purpose: Annotated[str | None, typer.Option(help="Why (recorded on the ledger).")] = None,
) -> None:
    """Show a customer record, masked (the read is on the ledger)."""
    from cloudcip.records.roles import Actor

    with services_of(ctx) as services:
        view = services.customers.read(customer_id, Actor("cli:operator", "analyst"), purpose=purpose)
    emit(json.dumps(view, indent=2, ensure_ascii=False))
