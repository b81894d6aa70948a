"""The ``cloudcip`` command: init, serve, demo, API keys, keys, customers, ledger, bench, resellers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from cloudcip import __version__
from cloudcip.cli import access as access_cli
from cloudcip.cli import accounts as accounts_cli
from cloudcip.cli import applications as applications_cli
from cloudcip.cli import bench as bench_cli
from cloudcip.cli import compliance as compliance_cli
from cloudcip.cli import console as console_cli
from cloudcip.cli import exemptions as exemptions_cli
from cloudcip.cli import incidents as incidents_cli
from cloudcip.cli import ledger as ledger_cli
from cloudcip.cli import legal as legal_cli
from cloudcip.cli import links as links_cli
from cloudcip.cli import policy as policy_cli
from cloudcip.cli import production as production_cli
from cloudcip.cli import records as records_cli
from cloudcip.cli import reporting as reporting_cli
from cloudcip.cli import resellers as resellers_cli
from cloudcip.cli import retention as retention_cli
from cloudcip.cli import risk as risk_cli
from cloudcip.cli import screening as screening_cli
from cloudcip.cli import service as service_cli
from cloudcip.cli import sharing as sharing_cli
from cloudcip.cli.context import CloudcipGroup
from cloudcip.settings import load_settings

app = typer.Typer(
    name="cloudcip",
    cls=CloudcipGroup,
    help="Customer Identification Program for U.S. IaaS providers (Executive Order 13984).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # plain help, wrapped to the terminal: Rich's panels cut long option names and values at 80 columns
    rich_markup_mode=None,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"cloudcip {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", envvar="CLOUDCIP_DATA_DIR",
                                                  help="Data directory (keys, SQLite database, checkpoint).")] = None,
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_print_version,
                                          help="Print the version and exit.")] = False,
) -> None:
    os.umask(0o077)  # keys, database and checkpoint are the operator's alone
    ctx.obj = {"settings": load_settings(data_dir)}


service_cli.register(app)
records_cli.register(app)
reporting_cli.register(app)
policy_cli.register(app)
access_cli.register(app)
screening_cli.register(app)
app.add_typer(applications_cli.app, name="applications")
app.add_typer(ledger_cli.app, name="ledger")
app.add_typer(bench_cli.app, name="bench")
app.add_typer(compliance_cli.app, name="compliance")
app.add_typer(resellers_cli.app, name="resellers")
app.add_typer(incidents_cli.app, name="incidents")
app.add_typer(console_cli.app, name="console")
app.add_typer(accounts_cli.app, name="accounts")
app.add_typer(retention_cli.app, name="retention")
app.add_typer(legal_cli.app, name="legal")
app.add_typer(production_cli.app, name="production")
app.add_typer(sharing_cli.app, name="sharing")
app.add_typer(links_cli.app, name="links")
app.add_typer(risk_cli.app, name="risk")
app.add_typer(exemptions_cli.app, name="exemptions")


if __name__ == "__main__":
    app()
