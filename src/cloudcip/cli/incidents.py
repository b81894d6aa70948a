"""``cloudcip incidents``: make, read, verify incident reports and see where they went (G4, B3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cloudcip.cli.context import console, emit, services_of
from cloudcip.incidents.document import render_markdown
from cloudcip.incidents.service import IncidentService
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services

app = typer.Typer(help="Incident reports (malicious activity, reseller non-compliance).", no_args_is_help=True)

OPERATOR_OFFICER = Actor("cli:operator", "compliance-officer")


def incident_service(services: Services) -> IncidentService:
    return IncidentService(services.database, services.ledger, services.customers)


@app.command("create")
def create(
    ctx: typer.Context,
    account: Annotated[str, typer.Option("--account", help="The account the activity was found on.")],
    summary: Annotated[str, typer.Option("--summary", help="What was found (no personal data needed).")],
    action: Annotated[list[str] | None, typer.Option("--action", help="An action taken (repeatable).")] = None,
    kind: Annotated[str, typer.Option(help="malicious_activity or reseller_noncompliance.")] = "malicious_activity",
) -> None:
    """Make an incident report from a confirmed case: the account's access IPs and times and its
    identifiers are gathered as the report's indicators. The incident id is the last line of stdout."""
    with services_of(ctx) as services:
        report = incident_service(services).create(account, summary, OPERATOR_OFFICER, kind=kind,
                                                   actions_taken=action or (), purpose="incident report (CLI)")
    console.print(f"incident report kept: {len(report.content['indicators'])} indicators, sha256 {report.sha256}")
    emit(report.id)


@app.command("show")
def show(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    output_format: Annotated[str, typer.Option("--format", help="md (readable document) or json.")] = "md",
) -> None:
    """The report as a readable document (Markdown) or as its stored JSON; the read is on the ledger."""
    with services_of(ctx) as services:
        report = incident_service(services).read(incident_id, OPERATOR_OFFICER, purpose="incident report (CLI)")
    emit(json.dumps(report.content, indent=2) if output_format == "json" else render_markdown(report))


@app.command("export")
def export(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(help="Incident id.")],
    output_format: Annotated[str, typer.Option("--format", help="json (the report as kept) or pdf.")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Write here (a PDF needs it; JSON goes to stdout).")] = None,
) -> None:
    """Export the report as its kept JSON or as a PDF document; the read is on the ledger (G4)."""
    from cloudcip.errors import InvalidInput
    from cloudcip.incidents.document import render_pdf

    if output_format not in ("json", "pdf"):
        raise InvalidInput.field("format", "json or pdf")
    if output_format == "pdf" and out is None:
        raise InvalidInput.field("out", "a file to write the PDF to")
    with services_of(ctx) as services:
        report = incident_service(services).read(incident_id, OPERATOR_OFFICER, purpose="incident report export (CLI)")
    data = render_pdf(report) if output_format == "pdf" else (json.dumps(report.content, indent=2) + "\n").encode()
    if out is None:
        emit(data.decode().rstrip("\n"))
        return
    out.write_bytes(data)
    console.print(f"incident report written to {out} ({len(data)} bytes, report sha256 {report.sha256})")


@app.command("list")
def list_reports(
    ctx: typer.Context,
    account: Annotated[str | None, typer.Option("--account", help="Only this account's reports.")] = None,
) -> None:
    """Reports, newest first (id, kind, account, time, hash): JSON lines."""
    with services_of(ctx) as services:
        for row in incident_service(services).reports(OPERATOR_OFFICER, account_id=account):
            emit(json.dumps(row))


@app.command("verify")
def verify(ctx: typer.Context, incident_id: Annotated[str, typer.Argument(help="Incident id.")]) -> None:
    """Check the kept report against its hash and the ledger entry that recorded it (exit 5 if altered)."""
    with services_of(ctx) as services:
        emit(json.dumps(incident_service(services).verify(incident_id)))


@app.command("disclosures")
def disclosures(ctx: typer.Context, incident_id: Annotated[str, typer.Argument(help="Incident id.")]) -> None:
    """To whom and when the report (or a bundle made from it) went: JSON lines."""
    with services_of(ctx) as services:
        for row in incident_service(services).disclosures(incident_id, OPERATOR_OFFICER):
            emit(json.dumps(row))
