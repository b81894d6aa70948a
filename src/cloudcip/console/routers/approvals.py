"""Four eyes (B4, D1, A6): the changes waiting for a second person, visible to maker and checker
alike; approve (the change is then carried out), reject with a reason, or withdraw one's own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints

from cloudcip.approvals.service import KINDS
from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, allowed, field_errors, render, text_of
from cloudcip.records.roles import may

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
ChangeId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f\-]{36}$")]
Member = Annotated[Session, Depends(allowed("measures:write", "application:redress", "policy:write"))]
NOTICES = {"approved": "Approved and carried out.", "rejected": "Rejected.", "withdrawn": "Withdrawn.",
           "proposed": "Proposed: a second person must approve it."}


def _page(request: Request, console: ConsoleDep, session: Session, *, notice: str | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    role = session.user.role
    visible = [c for c in console.four_eyes.changes(state=None, limit=200) if may(role, KINDS[c.kind])]
    return render(request, "approvals/approvals.html", {
        "pending": [c for c in visible if c.state == "pending"],
        "decided": [c for c in visible if c.state != "pending"][:50], "notice": NOTICES.get(notice or ""),
        "errors": errors or {}}, status=status)


@router.get("/approvals", response_class=HTMLResponse)
def show_approvals(request: Request, console: ConsoleDep, session: Member,
                   notice: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    return _page(request, console, session, notice=notice)


@router.post("/approvals/{change_id}/{action}", response_class=HTMLResponse)
def decide(request: Request, change_id: ChangeId, action: str, console: ConsoleDep, session: Member,
           form: FormDep) -> Response:
    reason = text_of(form, "reason")
    actor = session.user.actor
    if action == "reject" and len(reason) < 3:
        return _page(request, console, session, errors={f"reason-{change_id}": "rejecting needs a reason"},
                     status=422)
    try:
        if action == "approve":
            console.four_eyes.approve(change_id, actor, reason or None)
        elif action == "reject":
            console.four_eyes.reject(change_id, actor, reason)
        elif action == "withdraw":
            console.four_eyes.withdraw(change_id, actor)
        else:
            return _page(request, console, session, errors={"action": "approve, reject or withdraw"}, status=422)
    except Exception as exc:
        errors = field_errors(exc)
        if errors is None:
            raise
        return _page(request, console, session, status=422,
                     errors={f"change-{change_id}": "; ".join(f"{k}: {v}" for k, v in errors.items())})
    done = {"approve": "approved", "reject": "rejected", "withdraw": "withdrawn"}[action]
    return RedirectResponse(f"/console/approvals?notice={done}", status_code=303)
