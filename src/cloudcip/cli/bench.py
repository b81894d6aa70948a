"""``cloudcip bench ...``: the benchmarks of ``bench/``, printing their figures."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cloudcip.cli.context import emit, fail

app = typer.Typer(help="Benchmarks that print figures (see bench/).", no_args_is_help=True)


def _bench_module(name: str) -> Any:
    """Import ``bench.<name>`` from the source checkout (benchmarks are not installed)."""
    root = Path(__file__).resolve().parents[3]
    if (root / "bench" / f"{name}.py").exists() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        raise fail(f"benchmark {name} needs a source checkout (bench/{name}.py)") from exc


def _print(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(json.dumps(figures))
    else:
        for key, value in figures.items():
            emit(f"{key}: {value}")


@app.command("store")
def store(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    customers: Annotated[int, typer.Option(help="Customers to create.")] = 5000,
    ledger_entries: Annotated[int, typer.Option(help="Ledger entries for the append and verify figures.")] = 1_000_000,
    postgres_url: Annotated[str | None, typer.Option(help="Also measure on this PostgreSQL URL.",
                                                     envvar="CLOUDCIP_BENCH_POSTGRES_URL")] = None,
) -> None:
    """Customer creates per second, ledger appends per second, ledger verify time (SQLite, PostgreSQL)."""
    module = _bench_module("store")
    _print(module.run(customers=customers, ledger_entries=ledger_entries, postgres_url=postgres_url), as_json)


@app.command("signup")
def signup(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    decisions: Annotated[int, typer.Option(help="Decisions measured in process.")] = 1000,
    http_decisions: Annotated[int, typer.Option(help="Decisions measured over HTTP (0: skip).")] = 2000,
    clients: Annotated[int, typer.Option(help="Concurrent HTTP clients.")] = 4,
    workers: Annotated[int, typer.Option(help="API worker processes of the server (one per core).")] = 2,
) -> None:
    """Signup decision latency in process and over HTTP, and decisions per second over HTTP (SQLite)."""
    module = _bench_module("signup")
    _print(module.run(decisions=decisions, http_decisions=http_decisions, clients=clients, workers=workers), as_json)


@app.command("screening")
def screening(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    pr_curve: Annotated[Path | None, typer.Option(
        help="Write the evaluation's precision-recall curve here (PNG; needs the bench extra).")] = None,
) -> None:
    """Recall per perturbation class, false-positive rate on non-listed names, query latency against
    brute force, and the independent evaluation (real alias and original-script pairs with
    leave-one-out, look-alike and Faker negatives, reporting half): all real lists of
    ../shared/data/lists loaded."""
    module = _bench_module("screening")
    _print(module.run(json_output=False, pr_curve=pr_curve), as_json)


@app.command("rescreen")
def rescreen(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    customers: Annotated[int, typer.Option(help="Generated customers to re-screen.")] = 100_000,
    workers: Annotated[int, typer.Option(help="Re-screening worker processes.")] = 2,
    measure_share: Annotated[float, typer.Option(
        help="Share of the customers planted in the jurisdiction measure's four groups.", min=0.0, max=0.5)] = 0.02,
) -> None:
    """Re-screening every customer (D4): a full run, then the delta run a list update starts; customers/s,
    the planted matches found, the 1,000,000-customer time (measured or extrapolated); all real lists.
    Then a jurisdiction measure (IR) comes into effect over customers holding accounts: the accounts
    closed per planted group, and those closed wrongly (U.S. persons, nationals living elsewhere: D1, D2)."""
    module = _bench_module("rescreen")
    _print(module.run(customers=customers, workers=workers, measure_share=measure_share), as_json)


@app.command("access")
def access(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    events: Annotated[int, typer.Option(help="Generated events to import and query.")] = 10_000_000,
    postgres_url: Annotated[str | None, typer.Option(help="Also measure on this PostgreSQL URL.",
                                                     envvar="CLOUDCIP_BENCH_POSTGRES_URL")] = None,
    batch_size: Annotated[int | None, typer.Option(
        help="Lines per committed batch (default: the importer's, 250,000 on SQLite, 50,000 on PostgreSQL).",
        min=1)] = None,
    http_events: Annotated[int, typer.Option(help="Events to POST to /v1/access-events (0: skip).")] = 1_000_000,
    http_batch: Annotated[int, typer.Option(help="Events per POST request.")] = 5000,
    http_clients: Annotated[int, typer.Option(help="Concurrent HTTP clients.")] = 3,
    skip_import: Annotated[bool, typer.Option(help="Only the HTTP phase.")] = False,
    http_workers: Annotated[int, typer.Option(help="API worker processes of the server (serve --workers).",
                                              min=1)] = 2,
) -> None:
    """Access-event import rate against the engine's bare-insert floor, intake over HTTP, query
    latency (an account's IPs, accounts from an IP and from a /24), peak memory; SQLite and
    optionally PostgreSQL (C1-C3)."""
    module = _bench_module("access")
    _print(module.run(None, events, batch_size=batch_size, postgres_url=postgres_url, http_events=http_events,
                      http_batch=http_batch, http_clients=http_clients, skip_import=skip_import,
                      http_workers=http_workers), as_json)


@app.command("console")
def console_pages(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    customers: Annotated[int, typer.Option(help="Customers stored.")] = 100_000,
    openings: Annotated[int, typer.Option(help="Account openings decided (a third high-risk: in review).")] = 3000,
    repeat: Annotated[int, typer.Option(help="Renders of each page.")] = 200,
) -> None:
    """Server-side render time (p50, p99) of each main console page with N customers stored (SQLite)."""
    module = _bench_module("console")
    _print(module.run(customers=customers, openings=openings, repeat=repeat), as_json)


@app.command("reporting")
def reporting(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    customers: Annotated[int, typer.Option(help="Generated customers (with accounts and access history).")
                         ] = 100_000,
    events_per_account: Annotated[int, typer.Option(help="Access events per account.")] = 3,
    production_accounts: Annotated[int, typer.Option(help="Accounts a production covers.")] = 1_000,
) -> None:
    """Roster export, certification, a production of 1,000 accounts and its verification, a retention
    run over every record (H1, H3, B5, B1); SQLite."""
    module = _bench_module("reporting")
    _print(module.run(customers=customers, events_per_account=events_per_account,
                      production_accounts=production_accounts), as_json)
@app.command("linkage")
def linkage(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    customers: Annotated[int, typer.Option(help="Customers stored.")] = 1_000_000,
    checks: Annotated[int, typer.Option(help="Signup link checks measured.")] = 2000,
    shows: Annotated[int, typer.Option(help="links show calls measured.")] = 1000,
    postgres_url: Annotated[str | None, typer.Option(help="Also measure on this PostgreSQL URL.",
                                                     envvar="CLOUDCIP_BENCH_POSTGRES_URL")] = None,
) -> None:
    """G1: the links and ban-evasion check added to a signup (p50/p99), links show (p50/p99), a full
    cluster rebuild, over N stored customers."""
    module = _bench_module("linkage")
    _print(module.run(customers=customers, checks=checks, shows=shows, postgres_url=postgres_url), as_json)


@app.command("sharing")
def sharing(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    indicators: Annotated[int, typer.Option(help="Shared indicators taken in and matched.")] = 100_000,
    customers: Annotated[int, typer.Option(help="Customers stored (wallets matched by blind index).")] = 1_000_000,
    events: Annotated[int, typer.Option(help="Access events stored (addresses matched in windows).")] = 10_000_000,
    objects: Annotated[int, typer.Option(help="Objects in the collection paged through.")] = 20_000,
) -> None:
    """G3: a TAXII page of 1,000 objects (p50/p99) and the ingest of shared indicators with matching."""
    module = _bench_module("sharing")
    _print(module.run(indicators_count=indicators, customers=customers, events=events, objects=objects), as_json)


@app.command("resellers")
def resellers(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    resellers_count: Annotated[int, typer.Option("--resellers", help="Resellers on the register.")] = 1000,
    sub_lessees: Annotated[int, typer.Option(help="Sub-lessees spread over them.")] = 1_000_000,
    scale: Annotated[float, typer.Option(min=0.0001, max=10.0, help="Multiply both counts (0.01 for a quick run).")
                     ] = 1.0,
    samples: Annotated[int, typer.Option(help="Samples drawn and timed.")] = 20,
    sample_size: Annotated[int, typer.Option(help="Sub-lessees per sample.")] = 100,
) -> None:
    """E3: drawing a review's sample of a reseller's sub-lessees (p50/p99/max) and the daily termination
    clock job, over R resellers and S sub-lessees (targets: sample <= 1 s, clock job <= 5 s)."""
    module = _bench_module("resellers")
    _print(module.run(resellers=resellers_count, sub_lessees=sub_lessees, scale=scale, samples=samples,
                      sample_size=sample_size), as_json)


@app.command("exemptions")
def exemptions(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object of figures.")] = False,
    customers: Annotated[int, typer.Option(help="Signups over the year.")] = 100_000,
    events: Annotated[int, typer.Option(help="Access events over the year.")] = 10_000_000,
) -> None:
    """The exemption evidence pack over a year of N signups and M access events: its time, at a tenth of
    the events and at all of them, and the peak memory around each build (SQLite) (F2)."""
    module = _bench_module("exemptions")
    _print(module.run(customers=customers, events=events), as_json)
