"""The CIP policy in force and changing it through four eyes (A1, A8, B4): the policy in force (where it
comes from, its SHA-256, who proposed and approved it), its earlier adoptions, the change waiting for
a second person with what it changes (a diff), and a proposal of a new policy (its YAML text,
checked against the regulatory profile when it is made). Approval is on the Four eyes page, by a
second compliance officer; ``verification.policy_store`` puts the policy in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cloudcip.console.users import Session
from cloudcip.console.web import ConsoleDep, ConsoleRoute, FormDep, allowed, render, text_of
from cloudcip.errors import CloudcipError
from cloudcip.profiles import notice_versions
from cloudcip.verification import policy_store
from cloudcip.verification.policy import policy_summary
from cloudcip.verification.profile import load_profile

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)
PolicyWriter = Annotated[Session, Depends(allowed("policy:write"))]
SUBJECT = "cip_policy"


def _page(request: Request, console: ConsoleDep, *, errors: dict[str, str] | None = None,
          values: dict[str, str] | None = None, status: int = 200) -> HTMLResponse:
    services = console.services
    current = policy_store.policy_in_force(services.database, services.settings.policy_path)
    pending = [c for c in console.four_eyes.changes() if c.kind == "policy.change"]
    return render(request, "policy/policy.html", {
        "current": current, "summary": policy_summary(current.policy),
        "adoptions": policy_store.adoptions(services.database),
        "pending": [(c, policy_store.policy_diff(current, str(c.payload.get("policy_yaml", "")))) for c in pending],
        "errors": errors or {}, "values": values or {"policy": current.text}}, status=status)


@router.get("/policy", response_class=HTMLResponse)
def show_policy(request: Request, console: ConsoleDep, session: PolicyWriter) -> HTMLResponse:
    return _page(request, console)


@router.post("/policy/propose", response_class=HTMLResponse)
def propose_policy(request: Request, console: ConsoleDep, session: PolicyWriter, form: FormDep) -> Response:
    """Propose a new policy: checked now (parse, profile, a new version); in force once a second
    compliance officer approves it on the Four eyes page."""
    text, reason = text_of(form, "policy", policy_store.MAX_POLICY_BYTES + 1), text_of(form, "reason")
    values = {"policy": text, "reason": reason}
    services = console.services
    current = policy_store.policy_in_force(services.database, services.settings.policy_path)
    try:
        profile = load_profile(services.settings.profile)
        proposed = policy_store.check_change(text, profile, current, notice_versions())
        console.four_eyes.propose(
            "policy.change", f"put CIP policy {proposed.policy_id} version {proposed.version} in force "
                             f"(in force: {current.policy.policy_id} version {current.policy.version})",
            {"policy_yaml": text, "sha256": policy_store.text_sha256(text)}, reason, session.user.actor,
            subject=SUBJECT)
    except CloudcipError as exc:
        if not exc.fields and exc.status != 409:
            raise
        errors: dict[str, str] = {}
        for issue in exc.fields:
            errors[issue.field] = f"{errors[issue.field]}; {issue.message}" if issue.field in errors else issue.message
        return _page(request, console, errors=errors or {"policy": exc.public_detail}, values=values, status=422)
    return RedirectResponse("/console/approvals?notice=proposed", status_code=303)
