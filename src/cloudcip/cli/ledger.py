"""``cloudcip ledger verify | proof N | pubkey``: the tamper-evident ledger from the terminal (B3)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.progress import Progress

from cloudcip.cli.context import console, emit, services_of

app = typer.Typer(help="The tamper-evident ledger.", no_args_is_help=True)


@app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Recompute the Merkle tree, check every signed tree head and the checkpoint. Exit 0 if intact."""
    with services_of(ctx) as services, Progress(console=console, transient=True) as progress:
        task = progress.add_task("verifying ledger", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = services.ledger.verify(progress=advance)
    if not report.ok:
        console.print(f"[red]ledger verification FAILED at index {report.first_bad_index}[/red]: {report.problem}")
        emit(f"FAILED first_bad_index={report.first_bad_index}")
        raise typer.Exit(1)
    emit(f"OK tree_size={report.tree_size} root={report.root_hash.hex()} "
              f"signed_heads={report.heads_checked} seconds={report.seconds:.2f}")


@app.command("proof")
def proof(ctx: typer.Context, index: Annotated[int, typer.Argument(metavar="N")]) -> None:
    """Print the inclusion proof of entry N as JSON (verify it with docs/offline_verifier.py)."""
    with services_of(ctx) as services:
        document = services.ledger.inclusion_proof(index)
    emit(json.dumps(document, indent=2))


@app.command("pubkey")
def pubkey(ctx: typer.Context) -> None:
    """Print the ledger's Ed25519 public key (PEM)."""
    with services_of(ctx) as services:
        emit(services.ledger.public_key_pem().strip())
