"""``cloudcip accounts close | show``: the account lifecycle from the terminal (B1)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cloudcip import clock
from cloudcip.cli.context import OPERATOR, emit, services_of
from cloudcip.records.lifecycle import AccountRecord
from cloudcip.runtime import account_lifecycle

app = typer.Typer(help="Accounts: closure and the retention clock.", no_args_is_help=True)


def account_json(record: AccountRecord) -> str:
    return json.dumps({
        "id": record.id, "customer_id": record.customer_id, "type": record.type, "channel": record.channel,
        "state": record.state, "parent_account_id": record.parent_account_id,
        "opened_at": clock.iso(record.opened_at), "closed_at": clock.iso(record.closed_at),
        "last_access": clock.iso(record.last_access), "retention_ends": clock.iso(record.retention_ends),
        "holds": record.holds}, indent=2)


@app.command("close")
def close(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(metavar="ACCOUNT_ID")],
    at: Annotated[str | None, typer.Option("--at", help="When it closed (date or ISO time; default now).")] = None,
) -> None:
    """Record that the account closed; its retention clock runs from the later of this and its last access."""
    moment = clock.parse_instant(at, "at") if at is not None else None
    with services_of(ctx) as services:
        record = account_lifecycle(services).close(account_id, OPERATOR, moment)
    emit(account_json(record))


@app.command("show")
def show(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(metavar="ACCOUNT_ID")],
    purpose: Annotated[str | None, typer.Option(help="Why (recorded on the ledger).")] = None,
) -> None:
    """The account with its closure, last access, retention end and standing holds."""
    with services_of(ctx) as services:
        record = account_lifecycle(services).show(account_id, OPERATOR, purpose)
    emit(account_json(record))
