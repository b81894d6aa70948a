"""``cloudcip resellers sub-lessees add ACCOUNT_ID FILE.json | list ACCOUNT_ID | remove ACCOUNT_ID ID |
rescreen``: the sub-lessees a Reseller Account shares, for operators without an HTTP client (E2, D3, D4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from cloudcip import clock
from cloudcip.api.input_guard import refuse_nul
from cloudcip.cli.context import OPERATOR, console, emit, fail, services_of
from cloudcip.cli.reseller_register import install as install_register
from cloudcip.errors import InvalidInput
from cloudcip.records.roles import Actor

app = typer.Typer(help="The reseller register, its oversight and termination clocks, and the sub-lessees of "
                       "Reseller Accounts.", no_args_is_help=True)
sub_lessees = typer.Typer(help="Sub-lessees shared by a Reseller Account (E2).", no_args_is_help=True)
app.add_typer(sub_lessees, name="sub-lessees")
install_register(app)  # E1, E3: add, list, show, certify, finding, remediate, terminate, clock, cip, review

OPERATOR_SHARING = Actor("cli:operator", "signup-service")
OPERATOR_READING = Actor("cli:operator", "analyst")


@sub_lessees.command("add")
def add(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(metavar="ACCOUNT_ID", help="The Reseller Account.")],
    path: Annotated[Path, typer.Argument(metavar="FILE.json", exists=True, dir_okay=False,
                                         help="One sub-lessee, or a JSON array of them.")],
) -> None:
    """Share sub-lessees from a JSON file: stored sealed, screened; prints ids and outcomes as JSON."""
    from cloudcip.resellers import sub_lessees as register
    from cloudcip.runtime import screening_service, sub_lessee_links

    raw = path.read_bytes()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(f"{path.name}: not JSON") from None
    refuse_nul(raw)
    items, many = register.parse_sub_lessees(body)
    with services_of(ctx) as services:
        shared = register.share_sub_lessees(services, screening_service(services), account_id, items,
                                            OPERATOR_SHARING, many=many, purpose="sub-lessees shared (CLI)",
                                            links=sub_lessee_links(services))
    emit(json.dumps({"reseller_account_id": account_id, "sub_lessees": [s.as_json() for s in shared]}, indent=2))


@sub_lessees.command("list")
def list_(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(metavar="ACCOUNT_ID", help="The Reseller Account.")],
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    cursor: Annotated[str | None, typer.Option(help="The next_cursor of the previous page.")] = None,
    status: Annotated[str | None, typer.Option(help="active, removed or refused.")] = None,
    purpose: Annotated[str | None, typer.Option(help="Why (recorded on the ledger).")] = None,
) -> None:
    """List a Reseller Account's sub-lessees, masked (each read is on the ledger)."""
    from cloudcip.resellers import sub_lessees as register

    if status is not None and status not in ("active", "removed", "refused"):
        raise fail("--status: one of active, removed, refused")
    with services_of(ctx) as services:
        page = register.list_sub_lessees(services, account_id, OPERATOR_READING, purpose=purpose, limit=limit,
                                         after=cursor, status=status)
    emit(json.dumps(page, indent=2, ensure_ascii=False))


@sub_lessees.command("remove")
def remove(
    ctx: typer.Context,
    account_id: Annotated[str, typer.Argument(metavar="ACCOUNT_ID", help="The Reseller Account.")],
    sub_lessee_id: Annotated[str, typer.Argument(metavar="ID", help="The sub-lessee.")],
) -> None:
    """Mark a sub-lessee removed (kept for retention, never deleted)."""
    from cloudcip.resellers import sub_lessees as register

    with services_of(ctx) as services:
        answer = register.remove_sub_lessee(services, account_id, sub_lessee_id, OPERATOR_SHARING,
                                            purpose="sub-lessee removed (CLI)")
    emit(json.dumps(answer))


@sub_lessees.command("rescreen")
def rescreen(ctx: typer.Context) -> None:
    """Re-screen every active sub-lessee against the in-force lists and measures (D4)."""
    from cloudcip.resellers.rescreen import rescreen_sub_lessees
    from cloudcip.runtime import screening_service

    with services_of(ctx) as services, Progress(console=console, transient=True) as progress:
        task = progress.add_task("re-screening sub-lessees", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        screened, new_hits, effects = rescreen_sub_lessees(
            services, screening_service(services), clock.now(), progress=advance,
            actor=Actor(OPERATOR.name, OPERATOR.role), reason="operator request")
    emit(json.dumps({"screened": screened, "new_hits": new_hits, "effects": effects}, indent=2))
