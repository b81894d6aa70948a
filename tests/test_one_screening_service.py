"""Issue 12: a process builds one screening service (one in-memory index of the in-force lists and
measures) and passes it to everything that screens: the API's decisions, its screening routes and
console, re-screening and the CLI (``runtime.screening_service``)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from cloudcip.api.app import create_app
from cloudcip.runtime import Services, application_service, regulatory_profile, screening_service
from cloudcip.verification.profile import load_profile


@pytest.fixture
def database_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """SQLite: the wiring does not depend on the engine."""
    return f"sqlite:///{tmp_path / 'cloudcip.db'}"


@pytest.mark.requirement("D3")
def test_the_app_the_decisions_and_the_cli_share_one_screening_service(services: Services) -> None:
    one = screening_service(services)
    assert screening_service(services) is one
    assert application_service(services).screening is one
    with TestClient(create_app(services)) as client:
        app = client.app
        assert app.state.screening is one  # type: ignore[attr-defined]
        assert app.state.applications.screening is one  # type: ignore[attr-defined]
    assert regulatory_profile(services) is regulatory_profile(services)
    assert regulatory_profile(services) == load_profile(services.settings.profile)


@pytest.mark.requirement("D3")
def test_each_process_services_have_their_own(services: Services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two ``Services`` (two processes, or two tests) never share an index."""
    from cloudcip.runtime import open_services

    other = open_services(services.settings)
    try:
        assert screening_service(other) is not screening_service(services)
        assert screening_service(other).services is other
    finally:
        other.close()
