"""``cloudcip access import | account | ip | consume | signals`` and ``cloudcip ipintel import | list``: the access
ledger from the terminal (C1, C2, C3, C4)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from cloudcip import clock
from cloudcip.cli.context import OPERATOR, console, emit, fail, services_of
from cloudcip.ledger.store import LedgerAction

access_app = typer.Typer(help="The access ledger: every IP address and time of access or administration.",
                         no_args_is_help=True)
ipintel_app = typer.Typer(help="Offline IP intelligence datasets (ASN, Tor exits, hosting/VPN ranges).",
                          no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(access_app, name="access")
    app.add_typer(ipintel_app, name="ipintel")


@access_app.command("import")
def import_events(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A file of events (plain or gzip).")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl, ocsf or cloudtrail")] = "jsonl",
    batch_size: Annotated[int | None, typer.Option(
        help="Lines per committed batch (default: 250,000 on SQLite, 50,000 on PostgreSQL).", min=1)] = None,
) -> None:
    """Import a file of events; a killed import resumes where it stopped (nothing lost, nothing doubled)."""
    from cloudcip.access.importer import ImportProgress, import_file

    if fmt not in ("jsonl", "ocsf", "cloudtrail"):
        raise fail("--format is jsonl, ocsf or cloudtrail")
    total = path.stat().st_size
    with services_of(ctx) as services, Progress(
        TextColumn("importing events"), BarColumn(), TextColumn("{task.fields[events]:,} events"),
        TimeRemainingColumn(), console=console, transient=True,
    ) as progress:
        task = progress.add_task("import", total=total, events=0)

        def advance(state: ImportProgress) -> None:
            """After each committed batch: the bytes of the file read so far, the events stored."""
            progress.update(task, completed=state.bytes_read, total=state.total_bytes or total,
                            events=state.accepted)

        # a rejected batch (AccessBatchError) names every bad line; earlier batches stay imported and
        # a rerun resumes after them
        result = import_file(services.database, path, fmt, batch_size=batch_size, progress=advance)
        with services.ledger.unit_of_work() as work:
            work.log(LedgerAction(OPERATOR.name, OPERATOR.role, "import_access", "access_file", path.name[:64],
                                  purpose="access-event intake"))
    emit(json.dumps(asdict(result), default=str))


def _when(value: str | None, name: str) -> datetime | None:
    return None if value is None else clock.parse_instant(value, f"--{name}")


@access_app.command("account")
def account(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(metavar="ID")],
    start: Annotated[str | None, typer.Option("--from", help="ISO 8601 time")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO 8601 time")] = None,
    purpose: Annotated[str, typer.Option(help="Why (recorded on the ledger).")] = "operator query",
) -> None:
    """Every IP address of an account in a window, with first and last seen and counts."""
    from cloudcip.access.queries import account_activity, account_ips

    with services_of(ctx) as services:
        ips = account_ips(services.database, account_id, _when(start, "from"), _when(end, "to"))
        activity = account_activity(services.database, account_id)
        with services.ledger.unit_of_work() as work:
            work.log(LedgerAction(OPERATOR.name, OPERATOR.role, "read_access", "account", account_id[:64],
                                  purpose=purpose))
    emit(json.dumps({
        "account_id": account_id,
        "first_access": activity.first_access.isoformat() if activity else None,
        "last_access": activity.last_access.isoformat() if activity else None,
        "ips": [{"ip": str(i.ip), "first_seen": i.first_seen.isoformat(), "last_seen": i.last_seen.isoformat(),
                 "count": i.count, "country": i.country} for i in ips],
    }, indent=2))


@access_app.command("ip")
def ip(
    ctx: typer.Context,
    network: Annotated[str, typer.Argument(metavar="IP_OR_CIDR")],
    start: Annotated[str | None, typer.Option("--from", help="ISO 8601 time")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO 8601 time")] = None,
    purpose: Annotated[str, typer.Option(help="Why (recorded on the ledger).")] = "operator query",
) -> None:
    """Every account seen from an IP address or CIDR network in a window."""
    from cloudcip.access.queries import accounts_from

    with services_of(ctx) as services:
        seen = accounts_from(services.database, network, _when(start, "from"), _when(end, "to"))
        with services.ledger.unit_of_work() as work:
            work.log(LedgerAction(OPERATOR.name, OPERATOR.role, "search_access", "network", "query",
                                  purpose=purpose, detail={"accounts": len(seen)}))
    emit(json.dumps({"accounts": [{"account_id": s.account_id, "ip": str(s.ip), "first_seen": s.first_seen.isoformat(),
                                   "last_seen": s.last_seen.isoformat(), "count": s.count} for s in seen]}, indent=2))


@access_app.command("consume")
def consume(
    ctx: typer.Context,
    servers: Annotated[str, typer.Option(help="NATS servers.")] = "nats://127.0.0.1:4222",
    subject: Annotated[str, typer.Option(help="JetStream subject of access events.")] = "cloudcip.access",
    fmt: Annotated[str, typer.Option("--format", help="jsonl, ocsf or cloudtrail")] = "jsonl",
    exit_when_idle: Annotated[bool, typer.Option(help="Stop when the stream has nothing more.")] = False,
    connect_timeout: Annotated[float, typer.Option(help="Seconds to wait for NATS on each attempt.", min=0.1)] = 5.0,
    connect_attempts: Annotated[int, typer.Option(help="Attempts to connect (and to reconnect) before giving up.",
                                                  min=1)] = 3,
) -> None:
    """A durable JetStream consumer: acknowledges each batch only after its commit. When NATS does not
    answer it says so and exits 7 after the attempts; a lost connection is reported while it reconnects."""
    from cloudcip.access.consumer import run_consumer

    with services_of(ctx) as services:
        stats = run_consumer(services.database, servers=servers, subject=subject, fmt=fmt,
                             exit_when_idle=exit_when_idle, connect_timeout=connect_timeout,
                             connect_attempts=connect_attempts,
                             notify=lambda message: console.print(f"[yellow]{message}[/yellow]"))
    emit(json.dumps(asdict(stats), default=str))


@access_app.command("signals")
def signals(
    ctx: typer.Context,
    follow: Annotated[bool, typer.Option(help="Keep following new events (as ``cloudcip serve`` does).")] = False,
) -> None:
    """Raise the C4 signals of the events stored since the last evaluation (the signal follower's
    rounds, as ``cloudcip serve`` runs them), then stop, or keep following with ``--follow``."""
    import time

    from cloudcip.access.follower import catch_up, cursor_position, newest_event_id
    from cloudcip.runtime import screening_service
    from cloudcip.runtime_access import service_signal_policy

    with services_of(ctx) as services:
        policy = service_signal_policy(services, screening_service(services))
        start = cursor_position(services.database)
        total = max(0, newest_event_id(services.database) - start)
        raised = events = 0
        with Progress(TextColumn("signals"), BarColumn(), TextColumn("{task.completed:,}/{task.total:,} events"),
                      TimeRemainingColumn(), console=console, transient=True) as bar:
            task = bar.add_task("signals", total=total)
            while True:
                for done in catch_up(services.database, policy,
                                     progress=lambda r: bar.update(task, advance=r.events)):
                    raised += len(done.raised)
                    events += done.events
                if not follow:
                    break
                time.sleep(0.5)
        emit(json.dumps({"events_evaluated": events, "signals_raised": raised,
                         "cursor": cursor_position(services.database)}))


@ipintel_app.command("import")
def ipintel_import(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="asn, tor_exit or hosting")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
) -> None:
    """Import a versioned IP-intelligence dataset the operator holds (never fetched from the network)."""
    from cloudcip.access.ipintel import import_dataset

    with services_of(ctx) as services:
        result = import_dataset(services.database, kind, path)
    emit(json.dumps(asdict(result), default=str))


@ipintel_app.command("list")
def ipintel_list(ctx: typer.Context) -> None:
    """The imported IP-intelligence datasets and their versions."""
    from cloudcip.access.ipintel import list_datasets

    with services_of(ctx) as services:
        emit(json.dumps(list_datasets(services.database), indent=2, default=str))
