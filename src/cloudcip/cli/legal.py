"""``cloudcip legal process ...`` and ``cloudcip legal hold ...``: the register of legal processes and
preservation holds from the terminal (B1, B4, B5). The operator acts in the ``legal`` role.

``legal process add`` and ``legal hold add`` print the new id as the last line of standard output.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from cloudcip import clock
from cloudcip.cli.context import console, emit, services_of
from cloudcip.errors import FieldIssue, InvalidInput
from cloudcip.records.legal_process import PROCESS_KINDS, LegalProcessInput, ProcessRecord
from cloudcip.records.preservation import HoldRecord
from cloudcip.records.roles import Actor
from cloudcip.runtime import legal_holds, legal_processes

LEGAL = Actor("cli:operator", "legal")

app = typer.Typer(help="Legal processes and preservation holds.", no_args_is_help=True)
process_app = typer.Typer(help="The register of legal processes.", no_args_is_help=True)
hold_app = typer.Typer(help="Preservation holds (quick freeze).", no_args_is_help=True)
app.add_typer(process_app, name="process")
app.add_typer(hold_app, name="hold")


def input_problems(error: ValidationError) -> InvalidInput:
    """A pydantic error as cloudcip's 422/exit-2 error naming each field (never the value)."""
    return InvalidInput(fields=[FieldIssue(".".join(str(p) for p in item["loc"]) or "input", item["msg"])
                                for item in error.errors(include_url=False)])


def _identifier(text: str, position: int) -> dict[str, Any]:
    kind, _, rest = text.partition(":")
    if not rest:
        raise InvalidInput.field(f"identifier.{position}", "write KIND:VALUE (national_id:COUNTRY:NUMBER)")
    if kind == "national_id":
        country, _, number = rest.partition(":")
        return {"kind": kind, "country": country.upper(), "value": number}
    return {"kind": kind, "value": rest}


def process_json(record: ProcessRecord) -> str:
    return json.dumps({
        "id": record.id, "kind": record.kind, "authority": record.authority, "reference": record.reference,
        "handler": record.handler, "received": record.received.isoformat(),
        "due": record.due.isoformat() if record.due else None, "from": clock.iso(record.window_from),
        "to": clock.iso(record.window_to), "unmask": record.unmask, "state": record.state,
        "registered_at": clock.iso(record.registered_at), "scope": record.scope, "warnings": record.warnings},
        indent=2)


def hold_json(hold: HoldRecord) -> str:
    return json.dumps({"id": hold.id, "process_id": hold.process_id, "placed_at": clock.iso(hold.placed_at),
                       "released_at": clock.iso(hold.released_at), "release_reason": hold.release_reason,
                       "customers": hold.customers, "accounts": hold.accounts, "standing": hold.standing})


@process_app.command("add")
def process_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(PROCESS_KINDS)}.")],
    authority: Annotated[str, typer.Option(help="Who issued it (court, agency).")],
    reference: Annotated[str, typer.Option(help="Its docket or reference number.")],
    customer: Annotated[list[str] | None, typer.Option("--customer", help="A customer id in scope (repeat).")] = None,
    account: Annotated[list[str] | None, typer.Option("--account", help="An account id in scope (repeat).")] = None,
    identifier: Annotated[list[str] | None, typer.Option(
        "--identifier", help="KIND:VALUE in scope, e.g. email:a@b.example or national_id:DE:T22000129 (repeat).")
    ] = None,
    ip: Annotated[list[str] | None, typer.Option("--ip", help="An IP address or CIDR network in scope (repeat).")
                  ] = None,
    start: Annotated[str | None, typer.Option("--from", help="Start of the time window.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="End of the time window.")] = None,
    due: Annotated[str | None, typer.Option("--due", help="When the answer is due (not in the past).")] = None,
    received: Annotated[str | None, typer.Option("--received", help="When it was received (default today).")
                        ] = None,
    handler: Annotated[str | None, typer.Option(help="The person handling it.")] = None,
    masked: Annotated[bool, typer.Option("--masked", help="The process allows masked records only.")] = False,
) -> None:
    """Register a legal process; its id is the last line of standard output."""
    body: dict[str, Any] = {
        "kind": kind, "authority": authority, "reference": reference, "handler": handler,
        "customers": customer or [], "accounts": account or [], "networks": ip or [],
        "identifiers": [_identifier(text, n) for n, text in enumerate(identifier or [])], "unmask": not masked,
        "from": clock.parse_instant(start, "from") if start else None,
        "to": clock.parse_instant(end, "to") if end else None,
        "due": clock.parse_date(due, "due") if due else None,
        "received": clock.parse_date(received, "received") if received else None,
    }
    try:
        request = LegalProcessInput.model_validate(body)
    except ValidationError as error:
        raise input_problems(error) from None
    with services_of(ctx) as services:
        record = legal_processes(services).register(request, LEGAL)
    for warning in record.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"registered {record.kind} {record.reference}: {record.scope.get('customers_in_scope', 0)} "
                  f"customer(s), {record.scope.get('accounts_in_scope', 0)} account(s) in scope")
    emit(record.id)


@process_app.command("show")
def process_show(ctx: typer.Context, process_id: Annotated[str, typer.Argument(metavar="PROCESS_ID")]) -> None:
    """A legal process with what its scope resolves to (counts only)."""
    with services_of(ctx) as services:
        emit(process_json(legal_processes(services).show(process_id, LEGAL)))


@process_app.command("list")
def process_list(ctx: typer.Context) -> None:
    """Every registered legal process, one JSON object per line."""
    with services_of(ctx) as services:
        for record in legal_processes(services).list(LEGAL):
            emit(json.dumps(json.loads(process_json(record))))


@process_app.command("close")
def process_close(ctx: typer.Context, process_id: Annotated[str, typer.Argument(metavar="PROCESS_ID")]) -> None:
    """The process is answered or withdrawn: no legal read, hold or production under it afterwards."""
    with services_of(ctx) as services:
        emit(process_json(legal_processes(services).close(process_id, LEGAL)))


@hold_app.command("add")
def hold_add(ctx: typer.Context, process_id: Annotated[str, typer.Argument(metavar="PROCESS_ID")]) -> None:
    """Freeze what the process covers now; the hold's id is the last line of standard output."""
    with services_of(ctx) as services:
        hold = legal_holds(services).place(process_id, LEGAL)
    console.print(f"hold placed: {hold.customers} customer(s), {hold.accounts} account(s) frozen")
    emit(hold.id)


@hold_app.command("release")
def hold_release(
    ctx: typer.Context,
    hold_id: Annotated[str, typer.Argument(metavar="HOLD_ID")],
    reason: Annotated[str, typer.Option(help="Why the hold ends (required).")],
) -> None:
    """Release a hold; the records it froze follow their retention again unless another hold stands."""
    with services_of(ctx) as services:
        emit(hold_json(legal_holds(services).release(hold_id, reason, LEGAL)))


@hold_app.command("list")
def hold_list(ctx: typer.Context, process_id: Annotated[str | None, typer.Option("--process")] = None) -> None:
    """The holds, one JSON object per line."""
    with services_of(ctx) as services:
        for hold in legal_holds(services).list(LEGAL, process_id=process_id):
            emit(hold_json(hold))
