"""The FastAPI application: routers, error handling, size limits (B4)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from cloudcip import __version__
from cloudcip.api.auth import current_actor
from cloudcip.api.docs import install_offline_docs
from cloudcip.api.error_models import declare_common_errors
from cloudcip.api.errors import BodySizeLimit, install_error_handlers
from cloudcip.api.input_guard import RefuseNul
from cloudcip.api.models.health import Health
from cloudcip.api.routers import (
    access,
    accounts,
    apikeys,
    applications,
    customers,
    exemptions,
    holds,
    incidents,
    ledger,
    legal,
    links,
    metrics,
    notices,
    productions,
    reporting,
    reseller_register,
    resellers,
    retention,
    screening,
    sharing,
)
from cloudcip.runtime import (
    Services,
    application_service,
    gate_applications,
    indicator_intake,
    screening_service,
)
from cloudcip.runtime_access import service_signal_policy, signup_ip_lookup
from cloudcip.verification.applications import ApplicationService

# the applications first: a request is matched against the routes in this order, and the signup's
# POST /v1/applications is most of the traffic (~0.05 ms of CPU a signup saved on the routes before it)
ROUTERS = [
    applications.router, customers.router, ledger.router, screening.router, applications.vendor_router, access.router,
    resellers.router, incidents.router, apikeys.router, notices.router, accounts.router, retention.router,
    legal.router, holds.router, productions.router, reporting.router, sharing.router, links.router,
    reseller_register.router, metrics.router,
    exemptions.router,
]


def create_app(services: Services, applications_service: ApplicationService | None = None) -> FastAPI:
    app = FastAPI(
        title="cloudcip",
        version=__version__,
        description="Customer Identification Program for U.S. IaaS providers (Executive Order 13984).",
        docs_url=None, redoc_url=None,  # served from local assets by install_offline_docs: no CDN
    )
    app.state.services = services
    app.state.applications = gate_applications(services, applications_service or application_service(
        services, ip_lookup=signup_ip_lookup(services.database)))
    # one screening service (one in-memory index) per process: decisions, the screening router and the console
    app.state.screening = app.state.applications.screening or screening_service(services)
    # signals are raised by the follower (``cloudcip serve``) with this policy
    app.state.signal_policy = service_signal_policy(services, app.state.screening)
    install_error_handlers(app)
    for router in ROUTERS:
        declare_common_errors(router, current_actor)  # 401/403/413/422 where they are sent, as ErrorBody
        app.include_router(router)
    # the documentation's pages and assets after the API's routes: every API request was matched against
    # them first (their path patterns, ~5 us a request; only /openapi.json, FastAPI's own, stays before)
    install_offline_docs(app)
    from cloudcip.console.app import mount as mount_console

    # the analysts' web console under /console, on the same services (B3, B4)
    mount_console(app, services, app.state.applications, app.state.screening)

    # G3: the TAXII 2.1 server of the sharing package, with its own media type and error objects
    from cloudcip.sharing.taxii import create_taxii_app

    intake = indicator_intake(services)
    app.mount("/taxii2", create_taxii_app(services.database, services.ledger, intake=intake,
                                          max_content_length=services.settings.max_request_bytes))

    _add_component_schemas(app, resellers.COMPONENT_SCHEMAS)

    @app.get("/healthz", tags=["health"], response_model=Health)
    def healthz() -> Health:
        return Health(status="ok")

    app.add_middleware(RefuseNul)  # inside the size limit: only bodies within it are read whole
    app.add_middleware(BodySizeLimit, limit=services.settings.max_request_bytes,
                       path_limits=[(reseller_register.CIP_UPLOAD_PATH, reseller_register.CIP_UPLOAD_LIMIT)])
    return app


def _add_component_schemas(app: FastAPI, schemas: dict[str, Any]) -> None:
    """Define in ``/openapi.json`` the models a route's hand-written schema (``openapi_extra``) refers to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        defined = document.setdefault("components", {}).setdefault("schemas", {})
        for name, schema in schemas.items():
            defined.setdefault(name, schema)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def create_app_from_environment() -> FastAPI:
    """The app of one worker process of ``cloudcip serve --workers N`` (settings from ``CLOUDCIP_*``)."""
    from cloudcip.api.warmup import warm_up
    from cloudcip.runtime import open_services
    from cloudcip.settings import load_settings

    app = create_app(open_services(load_settings()))
    warm_up(app.state.screening)  # before uvicorn listens: the first signups do not build the screening index
    return app
