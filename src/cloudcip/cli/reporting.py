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
from cloudcip.reports.roster import RosterFilter
from cloudcip.runtime import certification_service, reporting_contacts, roster_service

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


@certification.command("render")
def certification_render(
    ctx: typer.Context,
    fmt: Annotated[Literal["json", "html"], typer.Option("--format", help="json (one object on stdout) or html.")
                   ] = "json",
    out: Annotated[Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    as_of: AsOf = None,
) -> None:
    """The certification form from the live records; each figure carries the query that produced it."""
    day = clock.parse_date(as_of, "as-of") if as_of else None
    with services_of(ctx) as services:
        form = certification_service(services).render(OFFICER, day)
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
