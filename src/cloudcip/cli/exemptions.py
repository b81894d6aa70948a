"""``cloudcip exemptions``: the exemption register and the abuse-deterrence evidence pack (F1, F2).

``grant`` prints the exemption id as the last line of stdout; ``list`` prints JSON lines; ``show``,
``revoke`` and ``notice`` one JSON object; ``flag-ended [--as-of]`` flags the accounts of exemptions
that ended; ``evidence --from D --to D --format json`` prints one JSON object (``html``/``pdf`` need
``--out`` for a PDF, or write HTML to stdout).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cloudcip import clock
from cloudcip.cli.context import console, emit, services_of
from cloudcip.errors import InvalidInput
from cloudcip.records.roles import Actor
from cloudcip.runtime import exemption_register

app = typer.Typer(help="Exemptions (EO 13984 sec. 1(c)) and the abuse-deterrence evidence pack.",
                  no_args_is_help=True)

OPERATOR_OFFICER = Actor("cli:operator", "compliance-officer")
AsOf = Annotated[str | None, typer.Option("--as-of", help="Act as on this date or time (default: now).")]


def _as_of(text: str | None) -> clock.Clock | None:
    if text is None:
        return None
    moment = clock.parse_instant(text, "as-of")
    return lambda: moment


@app.command("grant")
def grant(
    ctx: typer.Context,
    scope: Annotated[str, typer.Option("--scope", help="provider, account_type or lessee_type.")],
    basis: Annotated[str, typer.Option("--basis", help="The abuse-deterrence program the exemption rests on.")],
    step: Annotated[list[str], typer.Option("--step", help="An exempted step (repeatable): identity_verification, "
                                            "beneficial_owner_verification, periodic_reverification.")],
    granted: Annotated[str, typer.Option("--granted", help="When it takes effect (date or time, UTC).")],
    expires: Annotated[str, typer.Option("--expires", help="When it stops applying (date or time, UTC).")],
    value: Annotated[str | None, typer.Option("--value", help="The account type or lessee type.")] = None,
    condition: Annotated[list[str] | None, typer.Option("--condition", help="A condition (repeatable).")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="Commerce's decision reference.")] = None,
) -> None:
    """Record an exemption granted. The exemption id is the last line of stdout."""
    with services_of(ctx) as services:
        view = exemption_register(services).grant(
            OPERATOR_OFFICER, scope_kind=scope, scope_value=value, basis=basis, steps=step,
            granted_at=clock.parse_instant(granted, "granted"), expires_at=clock.parse_instant(expires, "expires"),
            conditions=condition or (), reference=reference)
    console.print(f"exemption granted: {view['scope']['kind']}:{view['scope']['value']}, "
                  f"{', '.join(view['steps'])}, until {view['expires_at']}")
    emit(view["id"])


@app.command("list")
def list_exemptions(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="granted, active, expired or revoked.")] = None,
    as_of: AsOf = None,
) -> None:
    """Every exemption (JSON lines), with its state now (or ``--as-of``)."""
    with services_of(ctx) as services:
        register = exemption_register(services)
        register.now = _as_of(as_of) or register.now
        for view in register.list_exemptions(OPERATOR_OFFICER, state=state):
            emit(json.dumps(view))


@app.command("show")
def show(ctx: typer.Context, exemption_id: Annotated[str, typer.Argument(help="Exemption id.")],
         as_of: AsOf = None) -> None:
    """One exemption with its notices (JSON)."""
    with services_of(ctx) as services:
        register = exemption_register(services)
        register.now = _as_of(as_of) or register.now
        emit(json.dumps(register.show(exemption_id, OPERATOR_OFFICER), indent=2))


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    exemption_id: Annotated[str, typer.Argument(help="Exemption id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it ends.")],
) -> None:
    """End the exemption now; the accounts that used it are flagged for re-verification."""
    with services_of(ctx) as services:
        view = exemption_register(services).revoke(exemption_id, reason, OPERATOR_OFFICER)
    console.print(f"exemption revoked; {view['accounts_flagged']} account(s) flagged for re-verification")
    emit(json.dumps(view))


@app.command("notice")
def notice(
    ctx: typer.Context,
    exemption_id: Annotated[str, typer.Argument(help="Exemption id.")],
    change: Annotated[str, typer.Option("--change", help="What changed in the exempted program.")],
    sent: Annotated[str | None, typer.Option("--sent", help="When the notice was sent (default: now).")] = None,
    changed: Annotated[str | None, typer.Option("--changed", help="When the change happened.")] = None,
    recipient: Annotated[str, typer.Option("--recipient")] = "U.S. Department of Commerce",
) -> None:
    """Record a notice of significant change the provider sent."""
    with services_of(ctx) as services:
        view = exemption_register(services).notice(
            exemption_id, change, OPERATOR_OFFICER, recipient=recipient,
            changed_at=clock.parse_instant(changed, "changed") if changed else None,
            sent_at=clock.parse_instant(sent, "sent") if sent else None)
    emit(json.dumps(view))


@app.command("flag-ended")
def flag_ended(ctx: typer.Context, as_of: AsOf = None) -> None:
    """Exemptions that expired or were revoked: put their steps back on the accounts that used them
    and flag those accounts for re-verification. Prints ``{exemption id: accounts flagged}``."""
    with services_of(ctx) as services:
        register = exemption_register(services)
        register.now = _as_of(as_of) or register.now
        emit(json.dumps(register.flag_ended(OPERATOR_OFFICER)))



@app.command("evidence")
def evidence(
    ctx: typer.Context,
    period_from: Annotated[str, typer.Option("--from", help="First day (or instant) of the period, UTC.")],
    period_to: Annotated[str, typer.Option("--to", help="End of the period (excluded), UTC.")],
    output_format: Annotated[str, typer.Option("--format", help="json, html or pdf.")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Write here (a PDF needs it).")] = None,
) -> None:
    """F2: the abuse-deterrence evidence pack of the period, each figure with the SQL that produced it.
    ``--format json`` prints one JSON object."""
    from cloudcip.exemptions.evidence import EvidencePackService
    from cloudcip.exemptions.render import render_html, render_pdf

    if output_format not in ("json", "html", "pdf"):
        raise InvalidInput.field("format", "one of json, html, pdf")
    if output_format == "pdf" and out is None:
        raise InvalidInput.field("out", "a PDF is written to a file: give --out FILE.pdf")
    start, end = clock.parse_instant(period_from, "from"), clock.parse_instant(period_to, "to")
    with services_of(ctx) as services:
        pack = EvidencePackService(services.database, services.ledger).build(OPERATOR_OFFICER, start, end)
    if output_format == "pdf" and out is not None:
        out.write_bytes(render_pdf(pack))
        console.print(f"evidence pack written to {out}")
        return
    text = json.dumps(pack) if output_format == "json" else render_html(pack)
    if out is not None:
        out.write_text(text)
        console.print(f"evidence pack written to {out}")
    else:
        emit(text)
