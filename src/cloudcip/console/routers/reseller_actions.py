"""A compliance officer's oversight of one reseller in the console (E3, G4, B3, B4): what the API
(``/v1/resellers/{id}/...``) and ``cloudcip resellers`` offer, as forms on the reseller's page.

- ``POST .../sample``: draw the open review's random sample of the reseller's active sub-lessees (size,
  seed: the same seed over the same population draws the same sample; drawn once per review).
- ``POST .../results``: record each sampled sub-lessee's verification evidence (adequate, deficient,
  missing), the reason kept as each item's note.
- ``POST .../findings``: a finding (compliant, non-compliant, malicious activity, observation); non-
  compliance or malicious activity starts the termination clock and makes an incident report (G4).
- ``POST .../remediation``: stop the running clock, with the reason and the evidence of the remedy.
- ``POST .../termination``: end the relationship now; the reseller's open accounts are restricted.

Each form needs ``reseller:write`` (compliance officers) and the session's CSRF token; a reason is
required (a form without one is shown again with the field marked and nothing saved, 422); the first
POST answers a preview of what committing will change and saves nothing; the commit re-checks the
reseller's status shown with the form (a form opened before the reseller changed is refused as stale,
409, and the page shows the current state). The reseller service writes every change and its ledger
entry (with the person as ``console:<username>``), as for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from cloudcip.console.routers.oversight import Uuid, reseller_page, resellers_of
from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, PageError, allowed, field_errors, render, text_of
from cloudcip.errors import CloudcipError, Conflict
from cloudcip.resellers.oversight import CLOCK_FINDINGS, FINDING_KINDS, MAX_SAMPLE, RESULTS
from cloudcip.resellers.register import ResellerNotFound, reseller_accounts
from cloudcip.resellers.register_schema import reseller
from cloudcip.resellers.services import ResellerService
from cloudcip.resellers.termination import CLOSED_STATES, RESTRICTIONS

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
Writer = Annotated[Session, Depends(allowed("reseller:write"))]
MAX_TEXT = 4000
FINDING_LABELS = {"compliant": "compliant", "non_compliant": "non-compliant",
                  "malicious_activity": "malicious activity", "observation": "an observation"}


@dataclass(frozen=True)
class Current:
    """What the preview reads of the reseller: no personal data (status, customer id, accounts)."""

    status: str
    accounts: list[dict[str, str]]


def _current(console: ConsoleDep, reseller_id: str) -> Current:
    with console.services.database.engine.connect() as conn:
        row = conn.execute(select(reseller.c.status, reseller.c.customer_id)
                           .where(reseller.c.id == reseller_id)).first()
        if row is None:
            raise ResellerNotFound()
        return Current(row.status, reseller_accounts(conn, row.customer_id))


def _reason(values: dict[str, str], form_name: str, errors: dict[str, str], name: str = "reason",
            what: str = "say why (at least 3 characters)") -> None:
    if len(values.get(name, "")) < 3:
        errors[f"{form_name}.{name}"] = what


@dataclass(frozen=True)
class Step:
    """One form's step: its name on the page, what committing changes, and the commit itself."""

    name: str
    title: str
    values: dict[str, str]
    errors: dict[str, str]
    describe: Callable[[ResellerService, Current], list[str]]
    commit: Callable[[ResellerService], Any]
    notice: str


def _step(request: Request, console: ConsoleDep, session: Session, reseller_id: str, form: FormData,
          step: Step) -> Response:
    purpose = session.purpose_for(f"reseller/{reseller_id}")
    current = _current(console, reseller_id)
    shown = {f"{step.name}.{key}": value for key, value in step.values.items()}

    def again(errors: dict[str, str], status: int, stale: bool = False) -> Response:
        if purpose is None:  # no page to show the form on: say what was refused
            raise PageError(status, "Changed meanwhile" if stale else "Refused",
                            "the reseller changed since the form was shown; nothing was saved" if stale
                            else "; ".join(f"{k.split('.')[-1]}: {v}" for k, v in errors.items()))
        return reseller_page(request, console, session, reseller_id, purpose, errors=errors, values=shown,
                             stale=stale, status=status)

    expected = text_of(form, "expected_status", 20)
    confirmed = form.get("confirm") == "1"
    if (expected or confirmed) and expected != current.status:
        return again({}, 409, stale=True)
    if step.errors:
        return again(step.errors, 422)
    service = resellers_of(console.services)
    if not confirmed:
        return render(request, "oversight/preview.html", {
            "title": step.title, "changes": step.describe(service, current), "reseller_id": reseller_id,
            "action": f"/console/resellers/{reseller_id}/{request.url.path.rsplit('/', 1)[-1]}",
            "fields": {**{k: v for k, v in step.values.items() if v}, "expected_status": current.status},
            "values": step.values})
    try:
        step.commit(service)
    except CloudcipError as exc:
        errors = field_errors(exc)
        if errors is None:
            raise
        return again({f"{step.name}.{key}": value for key, value in errors.items()}, 422)
    return RedirectResponse(f"/console/resellers/{reseller_id}?notice={step.notice}", status_code=303)


def _values(form: FormData, *names: str, limit: int = MAX_TEXT) -> dict[str, str]:
    return {name: text_of(form, name, limit) for name in names}


def _ledger_line() -> str:
    return "write each change to the ledger under your name, with your reason"


# -- the sample and its results ----------------------------------------------------------------------
@router.post("/resellers/{reseller_id}/sample", response_class=HTMLResponse)
def draw_sample(request: Request, reseller_id: Uuid, console: ConsoleDep, session: Writer, form: FormDep) -> Response:
    values = _values(form, "review_id", "size", "seed", "reason")
    errors: dict[str, str] = {}
    size = int(values["size"]) if values["size"].isdigit() else 0
    if not 1 <= size <= MAX_SAMPLE:
        errors["sample.size"] = f"a whole number between 1 and {MAX_SAMPLE}"
    seed = int(values["seed"]) if values["seed"].isdigit() and len(values["seed"]) <= 18 else -1
    if seed < 0:
        errors["sample.seed"] = "a whole number, 0 or more (the same seed draws the same sample)"
    if len(values["review_id"]) != 36:
        errors["sample.review_id"] = "no open review to sample"
    _reason(values, "sample", errors)
    actor = session.user.actor

    def describe(service: ResellerService, current: Current) -> list[str]:
        population = service.sample_population(reseller_id, actor)
        taken = min(size, population)
        changes = [f"draw {taken} of the reseller's {population} active sub-lessees at random with seed {seed} "
                   f"for the review {values['review_id'][:8]} (the same seed over the same population draws the "
                   "same sample, so anyone can draw it again)"]
        if size >= population:
            changes.append(f"the size asked ({size}) is not smaller than the population ({population}): "
                           "the whole population is taken")
        changes.append("the review's sample is drawn once: it cannot be drawn again with another size or seed")
        return [*changes, "write the draw (size, seed, population) to the ledger under your name, with your reason"]

    return _step(request, console, session, reseller_id, form, Step(
        "sample", "Draw the review's sample", values, errors, describe,
        lambda service: service.draw_sample(reseller_id, values["review_id"], size, seed, actor,
                                            reason=values["reason"]), "sample-drawn"))


@router.post("/resellers/{reseller_id}/results", response_class=HTMLResponse)
def record_results(request: Request, reseller_id: Uuid, console: ConsoleDep, session: Writer,
                   form: FormDep) -> Response:
    values = _values(form, "review_id", "reason", limit=500)
    chosen = {key[len("result-"):]: value for key, value in form.items()
              if key.startswith("result-") and isinstance(value, str) and value in RESULTS}
    values.update({f"result-{item}": result for item, result in chosen.items()})
    errors: dict[str, str] = {}
    actor = session.user.actor
    review_id = values["review_id"]
    before: dict[str, str | None] = {}
    if len(review_id) == 36:
        try:
            sample = resellers_of(console.services).review(reseller_id, review_id, actor)["sample"] or {}
            before = {item["sub_lessee_id"]: item["result"] for item in sample.get("items", [])}
        except LookupError:
            before = {}
    changed = {item: result for item, result in chosen.items() if item in before and before[item] != result}
    if not changed:
        errors["results.items"] = "choose a new result for at least one sampled sub-lessee"
    _reason(values, "results", errors, what="say what the evidence showed (at least 3 characters; kept as "
                                            "each item's note, no personal data)")

    def describe(service: ResellerService, current: Current) -> list[str]:
        return [*(f"record the sub-lessee {item[:8]} as {result} (now {before[item] or 'pending'})"
                  for item, result in changed.items()),
                "write each result to the ledger under your name, with its note"]

    def commit(service: ResellerService) -> None:
        for item, result in changed.items():
            service.record_result(reseller_id, review_id, item, result, actor, note=values["reason"])

    return _step(request, console, session, reseller_id, form, Step(
        "results", "Record the sampled sub-lessees' results", values, errors, describe, commit, "results-recorded"))


# -- findings, remediation, termination --------------------------------------------------------------
@router.post("/resellers/{reseller_id}/findings", response_class=HTMLResponse)
def record_finding(request: Request, reseller_id: Uuid, console: ConsoleDep, session: Writer,
                   form: FormDep) -> Response:
    values = _values(form, "kind", "reason", "review_id")
    errors: dict[str, str] = {}
    kind = values["kind"]
    if kind not in FINDING_KINDS:
        errors["finding.kind"] = "choose what the review found"
    _reason(values, "finding", errors)
    review_id = values["review_id"] if len(values["review_id"]) == 36 else None
    actor = session.user.actor

    def describe(service: ResellerService, current: Current) -> list[str]:
        changes = [f"record a finding of {FINDING_LABELS[kind]} with your reason"]
        if review_id and kind != "observation":
            changes.append(f"close the review {review_id[:8]}")
        elif review_id:
            changes.append(f"the review {review_id[:8]} stays open (an observation does not close it)")
        if kind in CLOCK_FINDINGS:
            running = service.termination_state(reseller_id, actor)
            if running is not None and running["state"] == "running":
                changes.append(f"the termination clock already running keeps running (last day {running['ends_on']})")
            else:
                ends = service.now().date() + timedelta(days=service.termination_days)
                changes.append(f"start the {service.termination_days}-day termination clock: on {ends.isoformat()} "
                               "the reseller's open accounts are restricted (no new resources, no sub-lessees) and "
                               "the relationship is terminated, unless it is remediated with evidence before then")
            changes.append(f"move the reseller from {current.status.replace('_', ' ')} to terminating")
            if current.accounts:
                changes.append("make an incident report about the reseller's account (G4), in the same transaction")
        elif kind == "compliant" and current.status == "under_review":
            changes.append("move the reseller from under review back to active")
        return [*changes, _ledger_line()]

    return _step(request, console, session, reseller_id, form, Step(
        "finding", "Record a finding", values, errors, describe,
        lambda service: service.record_finding(reseller_id, kind, values["reason"], actor, review_id=review_id),
        "finding-recorded"))


@router.post("/resellers/{reseller_id}/remediation", response_class=HTMLResponse)
def remediate(request: Request, reseller_id: Uuid, console: ConsoleDep, session: Writer, form: FormDep) -> Response:
    values = _values(form, "reason", "evidence")
    errors: dict[str, str] = {}
    _reason(values, "remedy", errors)
    _reason(values, "remedy", errors, "evidence", "what shows the remedy (at least 3 characters)")
    actor = session.user.actor

    def describe(service: ResellerService, current: Current) -> list[str]:
        running = service.termination_state(reseller_id, actor)
        if running is None or running["state"] != "running":
            raise Conflict("no termination clock is running for this reseller")
        return [f"stop the running termination clock (last day {running['ends_on']}, {running['days_left']} days "
                "left): the reseller's accounts will not be restricted",
                f"move the reseller from {current.status.replace('_', ' ')} to active",
                "keep your reason and the evidence with the stopped clock (the evidence's SHA-256 on the ledger)",
                _ledger_line()]

    return _step(request, console, session, reseller_id, form, Step(
        "remedy", "Stop the termination clock: remediated", values, errors, describe,
        lambda service: service.remediate(reseller_id, values["reason"], values["evidence"], actor), "remediated"))


@router.post("/resellers/{reseller_id}/termination", response_class=HTMLResponse)
def terminate(request: Request, reseller_id: Uuid, console: ConsoleDep, session: Writer, form: FormDep) -> Response:
    values = _values(form, "reason")
    errors: dict[str, str] = {}
    _reason(values, "terminate", errors)
    actor = session.user.actor

    def describe(service: ResellerService, current: Current) -> list[str]:
        if current.status == "terminated":
            raise Conflict("the reseller relationship is already terminated")
        open_accounts = [a for a in current.accounts if a["state"] not in CLOSED_STATES]
        changes = [f"restrict the reseller's {len(open_accounts)} open account(s)"
                   + (f" ({', '.join(a['id'][:8] for a in open_accounts)})" if open_accounts else "")
                   + f": {', '.join(r.replace('_', ' ') for r in RESTRICTIONS)}"]
        running = service.termination_state(reseller_id, actor)
        if running is not None and running["state"] == "running":
            changes.append(f"end the running termination clock now (its last day was {running['ends_on']})")
        changes.append(f"move the reseller from {current.status.replace('_', ' ')} to terminated: final, no "
                       "review, finding or remediation is taken afterwards; the reseller is notified by webhook")
        return [*changes, _ledger_line()]

    return _step(request, console, session, reseller_id, form, Step(
        "terminate", "Terminate the reseller relationship", values, errors, describe,
        lambda service: service.terminate(reseller_id, values["reason"], actor), "terminated"))
