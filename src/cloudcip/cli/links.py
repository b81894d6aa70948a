"""``cloudcip links``: a customer's links, a cluster, the path joining two customers; backfill and
rebuild of the graph (G1)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress

from cloudcip.cli.context import console, emit, services_of
from cloudcip.linkage.service import LinkageService
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services

if TYPE_CHECKING:
    from cloudcip.jobs.runner import PeriodicTask

app = typer.Typer(help="Linked accounts: shared identifiers (blind indexes), clusters, ban evasion.",
                  no_args_is_help=True)
OPERATOR_ANALYST = Actor("cli:operator", "analyst")


def linkage_service(services: Services) -> LinkageService:
    return LinkageService(services.database, services.keyring, services.ledger)


@app.command("show")
def show(ctx: typer.Context, customer_id: Annotated[str, typer.Argument(help="Customer id.")],
         purpose: Annotated[str, typer.Option(help="Why you look (on the ledger).")] = "link review (CLI)") -> None:
    """The customer's identifiers (masked) and every subject linked to it, strong links first (JSON)."""
    with services_of(ctx) as services:
        emit(json.dumps(linkage_service(services).links(customer_id, OPERATOR_ANALYST, purpose=purpose), indent=2))


@app.command("explain")
def explain(ctx: typer.Context, first: Annotated[str, typer.Argument(help="Customer id.")],
            second: Annotated[str, typer.Argument(help="Customer id.")],
            purpose: Annotated[str, typer.Option(help="Why you look (on the ledger).")] = "link review (CLI)") -> None:
    """The chain of shared identifiers joining two customers, masked (JSON); exit 0 either way."""
    with services_of(ctx) as services:
        emit(json.dumps(linkage_service(services).explain(first, second, OPERATOR_ANALYST, purpose=purpose),
                        indent=2))


@app.command("cluster")
def cluster(ctx: typer.Context, cluster_id: Annotated[str, typer.Argument(help="Cluster id.")]) -> None:
    """A cluster's members, their flags and the kinds of link that join them (JSON)."""
    with services_of(ctx) as services:
        emit(json.dumps(linkage_service(services).cluster(cluster_id, OPERATOR_ANALYST, purpose="link review (CLI)"),
                        indent=2))


@app.command("backfill")
def backfill(ctx: typer.Context) -> None:
    """Add the customers (and sub-lessees) stored before linkage, or outside the signup, to the graph
    (their blind indexes; e-mails and sub-lessees' documents are opened once to compute theirs). Safe to
    run again: subjects already in the graph are skipped."""
    with services_of(ctx) as services, Progress(console=console, transient=True) as progress:
        task = progress.add_task("linking stored customers", total=services.customers.count())
        graph = linkage_service(services).graph
        added = graph.backfill(progress=lambda n: progress.advance(task, n))
        sub_lessees = graph.backfill_sub_lessees()
    emit(json.dumps({"customers_added": added, "sub_lessees_added": sub_lessees}))


@app.command("rebuild")
def rebuild(ctx: typer.Context) -> None:
    """Recompute every cluster from the stored strong identifiers."""
    with services_of(ctx) as services:
        emit(json.dumps(linkage_service(services).graph.rebuild_clusters()))


def scheduled_links_task() -> PeriodicTask:
    """``cloudcip serve``: customers stored outside the signup (``POST /v1/customers``) and sub-lessees
    shared by resellers join the graph within 15 minutes (signups join it in their own transaction)."""
    from cloudcip.jobs.runner import PeriodicTask

    def run(services: Services, _now: object) -> dict[str, int]:
        graph = linkage_service(services).graph
        return {"customers_added": graph.backfill(), "sub_lessees_added": graph.backfill_sub_lessees()}

    return PeriodicTask("links-backfill", every_seconds=900.0, run=run)
