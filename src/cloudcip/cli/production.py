"""``cloudcip production create | verify``: signed productions to legal process (B5).

``create`` writes the package of exactly what the process covers and puts the production on the
ledger as a disclosure (the operator acts in the ``legal`` role); ``verify`` checks a package offline
and exits 0 only for an intact one, naming the first file or entry that fails otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cloudcip.cli.context import console, emit, settings_of
from cloudcip.cli.context import services_of as open_services
from cloudcip.errors import InvalidInput
from cloudcip.ledger.tree_head import load_public_key_pem
from cloudcip.legal.package import verify_package
from cloudcip.records.roles import Actor
from cloudcip.runtime import productions

LEGAL = Actor("cli:operator", "legal")
app = typer.Typer(help="Productions to legal process: signed, hash-manifested packages.", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    process_id: Annotated[str, typer.Argument(metavar="PROCESS_ID")],
    out: Annotated[Path, typer.Option("-o", "--output", help="Where to write the package (FILE.zip).")],
) -> None:
    """Build the package of what the process covers; the production's id is the last line of stdout."""
    with open_services(ctx) as services:
        record = productions(services).create(process_id, out, LEGAL)
    console.print(f"production of {record.customers} customer(s), {record.accounts} account(s), "
                  f"{record.ledger_entries} ledger entries with proofs, {record.files} files → {out}")
    console.print(f"manifest SHA-256 {record.manifest_sha256}")
    emit(record.id)


@app.command("verify")
def verify(
    ctx: typer.Context,
    package: Annotated[Path, typer.Argument(metavar="FILE.zip")],
    pubkey: Annotated[Path | None, typer.Option("--pubkey", help="The ledger's public key (PEM); default: "
                                                                  "this data directory's ledger key.")] = None,
) -> None:
    """Check a package offline; exit 0 only when every file, entry and proof holds."""
    if not package.is_file():
        raise InvalidInput.field("package", "no such file")
    if pubkey is not None:
        try:
            key = load_public_key_pem(pubkey.read_bytes())
        except (OSError, ValueError):
            raise InvalidInput.field("pubkey", "not an Ed25519 public key in PEM") from None
    else:
        settings = settings_of(ctx)
        if not settings.ledger_key_path.exists():
            raise InvalidInput.field("pubkey", "give --pubkey (no initialised data directory here)")
        with open_services(ctx) as services:
            key = services.ledger.public_key
    check = verify_package(package, key)
    if not check.ok:
        console.print(f"[red]production verification FAILED[/red]: {check.failure}")
        emit(f"FAILED {check.failure}")
        raise typer.Exit(1)
    emit(f"OK files={check.files} ledger_entries={check.entries} tree_size={check.tree_size}")
