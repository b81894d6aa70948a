"""``cloudcip applications submit FILE.json | show ID``: the signup path for operators without an
HTTP client (A1, A4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError

from cloudcip.api.input_guard import refuse_nul
from cloudcip.cli.context import emit, services_of
from cloudcip.domain.application import ApplicationRequest
from cloudcip.errors import FieldIssue, InvalidInput
from cloudcip.records.roles import Actor
from cloudcip.runtime import application_service, gate_applications
from cloudcip.runtime_access import signup_ip_lookup

app = typer.Typer(help="Account-opening applications.", no_args_is_help=True)
OPERATOR_SIGNUP = Actor("cli:operator", "signup-service")
_REQUEST: TypeAdapter[ApplicationRequest] = TypeAdapter(ApplicationRequest)


@app.command("submit")
def submit(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE.json", exists=True, dir_okay=False)],
    idempotency_key: Annotated[str | None, typer.Option(help="Makes a retry return the same answer.")] = None,
) -> None:
    """Submit an application from a JSON file; print the decision as JSON."""
    raw = path.read_bytes()
    refuse_nul(raw)
    try:
        request = _REQUEST.validate_json(raw)
    except ValidationError as exc:
        raise InvalidInput(fields=[
            FieldIssue(".".join(str(p) for p in error["loc"] if p not in ("individual", "entity")) or "body",
                       error["msg"]) for error in exc.errors()]) from None
    with services_of(ctx) as services:
        # the signup address's facts as the API's decision has them (hosting, Tor, country, ASN: C4, G1)
        applications = application_service(services, ip_lookup=signup_ip_lookup(services.database))
        answer = gate_applications(services, applications).submit(request, OPERATOR_SIGNUP,
                                                                  idempotency_key=idempotency_key)
    emit(json.dumps(answer, indent=2))


@app.command("show")
def show(ctx: typer.Context, application_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Show an application's decision and its case history (the read is on the ledger)."""
    with services_of(ctx) as services:
        answer = application_service(services).show(application_id, Actor("cli:operator", "analyst"))
    emit(json.dumps(answer, indent=2))


@app.command("redress")
def redress(
    ctx: typer.Context,
    application_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why the case is re-opened (recorded with the transition).")],
) -> None:
    """A6: re-open a refused, closed or restricted case for review, as a compliance officer (on the
    ledger; the provider is told through the webhook). Any other state is a conflict (exit 5)."""
    with services_of(ctx) as services:
        answer = application_service(services).redress(application_id, reason,
                                                             Actor("cli:operator", "compliance-officer"))
    emit(json.dumps(answer, indent=2))
