"""What every console page shares: templates, the session and role checks, CSRF, the purpose
prompt, and HTML error pages (B3, B4).

- **Sessions**: ``current_session`` reads the ``__Host-cloudcip-console`` cookie; without a live
  session a page answers 303 to ``/console/login``.
- **Roles**: ``allowed(permission)`` makes a page or form need a permission of ``records.roles``; a
  person without it gets a 403 *page*.
- **CSRF**: every form carries the session's token; ``checked_form`` refuses a POST without it (403).
  The sign-in form, before any session, uses a double-submitted cookie of its own.
- **Errors**: ``ConsoleRoute`` renders every error a console route lets through as a page with the
  error's public detail (never a trace, never personal data); field errors re-show their form.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloudcip import clock
from cloudcip.approvals.service import FourEyes
from cloudcip.console.users import ConsoleUsers, Session
from cloudcip.errors import CloudcipError, Forbidden
from cloudcip.records.roles import Permission, may
from cloudcip.screening.service import ScreeningService
from cloudcip.services import Services
from cloudcip.verification.applications import ApplicationService

log = logging.getLogger("cloudcip.console")

SESSION_COOKIE = "__Host-cloudcip-console"
LOGIN_COOKIE = "__Host-cloudcip-login"
MAX_PURPOSE = 200

templates = Environment(loader=PackageLoader("cloudcip.console", "templates"),
                        autoescape=select_autoescape(("html",)), trim_blocks=True, lstrip_blocks=True)
templates.filters["iso"] = clock.iso


@dataclass
class Console:
    """The console's share of the app: services it calls, built once by ``console.app.mount``."""

    services: Services
    applications: ApplicationService
    screening: ScreeningService
    users: ConsoleUsers
    four_eyes: FourEyes
    extras: dict[str, Any] = field(default_factory=dict)


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]


class LoginRequired(Exception):
    """No live session: the page redirects to the sign-in page."""


class PageError(Exception):
    """An error page with a status, a title and a public detail."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


async def current_session(request: Request, console: ConsoleDep) -> Session:
    session = console.users.session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise LoginRequired()
    request.state.session = session
    return session


SessionDep = Annotated[Session, Depends(current_session)]


def allowed(*permissions: Permission) -> Callable[[Session], Awaitable[Session]]:
    """A dependency: the session's person holds one of ``permissions``, or a 403 page."""

    async def check(session: SessionDep) -> Session:
        if not any(may(session.user.role, p) for p in permissions):
            raise Forbidden(f"your role ({session.user.role}) may not open this page or do this")
        return session

    return check


async def checked_form(request: Request, session: SessionDep) -> FormData:
    """The POSTed form, once its CSRF token matches the session's (else a 403 page, nothing done)."""
    form = await request.form()
    presented = form.get("csrf_token")
    if not isinstance(presented, str) or not hmac.compare_digest(presented, session.csrf_token):
        raise PageError(403, "Form refused", "This form did not come from your console session (CSRF check). "
                                             "Nothing was saved; open the page again and resubmit.")
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


async def posted_form(request: Request) -> FormData:
    """The POSTed form, unchecked (the sign-in form checks its own token)."""
    return await request.form()


RawFormDep = Annotated[FormData, Depends(posted_form)]


def text_of(form: FormData, name: str, limit: int = 500) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def purpose_error(purpose: str) -> str | None:
    if not purpose:
        return "say why you need to see this record"
    if len(purpose) < 3 or len(purpose) > MAX_PURPOSE or not purpose.isprintable():
        return f"3 to {MAX_PURPOSE} printable characters"
    return None


NAV: tuple[tuple[str, str, tuple[Permission, ...]], ...] = (
    ("Review queue", "/console/queue", ("application:decide", "screening:adjudicate")),
    ("Four eyes", "/console/approvals", ("measures:write", "application:redress", "policy:write")),
    ("Measures", "/console/measures", ("screening:read", "measures:write")),
    ("Lists", "/console/lists", ("screening:read",)),
    ("Ledger", "/console/ledger", ("ledger:read",)),
    ("Re-screening", "/console/rescreens", ("screening:read",)),
    ("Incidents", "/console/incidents", ("incident:read",)),
    ("Indicators", "/console/indicators", ("sharing:adjudicate",)),
    ("Legal", "/console/legal", ("legal_process:read",)),
    ("Productions", "/console/productions", ("production:create",)),
    ("Resellers", "/console/resellers", ("reseller:read",)),
    ("Exemptions", "/console/exemptions", ("exemption:read",)),
    ("Certification", "/console/certification", ("certification:read",)),
    ("Roster", "/console/roster", ("roster:export",)),
    ("CIP policy", "/console/policy", ("policy:write",)),
)


def render(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
           status: int = 200) -> HTMLResponse:
    session: Session | None = getattr(request.state, "session", None)
    role = session.user.role if session else None
    values: dict[str, Any] = {
        "session": session, "user": session.user if session else None,
        "csrf_token": session.csrf_token if session else None,
        "nav": [(label, href) for label, href, perms in NAV if role and any(may(role, p) for p in perms)],
        "may": (lambda permission: role is not None and may(role, permission)),
        "path": request.url.path,
    }
    values.update(context or {})
    return HTMLResponse(templates.get_template(template).render(values), status_code=status)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    return render(request, "errors/error.html", {"status": status, "title": title, "detail": detail},
                  status=status)


def field_errors(exc: BaseException) -> dict[str, str] | None:
    """The fields an error names (a service's refusal), or ``None`` when it names none."""
    if isinstance(exc, CloudcipError) and exc.fields:
        return {f.field: f.message for f in exc.fields}
    problems = getattr(exc, "problems", None)
    if problems:
        return {str(getattr(p, "field", "form")): str(getattr(p, "message", "invalid")) for p in problems}
    name, reason = getattr(exc, "field", None), getattr(exc, "reason", None)
    if isinstance(name, str) and isinstance(reason, str):
        return {name: reason}
    return None


def _public(exc: BaseException) -> tuple[int, str, str]:
    """Status, title and public detail of an error a console route let through."""
    from cloudcip.records.roles import AccessRefused

    if isinstance(exc, PageError):
        return exc.status, exc.title, exc.detail
    if isinstance(exc, CloudcipError):
        titles = {403: "Not allowed", 404: "Not found", 409: "Changed meanwhile", 410: "Gone"}
        return exc.status, titles.get(exc.status, exc.title.capitalize()), exc.public_detail
    if isinstance(exc, AccessRefused):
        return 403, "Not allowed", "your role may not do this"
    if isinstance(exc, RequestValidationError):
        return 404, "Not found", "no such page"
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, "Error", "no such page" if exc.status_code == 404 else "the request was refused"
    if isinstance(exc, LookupError):
        return 404, "Not found", "no such record"
    errors = field_errors(exc)
    if errors:
        return 422, "Refused", "; ".join(f"{k}: {v}" for k, v in errors.items())
    return 500, "Something went wrong", "the page could not be shown; nothing was changed by showing it"


class ConsoleRoute(APIRoute):
    """Console routes answer errors with pages: sign-in redirect, 403/404/409/422 pages, never a trace."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                response = RedirectResponse("/console/login", status_code=303)
                response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
                return response
            except Exception as exc:
                status, title, detail = _public(exc)
                if status >= 500:
                    log.error("console page failed: %s", type(exc).__name__)
                return error_page(request, status, title, detail)

        return page_handler


SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                                "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
