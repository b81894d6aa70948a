"""``cloudcip certification``, ``cloudcip roster`` and ``cloudcip reporting``: reporting to Commerce
(H1, H3). The operator acts in the ``compliance-officer`` role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from cloudcip import clock
from cloudcip.cli.context import console, emit, services_of
from cloudcip.errors import InvalidInput
from cloudcip.records.roles import Actor
from cloudcip.reports.certification import render_html
from cloudcip.reports.certification_pdf import render_pdf
from cloudcip.reports.roster import RosterFilter
from cloudcip.runtime import (
    attestation_service,
    certification_service,
    cip_copy_requests,
    reporting_contacts,
    roster_service,
)

OFFICER = Actor("cli:operator", "compliance-officer")

certification = typer.Typer(help="The CIP certification to Commerce (H1), from live data.", no_args_is_help=True)
roster = typer.Typer(help="The examiner's roster of every account with its CIP state (H3).", no_args_is_help=True)
reporting = typer.Typer(help="Reporting to Commerce: the CIP contact.", no_args_is_help=True)
contact = typer.Typer(help="The CIP contact named in the certification.", no_args_is_help=True)
reporting.add_typer(contact, name="contact")

AsOf = Annotated[str | None, typer.Option("--as-of", help="The date the form speaks of (default today).")]


def register(app: typer.Typer) -> None:
    app.add_typer(certification, name="certification")
    app.add_typer(roster, name="roster")
    app.add_typer(reporting, name="reporting")
    app.add_typer(attestation, name="attestation")


@certification.command("render")
def certification_render(
    ctx: typer.Context,
    fmt: Annotated[Literal["json", "html", "pdf"], typer.Option(
        "--format", help="json (one object on stdout), html, or pdf (with -o).")] = "json",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    as_of: AsOf = None,
) -> None:
    """The certification form from the live records; each figure carries (links to) the query that
    produced it."""
    day = clock.parse_date(as_of, "as-of") if as_of else None
    if fmt == "pdf" and out is None:
        raise InvalidInput.field("output", "a PDF is written to a file: give -o FILE.pdf")
    with services_of(ctx) as services:
        form = certification_service(services).render(OFFICER, day)
    if fmt == "pdf" and out is not None:
        out.write_bytes(render_pdf(form))
        console.print(f"certification as of {form['as_of']} written to {out}")
        return
    text = json.dumps(form, ensure_ascii=False) if fmt == "json" else render_html(form)
    if out is None:
        emit(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"certification as of {form['as_of']} written to {out}")


@certification.command("file")
def certification_file(ctx: typer.Context, as_of: AsOf = None) -> None:
    """File the certification: stored with its SHA-256 and on the ledger; the gate on foreign
    customers' access opens (prints the filing as JSON)."""
    day = clock.parse_date(as_of, "as-of") if as_of else None
    with services_of(ctx) as services:
        emit(json.dumps(certification_service(services).file(OFFICER, day)))


@roster.command("export")
def roster_export(
    ctx: typer.Context,
    fmt: Annotated[Literal["csv", "parquet"], typer.Option("--format")] = "csv",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="The file to write.")] = None,
    sample: Annotated[int | None, typer.Option("--sample", help="A random sample of N rows.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="The sample's seed (the same seed, the same sample).")] = 0,
    foreign: Annotated[bool, typer.Option("--foreign", help="Only accounts of foreign customers.")] = False,
    us: Annotated[bool, typer.Option("--us", help="Only accounts of U.S. persons.")] = False,
    state: Annotated[str | None, typer.Option("--state", help="Only this verification state.")] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only customers residing in this country.")
                       ] = None,
    account_type: Annotated[str | None, typer.Option("--type", help="standard, reseller or trial.")] = None,
    reseller: Annotated[str | None, typer.Option("--reseller", help="Only accounts under this Reseller Account.")
                        ] = None,
) -> None:
    """One row per account with a header row; every sampled row lists its evidence and ledger entries."""
    if out is None:
        raise InvalidInput.field("output", "give -o FILE")
    if foreign and us:
        raise InvalidInput.field("foreign", "--foreign and --us exclude each other")
    where = RosterFilter(us_or_foreign="foreign_person" if foreign else "us_person" if us else None,
                         verification_state=state, account_type=account_type,
                         country=country.upper() if country else None, reseller_account_id=reseller)
    with services_of(ctx) as services:
        rows = roster_service(services).export(out, fmt, OFFICER, where=where, sample=sample, seed=seed)
    console.print(f"{rows} account(s) written to {out}")
    emit(str(rows))


@contact.command("set")
def contact_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="The CIP contact's name.")],
    email: Annotated[str, typer.Option(help="Their e-mail address.")],
    title: Annotated[str | None, typer.Option(help="Their title.")] = None,
    phone: Annotated[str | None, typer.Option(help="Their telephone number.")] = None,
) -> None:
    """Name the CIP contact the certification gives Commerce."""
    with services_of(ctx) as services:
        reporting_contacts(services).set(name=name, email=email, title=title, phone=phone, actor=OFFICER)
    emit("CIP contact set")


attestation = typer.Typer(help="The annual attestation and out-of-cycle updates (H2).", no_args_is_help=True)
request = typer.Typer(help="Requests for copies of the written CIP, on their clock (H3).", no_args_is_help=True)
reporting.add_typer(request, name="request")


@attestation.command("render")
def attestation_render(ctx: typer.Context, as_of: AsOf = None) -> None:
    """The five points of the attestation with their evidence from cloudcip's records (one JSON object)."""
    day = clock.parse_date(as_of, "as-of") if as_of else None
    with services_of(ctx) as services:
        emit(json.dumps(attestation_service(services).render(OFFICER, day), ensure_ascii=False))


@attestation.command("file")
def attestation_file(
    ctx: typer.Context, as_of: AsOf = None,
    out_of_cycle: Annotated[bool, typer.Option("--out-of-cycle", help="File it as an out-of-cycle update.")] = False,
) -> None:
    """File the attestation (or an out-of-cycle update): stored hashed and on the ledger."""
    day = clock.parse_date(as_of, "as-of") if as_of else None
    with services_of(ctx) as services:
        emit(json.dumps(attestation_service(services).file(OFFICER, day, out_of_cycle=out_of_cycle)))


@reporting.command("due")
def reporting_due(ctx: typer.Context, as_of: AsOf = None,
                  as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """What reporting is owed and when: certification, attestation, CIP copy requests, out-of-cycle updates."""
    day = clock.parse_date(as_of, "as-of") if as_of else None
    with services_of(ctx) as services:
        items = attestation_service(services).due(day)
    for item in items:
        emit(json.dumps(item) if as_json else
             f"{item['due']}\t{'OVERDUE' if item['overdue'] else 'due'}\t{item['item']}\t{item['why']}")
    if not items:
        console.print("nothing is due")


@request.command("add")
def request_add(
    ctx: typer.Context,
    requester: Annotated[str, typer.Option(help="Who asked (e.g. Department of Commerce, BIS).")],
    received: Annotated[str | None, typer.Option(help="When it was received (default today).")] = None,
) -> None:
    """Log a request for copies of the written CIP; its id is the last line of standard output."""
    day = clock.parse_date(received, "received") if received else None
    with services_of(ctx) as services:
        logged = cip_copy_requests(services).log(requester, OFFICER, day)
    console.print(f"due {logged['due']}")
    emit(logged["id"])


@request.command("answer")
def request_answer(
    ctx: typer.Context,
    request_id: Annotated[str, typer.Argument(metavar="REQUEST_ID")],
    out: Annotated[Path, typer.Option("-o", "--output", help="The folder to write the documents to.")],
) -> None:
    """Answer a request: the written CIP written to the folder, its SHA-256 kept, the disclosure on the ledger."""
    with services_of(ctx) as services:
        emit(json.dumps(cip_copy_requests(services).answer(request_id, out, OFFICER)))
