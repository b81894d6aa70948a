"""Adjudicating a verification case (A6): approve, refuse or ask for more evidence on a case in
review; redress of a settled one (four eyes when the account was refused or closed). Every action
shows what it will change before it is committed; a stale form (the case moved meanwhile) says so
and changes nothing; a missing reason re-shows the form with the field marked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints

from cloudcip.console import claims
from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, PageError, allowed, render, text_of
from cloudcip.records.roles import may
from cloudcip.verification.queue import preview_review

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
CaseId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Reader = Annotated[Session, Depends(allowed("application:read"))]
Decider = Annotated[Session, Depends(allowed("application:decide"))]
DECISIONS = {"approved": "Approve", "refused": "Refuse", "pending_evidence": "Ask for more evidence",
             "redress": "Re-open for review (redress)"}
NOTICES = {"decided": "Decision recorded.", "proposed": "Redress proposed: a second person must approve it "
           "(Four eyes).", "claimed": "You hold this case."}
MIN_REASON = 3


def _case_context(console: ConsoleDep, session: Session, case_id: str) -> dict[str, Any]:
    case = console.applications.show(case_id, session.user.actor, purpose="case review")
    held = claims.holders(console.services.database, [f"case:{case_id}"]).get(f"case:{case_id}")
    offered = {k: v for k, v in DECISIONS.items()
               if k != "redress" or may(session.user.role, "application:redress")}
    return {"case": case, "case_id": case_id, "claimed_by": held, "decisions": offered,
            "pending_redress": [c for c in console.four_eyes.changes() if c.subject == case_id]}


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def show_case(request: Request, case_id: CaseId, console: ConsoleDep, session: Reader,
              notice: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    context = _case_context(console, session, case_id)
    context["notice"] = NOTICES.get(notice or "")
    return render(request, "cases/case.html", context)


@router.post("/cases/{case_id}/review", response_class=HTMLResponse)
def review(request: Request, case_id: CaseId, console: ConsoleDep, session: Decider, form: FormDep) -> Response:
    decision, reason = text_of(form, "decision", 20), text_of(form, "reason")
    expected = text_of(form, "expected_state", 24)
    context = _case_context(console, session, case_id)
    current = context["case"]["state"]
    errors: dict[str, str] = {}
    if decision not in context["decisions"]:
        errors["decision"] = "choose a decision"
    if len(reason) < MIN_REASON:
        errors["reason"] = "a decision needs a reason (at least 3 characters)"
    if errors:
        context.update({"errors": errors, "reason": reason, "decision": decision})
        return render(request, "cases/case.html", context, status=422)
    if expected != current:
        context.update({"stale": True, "reason": reason, "decision": decision})
        return render(request, "cases/case.html", context, status=409)
    holder = context["claimed_by"]
    if holder is not None and holder != session.user.username:
        raise PageError(409, "Claimed by someone else", "another person holds this case; nothing was saved")
    with console.services.database.engine.connect() as conn:
        preview = preview_review(conn, case_id, decision)
    if not preview.allowed:
        context.update({"errors": {"decision": preview.refusal or "not allowed"}, "reason": reason})
        return render(request, "cases/case.html", context, status=422)
    if form.get("confirm") != "1":
        return render(request, "cases/preview.html", {"preview": preview, "reason": reason, "case_id": case_id,
                                                      "expected_state": current, "label": DECISIONS[decision]})
    if preview.needs_second_person:
        console.four_eyes.propose("case.redress", f"redress of a {current} case ({case_id[:8]})",
                                  {"application_id": case_id, "reason": reason}, reason, session.user.actor,
                                  subject=case_id)
        return RedirectResponse(f"/console/cases/{case_id}?notice=proposed", status_code=303)
    if decision == "redress":
        console.applications.redress(case_id, reason, session.user.actor)
    else:
        console.applications.review(case_id, decision, reason, session.user.actor)
    claims.clear(console.services.database, f"case:{case_id}")
    return RedirectResponse(f"/console/cases/{case_id}?notice=decided", status_code=303)


@router.post("/cases/{case_id}/claim", response_class=HTMLResponse)
def claim_case(case_id: CaseId, console: ConsoleDep, session: Decider, form: FormDep) -> Response:
    claims.claim(console.services.database, f"case:{case_id}", session.user.id)
    return RedirectResponse(f"/console/cases/{case_id}?notice=claimed", status_code=303)
