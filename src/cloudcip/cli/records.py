"""``cloudcip apikeys``, ``keys`` and ``customers``: roles, key rotation, purge (B2, B4)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress

from cloudcip import clock
from cloudcip.cli.context import OPERATOR, console, emit, fail, services_of
from cloudcip.records.customer_store import rotate_keys
from cloudcip.records.roles import ROLES, create_api_key

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
) -> None:
    """Create an API key; the key is printed once, as the last line of standard output."""
    if role not in ROLES:
        raise fail(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    with services_of(ctx) as services, services.ledger.unit_of_work() as work:
        key = create_api_key(work.conn, role, label, clock.now())
        from cloudcip.ledger.store import LedgerAction

        work.log(LedgerAction(OPERATOR.name, OPERATOR.role, "create_api_key", "api_key", key.split("_")[1],
                              detail={"role": role}))
    console.print(f"API key for role {role} (shown once; store it now):")
    emit(key)


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
) -> None:
    """Destroy a customer's data key (crypto-shredding); the ledger records the purge."""
    with services_of(ctx) as services:
        services.customers.purge(customer_id, OPERATOR, purpose=purpose)
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
