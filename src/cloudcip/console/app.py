"""The analysts' console under ``/console``: pages, static assets, security headers (B3, B4, D5).

``mount`` adds the console to the API's FastAPI app (``cloudcip serve`` serves both): one router
per area (``console/routers/``), one template folder per area (``console/templates/``), static
assets of the package itself (``console/static/``: no CDN, no build step, nothing fetched at run
time) and the world map from the ``pygal_maps_world`` package's data.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloudcip.approvals.service import FourEyes
from cloudcip.console import executors
from cloudcip.console.routers import (
    accounts,
    approvals,
    auth,
    cases,
    hits,
    incidents,
    indicators,
    ledger,
    legal,
    lists,
    oversight,
    policy,
    productions,
    queue,
    reporting,
    reseller_actions,
)
from cloudcip.console.users import ConsoleUsers
from cloudcip.console.web import SECURITY_HEADERS, Console
from cloudcip.screening.service import ScreeningService
from cloudcip.services import Services
from cloudcip.verification.applications import ApplicationService

ROUTERS = (auth.router, queue.router, accounts.router, cases.router, hits.router, approvals.router, lists.router,
           incidents.router, ledger.router, legal.router, productions.router, reporting.router,
           policy.router, oversight.router, reseller_actions.router,
           indicators.router)


class ConsoleHeaders:
    """The console's security headers (and ``no-store`` on its pages) on every ``/console`` response; a
    plain ASGI middleware, so the API's requests pass through it untouched and at no cost."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/console"):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/console/static")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


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

    app.add_middleware(ConsoleHeaders)
    return console
