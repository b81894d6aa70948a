"""Sign-in and sign-out (B4): per-person users, optional TOTP, a session cookie that is ``Secure``,
``HttpOnly`` and ``SameSite=Strict``; the sign-in form is protected by a double-submitted token."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cloudcip.console.routers.queue import SEARCH_KINDS
from cloudcip.console.users import SignInRefused
from cloudcip.console.web import (
    LOGIN_COOKIE,
    NAV,
    SESSION_COOKIE,
    ConsoleDep,
    ConsoleRoute,
    FormDep,
    RawFormDep,
    SessionDep,
    render,
    text_of,
)
from cloudcip.records.roles import may

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)


def _login_page(request: Request, *, error: str | None = None, message: str | None = None,
                username: str | None = None, status: int = 200) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = render(request, "auth/login.html", {"login_token": token, "error": error, "message": message,
                                                   "username": username}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, max_age=900, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
async def home(request: Request, session: SessionDep) -> Response:
    """The person's first page: the review queue for reviewers, else the first page the role opens."""
    role = session.user.role
    for _label, href, permissions in NAV:
        if any(may(role, p) for p in permissions):
            return RedirectResponse(href, status_code=303)
    return render(request, "auth/home.html", {"search_kinds": SEARCH_KINDS, "errors": {}})


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, console: ConsoleDep) -> Response:
    if console.users.session(request.cookies.get(SESSION_COOKIE), touch=False) is not None:
        return RedirectResponse("/console/", status_code=303)
    return _login_page(request)


@router.post("/login", response_class=HTMLResponse)
def sign_in(request: Request, console: ConsoleDep, form: RawFormDep) -> Response:
    presented, expected = form.get("login_token"), request.cookies.get(LOGIN_COOKIE)
    if not isinstance(presented, str) or not expected or not hmac.compare_digest(presented, expected):
        return _login_page(request, error="The sign-in form expired or did not come from this console. Try again.",
                           status=403)
    username = text_of(form, "username", 32)
    try:
        token, _session = console.users.sign_in(username, str(form.get("password") or "")[:256],
                                                text_of(form, "code", 10) or None)
    except SignInRefused:
        return _login_page(request, error="Username, password or code not accepted.", username=username,
                           status=401)
    response = RedirectResponse("/console/", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, path="/", secure=True, httponly=True, samesite="strict")
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


@router.post("/logout", response_class=HTMLResponse)
def sign_out(request: Request, console: ConsoleDep, session: SessionDep, form: FormDep) -> Response:
    console.users.end(request.cookies.get(SESSION_COOKIE) or "")
    response = _login_page(request, message="You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response
