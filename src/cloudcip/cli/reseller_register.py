"""``cloudcip resellers add|list|show|certify|finding|remediate|terminate|clock``, ``cip upload|list|get``
and ``review start|show|sample|record|finding|schedule|run-due``: the reseller register, its oversight and the
termination clock for the compliance officer at a terminal (E1, E3, G4).

``add`` prints the reseller id as the last line of stdout; ``clock [--as-of DATE] --json`` prints a
JSON array of the running clocks with their ``days_left``; ``clock run --as-of DATE`` runs the daily
job as on that date (reminders, and on the last day restriction and termination).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from cloudcip import clock
from cloudcip.cli.context import console, emit, fail, services_of
from cloudcip.errors import InvalidInput
from cloudcip.records.roles import Actor

OFFICER = Actor("cli:operator", "compliance-officer")
AsOf = Annotated[str | None, typer.Option("--as-of", help="As on this date, YYYY-MM-DD (default today).")]
ResellerId = Annotated[str, typer.Argument(metavar="RESELLER_ID", help="The reseller (its id in the register).")]
ReviewId = Annotated[str, typer.Argument(metavar="REVIEW_ID", help="The review.")]

cip = typer.Typer(help="The reseller's own written CIP: upload, list and get its versions (E1).", no_args_is_help=True)
review = typer.Typer(help="Oversight reviews: start, sample sub-lessees, record results and findings (E3).",
                     no_args_is_help=True)
clock_app = typer.Typer(help="Termination clocks: what is running and its days left; the daily job (E3).",
                        invoke_without_command=True)


def _day(text: str | None, name: str = "as-of") -> date | None:
    return clock.parse_date(text, name) if text else None


def _json(value: Any) -> None:
    emit(json.dumps(value, indent=2, ensure_ascii=False))


def _finding_kind(non_compliant: bool, malicious: bool, compliant: bool, observation: bool) -> str:
    chosen = [kind for kind, on in (("non_compliant", non_compliant), ("malicious_activity", malicious),
                                    ("compliant", compliant), ("observation", observation)) if on]
    if len(chosen) != 1:
        raise fail("say exactly one of --non-compliant, --malicious-activity, --compliant, --observation", 2)
    return chosen[0]


NonCompliant = Annotated[bool, typer.Option("--non-compliant", help="Non-compliance: starts the termination clock.")]
Malicious = Annotated[bool, typer.Option("--malicious-activity",
                                         help="Malicious activity: starts the clock and makes an incident report.")]
Compliant = Annotated[bool, typer.Option("--compliant", help="The reseller complies.")]
Observation = Annotated[bool, typer.Option("--observation", help="A remark that changes nothing.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept with the finding; no personal data needed).")]


def install(app: typer.Typer) -> None:
    """Add the register's commands to the ``cloudcip resellers`` group."""
    app.add_typer(cip, name="cip")
    app.add_typer(review, name="review")
    app.add_typer(clock_app, name="clock")
    app.command("add")(add)
    app.command("list")(list_resellers)
    app.command("show")(show)
    app.command("certify")(certify)
    app.command("finding")(finding)
    app.command("remediate")(remediate)
    app.command("terminate")(terminate)


def add(
    ctx: typer.Context,
    customer_id: Annotated[str, typer.Argument(metavar="CUSTOMER_ID", help="The reseller's customer record.")],
    contact: Annotated[str, typer.Option("--contact", help="The reseller's compliance contact e-mail.")],
    contract: Annotated[str | None, typer.Option("--contract", help="The contract's reference.")] = None,
    attestation: Annotated[bool, typer.Option("--attestation", help="The contract holds the CIP attestation.")] = False,
    certified_on: Annotated[str | None, typer.Option("--certified-on", help="Last certification, YYYY-MM-DD.")] = None,
) -> None:
    """Register a customer as a reseller (foreign unless determined a U.S. person); the id is the last line."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        view = reseller_service(services).add(customer_id, contact, OFFICER, contract_reference=contract,
                                              attestation=attestation,
                                              certified_on=_day(certified_on, "certified-on"),
                                              purpose="reseller registered (CLI)")
    console.print(f"reseller registered: {'foreign' if view['foreign'] else 'U.S.'} reseller, status {view['status']}, "
                  f"certification due {view['certification_due']}")
    emit(view["id"])


def list_resellers(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="active, under_review, terminating or terminated.")] = None,
    foreign: Annotated[bool, typer.Option("--foreign", help="Only foreign resellers.")] = False,
) -> None:
    """The register as a JSON array (contacts masked)."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).entries(OFFICER, status=status, foreign=True if foreign else None,
                                                 purpose="reseller register (CLI)"))


def show(ctx: typer.Context, reseller_id: ResellerId) -> None:
    """One reseller relationship as JSON."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).show(reseller_id, OFFICER, purpose="reseller register (CLI)"))


def certify(
    ctx: typer.Context, reseller_id: ResellerId,
    on: Annotated[str, typer.Option("--on", help="The day the reseller certified, YYYY-MM-DD.")],
    attestation: Annotated[bool | None, typer.Option("--attestation/--no-attestation",
                                                     help="Whether the contract holds the attestation.")] = None,
) -> None:
    """Record the reseller's certification; the next falls due a year later."""
    from cloudcip.runtime import reseller_service

    day = clock.parse_date(on, "on")
    with services_of(ctx) as services:
        _json(reseller_service(services).record_certification(reseller_id, day, OFFICER, attestation=attestation))


def finding(
    ctx: typer.Context, reseller_id: ResellerId, reason: Reason,
    non_compliant: NonCompliant = False, malicious: Malicious = False, compliant: Compliant = False,
    observation: Observation = False,
    review_id: Annotated[str | None, typer.Option("--review", help="The review the finding closes.")] = None,
) -> None:
    """Record a finding; non-compliance or malicious activity starts the termination clock and makes an
    incident report."""
    from cloudcip.runtime import reseller_service

    kind = _finding_kind(non_compliant, malicious, compliant, observation)
    with services_of(ctx) as services:
        _json(reseller_service(services).record_finding(reseller_id, kind, reason, OFFICER, review_id=review_id))


def remediate(
    ctx: typer.Context, reseller_id: ResellerId, reason: Reason,
    evidence: Annotated[str, typer.Option("--evidence", help="What shows the remedy (recorded, hashed).")],
) -> None:
    """Stop the running termination clock, with the reason and the evidence recorded."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).remediate(reseller_id, reason, evidence, OFFICER))


def terminate(ctx: typer.Context, reseller_id: ResellerId, reason: Reason) -> None:
    """End the relationship now: its accounts restricted (exit 5 when it already is terminated)."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).terminate(reseller_id, reason, OFFICER))


@clock_app.callback()
def clocks(
    ctx: typer.Context, as_of: AsOf = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array (reseller_id, days_left, ...).")] = False,
) -> None:
    """The running termination clocks and their days left."""
    if ctx.invoked_subcommand is not None:
        return
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        running = reseller_service(services).running_clocks(_day(as_of), OFFICER)
    if as_json:
        _json(running)
        return
    if not running:
        console.print("no termination clock is running")
    for item in running:
        emit(f"{item['reseller_id']}  {item['days_left']} days left  (last day {item['ends_on']})")


@clock_app.command("run")
def clocks_run(ctx: typer.Context, as_of: AsOf = None) -> None:
    """The daily job as on ``--as-of``: reminders at 14, 7, 3 and 1 days left; on the last day the
    reseller's accounts are restricted and the relationship terminated."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).run_clocks(OFFICER, _day(as_of) or clock.today()))


@cip.command("upload")
def cip_upload(
    ctx: typer.Context, reseller_id: ResellerId,
    path: Annotated[Path, typer.Argument(metavar="FILE", exists=True, dir_okay=False,
                                         help="The CIP: PDF, DOCX, plain text or HTML.")],
) -> None:
    """Upload a new version of the reseller's CIP; prints its version, type and SHA-256 as JSON."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).upload_cip(reseller_id, path.read_bytes(), OFFICER, filename=path.name))


@cip.command("list")
def cip_list(ctx: typer.Context, reseller_id: ResellerId) -> None:
    """The versions of the reseller's CIP on file (JSON)."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).cip_versions(reseller_id, OFFICER))


@cip.command("get")
def cip_get(
    ctx: typer.Context, reseller_id: ResellerId,
    out: Annotated[Path, typer.Option("--out", help="Where to write the document.")],
    version: Annotated[int | None, typer.Option(min=1, help="The version (default the latest).")] = None,
) -> None:
    """Write a version of the CIP to ``--out`` (checked against its SHA-256); prints its metadata."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        meta, content = reseller_service(services).cip_document(reseller_id, version, OFFICER,
                                                                purpose="reseller CIP (CLI)")
    out.write_bytes(content)
    _json(meta)


@review.command("start")
def review_start(
    ctx: typer.Context, reseller_id: ResellerId,
    scheduled: Annotated[str | None, typer.Option("--scheduled", help="A scheduled review's planned day.")] = None,
) -> None:
    """Open a review (ad hoc, or --scheduled DATE); the review id is the last line of stdout."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        view = reseller_service(services).start_review(reseller_id, OFFICER,
                                                       kind="scheduled" if scheduled else "ad_hoc",
                                                       scheduled_for=_day(scheduled, "scheduled"))
    console.print(f"{view['kind']} review opened")
    emit(view["id"])


@review.command("show")
def review_show(ctx: typer.Context, reseller_id: ResellerId, review_id: ReviewId) -> None:
    """The review, its sample and the results recorded (JSON)."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).review(reseller_id, review_id, OFFICER))


@review.command("sample")
def review_sample(
    ctx: typer.Context, reseller_id: ResellerId, review_id: ReviewId,
    size: Annotated[int, typer.Option("--size", help="How many sub-lessees to sample.")],
    seed: Annotated[int, typer.Option("--seed", help="The seed: the same seed draws the same sample.")],
) -> None:
    """Draw the review's random sample of the reseller's sub-lessees (JSON)."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        view = reseller_service(services).draw_sample(reseller_id, review_id, size, seed, OFFICER)
    if view["sample"] and view["sample"]["whole_population"]:
        console.print(f"note: {view['sample']['note']}")
    _json(view)


@review.command("record")
def review_record(
    ctx: typer.Context, reseller_id: ResellerId, review_id: ReviewId,
    sub_lessee_id: Annotated[str, typer.Argument(metavar="SUB_LESSEE_ID", help="A sampled sub-lessee.")],
    result: Annotated[str, typer.Option("--result", help="adequate, deficient or missing.")],
    note: Annotated[str | None, typer.Option("--note", help="A short note (no personal data).")] = None,
) -> None:
    """Record a sampled sub-lessee's verification evidence as adequate, deficient or missing."""
    from cloudcip.runtime import reseller_service

    if result not in ("adequate", "deficient", "missing"):
        raise InvalidInput.field("result", "one of adequate, deficient, missing")
    with services_of(ctx) as services:
        _json(reseller_service(services).record_result(reseller_id, review_id, sub_lessee_id, result, OFFICER,
                                                       note=note))


@review.command("finding")
def review_finding(
    ctx: typer.Context, reseller_id: ResellerId, review_id: ReviewId, reason: Reason,
    non_compliant: NonCompliant = False, malicious: Malicious = False, compliant: Compliant = False,
    observation: Observation = False,
) -> None:
    """The review's finding (closes it unless an observation); non-compliance starts the clock."""
    from cloudcip.runtime import reseller_service

    kind = _finding_kind(non_compliant, malicious, compliant, observation)
    with services_of(ctx) as services:
        _json(reseller_service(services).record_finding(reseller_id, kind, reason, OFFICER, review_id=review_id))


@review.command("run-due")
def review_run_due(ctx: typer.Context, as_of: AsOf = None) -> None:
    """The daily job of ``cloudcip serve`` as on ``--as-of``: open the scheduled reviews due by then
    (the profile's review interval) and draw their samples (the profile's size, a seed from the review)."""
    from cloudcip.runtime import reseller_service

    day = _day(as_of) or clock.today()
    with services_of(ctx) as services:
        service = reseller_service(services)
        service.now = lambda: clock.start_of(day)
        _json(service.run_due_reviews(OFFICER))


@review.command("schedule")
def review_schedule(ctx: typer.Context) -> None:
    """Each reseller not terminated with the day its next scheduled review falls due (JSON)."""
    from cloudcip.runtime import reseller_service

    with services_of(ctx) as services:
        _json(reseller_service(services).review_schedule(OFFICER))
