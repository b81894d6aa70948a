"""A worker of ``cloudcip serve --workers N`` does its one-time work before it serves (A1-A8, D3).

Built on the first signups instead, the screening index (seconds with the real lists) and the
romanisers' dictionaries landed on customers' requests, on whichever worker met them first; and a
full collection of the garbage collector walked the index's ~1.9 million objects (~0.85 s) in the
middle of a request."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import fastapi.routing
import pytest
from fastapi.dependencies.utils import get_dependant
from fastapi.testclient import TestClient
from stdnum import numdb

from cloudcip.api.app import create_app, create_app_from_environment
from cloudcip.api.warmup import warm_routes
from cloudcip.clock import now
from cloudcip.records.roles import create_api_key
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import initialise, open_services
from cloudcip.settings import Settings


@pytest.mark.requirement("A4")
@pytest.mark.requirement("D3")
def test_a_worker_builds_its_screening_index_before_its_first_signup(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'data' / 'cloudcip.db'}")
    initialise(settings)
    monkeypatch.setenv("CLOUDCIP_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CLOUDCIP_DATABASE_URL", settings.database_url)
    app = create_app_from_environment()
    services = app.state.services
    try:
        assert app.state.screening.rebuilds == 1  # built while the worker starts
        # every country's identifier and registration checks imported, their number databases read
        assert {"stdnum.de.handelsregisternummer", "stdnum.in_.gstin", "stdnum.us.ein"} <= set(sys.modules)
        assert "us/ein" in numdb._open_databases
        # and kept out of the garbage collector's full collections, which walked all of it
        assert gc.get_freeze_count() > 0
        with services.database.engine.begin() as conn:
            key = create_api_key(conn, "signup-service", "test", now())
        with TestClient(app) as client:
            answer = client.post("/v1/applications", json=SyntheticCustomers(seed=5).application_json(),
                                 headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "first"})
        assert answer.status_code == 201, answer.text
        assert app.state.screening.rebuilds == 1  # the first signup did not build it
    finally:
        gc.unfreeze()
        services.close()


def _dependencies_solved_by_first_request(app: object, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many times FastAPI solved an endpoint's dependencies (its per-route state, built once per
    app) while serving the app's next request, ``GET /v1/hits`` without a key (401)."""
    solved: list[object] = []
    original = get_dependant  # what ``fastapi.routing`` imports and calls

    def counting(*args: object, **kwargs: object) -> object:
        solved.append(kwargs.get("call"))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fastapi.routing, "get_dependant", counting)
    with TestClient(app) as client:  # type: ignore[arg-type]
        assert client.get("/v1/hits").status_code == 401
    monkeypatch.undo()
    return len(solved)


def test_a_worker_builds_every_routes_state_before_its_first_request(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI builds the state of all ~170 routes on an app's first request (0.37-0.73 s of a first
    ``GET /healthz`` here): a worker sends itself that request as it starts, so its first customer does
    not pay for it. (How fast a worker answers serves no requirement of its own: no marker.)"""
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'data' / 'cloudcip.db'}")
    initialise(settings)
    services = open_services(settings)
    try:
        cold = create_app(services)
        # without: built on that request (here the routes up to the one that answers)
        assert _dependencies_solved_by_first_request(cold, monkeypatch) > 0
        warmed = create_app(services)
        assert warm_routes(warmed) == 200
        assert _dependencies_solved_by_first_request(warmed, monkeypatch) == 0
    finally:
        services.close()
    monkeypatch.setenv("CLOUDCIP_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CLOUDCIP_DATABASE_URL", settings.database_url)
    app = create_app_from_environment()  # what ``cloudcip serve``'s workers run
    try:
        assert _dependencies_solved_by_first_request(app, monkeypatch) == 0
    finally:
        gc.unfreeze()
        app.state.services.close()


def test_a_warm_up_request_that_fails_stops_the_worker_with_the_apps_error() -> None:
    async def broken(scope: object, receive: object, send: object) -> None:
        raise LookupError("the app's own error")

    with pytest.raises(LookupError, match="the app's own error"):
        warm_routes(broken)
