"""The analysts' console under ``/console``: pages, static assets, security headers (B3, B4, D5).

``mount`` adds the console to the API's FastAPI app (``cloudcip serve`` serves both): one router
per area (``console/routers/``), one template folder per area (``console/templates/``), static
assets of the package itself (``console/static/``: no CDN, no build step, nothing fetched at run
time) and the world map from the ``pygal_maps_world`` package's data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from cloudcip.approvals.service import FourEyes
from cloudcip.console import executors
from cloudcip.console.routers import (
    accounts,
    approvals,
    auth,
    cases,
    hits,
    incidents,
    ledger,
    legal,
    lists,
    policy,
    productions,
    queue,
    reporting,
)
from cloudcip.console.users import ConsoleUsers
from cloudcip.console.web import SECURITY_HEADERS, Console
from cloudcip.screening.service import ScreeningService
from cloudcip.services import Services
from cloudcip.verification.applications import ApplicationService

ROUTERS = (auth.router, queue.router, accounts.router, cases.router, hits.router, approvals.router, lists.router,
           incidents.router, ledger.router, legal.router, productions.router, reporting.router,
           policy.router)


def console_users(services: Services) -> ConsoleUsers:
    settings = services.settings
    return ConsoleUsers(services.database, services.keyring, services.ledger,
                        idle=timedelta(minutes=settings.console_idle_minutes),
                        lifetime=timedelta(hours=settings.console_session_hours))


def mount(app: FastAPI, services: Services, applications: ApplicationService, screening: ScreeningService) -> Console:
    """Add the console's routes, assets and headers to ``app``."""
    console = Console(services=services, applications=applications, screening=screening,
                      users=console_users(services), four_eyes=FourEyes(services.database, services.ledger, {}))
    console.four_eyes.executors = executors.for_console(console)
    app.state.console = console
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/console/static", StaticFiles(packages=[("cloudcip.console", "static")]), name="console-static")

    @app.middleware("http")
    async def console_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if request.url.path.startswith("/console"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            if not request.url.path.startswith("/console/static"):
                response.headers.setdefault("Cache-Control", "no-store")
        return response

    return console
