"""``cloudcip retention plan | run``: what the retention period keeps until when, and the purge (B1).

``--as-of DATE`` evaluates retention as on that date, so a provider sees what a date will purge.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.progress import Progress
from sqlalchemy import func, select

from cloudcip import clock
from cloudcip.cli.context import OPERATOR, console, emit, services_of
from cloudcip.records.retention import CustomerRetention
from cloudcip.runtime import retention_service
from cloudcip.storage.schema import customer

app = typer.Typer(help="Retention of records (B1): plan and run.", no_args_is_help=True)

AsOf = Annotated[str | None, typer.Option("--as-of", help="Evaluate as on this date (default: now).")]


def _as_of(text: str | None) -> datetime:
    return clock.parse_instant(text, "as-of") if text is not None else clock.now()


def _item_json(item: CustomerRetention, as_of: datetime) -> dict[str, object]:
    return {"customer_id": item.customer_id, "status": item.status_on(as_of),
            "retention_ends": clock.iso(item.retention_ends),
            "accounts": [{"account_id": a.account_id, "retention_ends": clock.iso(a.retention_ends),
                          "status": "open" if a.retention_ends is None else "held" if a.held
                          else "due" if a.retention_ends <= as_of else "kept"} for a in item.accounts]}


@app.command("plan")
def plan(ctx: typer.Context, as_of: AsOf = None,
         as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """Every record whose retention has an end: when, and whether it is due, held or kept on that date."""
    moment = _as_of(as_of)
    counts: dict[str, int] = {}
    with services_of(ctx) as services:
        for item in retention_service(services).plan():
            status = item.status_on(moment)
            counts[status] = counts.get(status, 0) + 1
            if as_json:
                emit(json.dumps(_item_json(item, moment)))
            else:
                emit(f"{item.customer_id}\t{status}\t{clock.iso(item.retention_ends) or '-'}\t"
                     f"{len(item.accounts)} account(s)")
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "nothing"
    console.print(f"as of {clock.iso(moment)}: {summary}")


@app.command("run")
def run(ctx: typer.Context, as_of: AsOf = None) -> None:
    """Purge now what is due (as on --as-of) and not held; each purge on the ledger."""
    moment = _as_of(as_of)
    with services_of(ctx) as services, Progress(console=console, transient=True) as progress:
        with services.database.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(customer)).scalar_one())
        task = progress.add_task("retention run", total=total)
        report = retention_service(services).run(moment, progress=lambda done: progress.advance(task, done),
                                                  actor=OPERATOR)
    emit(json.dumps({"as_of": clock.iso(report.as_of), "customers_purged": report.customers_purged,
                     "accounts_purged": report.accounts_purged, "events_deleted": report.events_deleted,
                     "sub_lessees_deleted": report.sub_lessees_deleted, "held_skipped": report.held_skipped}))
