"""``cloudcip sharing``: STIX 2.1 bundles out, TAXII 2.1 collections and peers, indicators in (G3, G4)."""

from __future__ import annotations

from typing import Annotated

import typer

from cloudcip.cli.context import console, emit, services_of
from cloudcip.cli.incidents import incident_service
from cloudcip.records.roles import Actor
from cloudcip.sharing.export import export_incident
from cloudcip.sharing.tlp import parse_level

app = typer.Typer(help="Sharing with peers: STIX 2.1 over TAXII 2.1, marked with TLP 2.0.", no_args_is_help=True)

OPERATOR_OFFICER = Actor("cli:operator", "compliance-officer")


@app.command("export")
def export(
    ctx: typer.Context,
    incident: Annotated[str, typer.Option("--incident", help="Incident id.")],
    tlp: Annotated[str, typer.Option("--tlp", help="clear|green|amber|amber+strict|red")],
    recipient: Annotated[str, typer.Option(help="To whom the bundle goes (recorded with the export).")] = "export",
) -> None:
    """Print one STIX 2.1 bundle of the incident, marked with TLP 2.0 and scrubbed of personal data
    not directly related to the threat; the export is recorded (to whom, when, hash)."""
    level = parse_level(tlp, "--tlp")
    with services_of(ctx) as services:
        text = export_incident(incident_service(services), incident, level, OPERATOR_OFFICER,
                               provider_name=services.settings.sharing_provider_name, recipient=recipient,
                               purpose="sharing export (CLI)")
    console.print(f"bundle at TLP:{level.upper()} recorded as disclosed to {recipient}")
    emit(text)
