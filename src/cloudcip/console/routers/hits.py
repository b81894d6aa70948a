"""Adjudicating a screening hit (D5): the hit's explanation beside the listed entry; confirm it
(true match), clear it (false positive) or escalate it, with a required reason, after a preview of
what will change. A cleared hit stays cleared until the record or the list entry changes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints

from cloudcip.console import claims
from cloudcip.console.users import Session
from cloudcip.console.web import (
    ConsoleDep,
    ConsoleRoute,
    FormDep,
    PageError,
    allowed,
    field_errors,
    render,
    text_of,
)
from cloudcip.ledger.store import LedgerAction
from cloudcip.screening import hits as hits_store
from cloudcip.screening.snapshots import listed_party

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
HitId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Reader = Annotated[Session, Depends(allowed("screening:read", "screening:adjudicate"))]
Adjudicator = Annotated[Session, Depends(allowed("screening:adjudicate"))]
DECISIONS = {"confirmed": "Confirm: a true match", "false_positive": "Clear: a false positive",
             "escalated": "Escalate"}
EFFECTS = {
    "confirmed": "the hit is recorded as a true match; the customer's case and account follow the CIP policy",
    "false_positive": "the hit is cleared; it does not come back while neither the customer's record nor the "
                      "list entry changes (re-screening keeps it cleared)",
    "escalated": "the hit stays in the queue, marked for a senior reviewer",
}


def _hit_context(console: ConsoleDep, hit_id: str) -> dict[str, Any]:
    with console.services.database.engine.connect() as conn:
        hit = hits_store.get_hit(conn, hit_id)
        listed = listed_party(conn, hit.list_source, hit.list_source_id)
    held = claims.holders(console.services.database, [f"hit:{hit_id}"]).get(f"hit:{hit_id}")
    return {"hit": hit, "listed": listed, "claimed_by": held, "decisions": DECISIONS, "hit_id": hit_id}


@router.get("/hits/{hit_id}", response_class=HTMLResponse)
def show_hit(request: Request, hit_id: HitId, console: ConsoleDep, session: Reader,
             notice: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    context = _hit_context(console, hit_id)
    actor = session.user.actor
    with console.services.ledger.unit_of_work() as work:  # the explanation speaks of the screened person
        work.log(LedgerAction(actor.name, actor.role, "read", "screening_hit", hit_id, purpose="hit adjudication"))
    context["notice"] = {"decided": "Decision recorded.", "claimed": "You hold this hit."}.get(notice or "")
    return render(request, "hits/hit.html", context)


@router.post("/hits/{hit_id}/decision", response_class=HTMLResponse)
def decide(request: Request, hit_id: HitId, console: ConsoleDep, session: Adjudicator, form: FormDep) -> Response:
    decision, reason = text_of(form, "decision", 20), text_of(form, "reason")
    expected = text_of(form, "expected_state", 16)
    context = _hit_context(console, hit_id)
    hit = context["hit"]
    errors: dict[str, str] = {}
    if decision not in DECISIONS:
        errors["decision"] = "choose a decision"
    if len(reason) < 3:
        errors["reason"] = "an adjudication needs a reason (at least 3 characters)"
    if errors:
        context.update({"errors": errors, "reason": reason, "decision": decision})
        return render(request, "hits/hit.html", context, status=422)
    if expected != hit.state:
        context.update({"stale": True, "reason": reason, "decision": decision})
        return render(request, "hits/hit.html", context, status=409)
    if hit.state in ("confirmed", "false_positive"):
        context.update({"errors": {"decision": f"the hit was already decided ({hit.state})"}})
        return render(request, "hits/hit.html", context, status=409)
    holder = context["claimed_by"]
    if holder is not None and holder != session.user.username:
        raise PageError(409, "Claimed by someone else", "another person holds this hit; nothing was saved")
    if form.get("confirm") != "1":
        return render(request, "hits/preview.html", {"hit": hit, "decision": decision, "label": DECISIONS[decision],
                                                     "effect": EFFECTS[decision], "reason": reason})
    try:
        hits_store.decide(console.services, session.user.actor, hit_id, decision, reason)
    except hits_store.DecisionRefused as exc:
        context.update({"errors": field_errors(exc) or {"decision": "refused"}, "reason": reason})
        return render(request, "hits/hit.html", context, status=422)
    claims.clear(console.services.database, f"hit:{hit_id}")
    return RedirectResponse(f"/console/hits/{hit_id}?notice=decided", status_code=303)


@router.post("/hits/{hit_id}/claim", response_class=HTMLResponse)
def claim_hit(hit_id: HitId, console: ConsoleDep, session: Adjudicator, form: FormDep) -> Response:
    claims.claim(console.services.database, f"hit:{hit_id}", session.user.id)
    return RedirectResponse(f"/console/hits/{hit_id}?notice=claimed", status_code=303)
