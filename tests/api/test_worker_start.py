"""A worker of ``cloudcip serve --workers N`` does its one-time work before it serves (A1-A8, D3).

Built on the first signups instead, the screening index (seconds with the real lists) and the
romanisers' dictionaries landed on customers' requests, on whichever worker met them first; and a
full collection of the garbage collector walked the index's ~1.9 million objects (~0.85 s) in the
middle of a request."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from stdnum import numdb

from cloudcip.api.app import create_app_from_environment
from cloudcip.clock import now
from cloudcip.records.roles import create_api_key
from cloudcip.records.synthetic import SyntheticCustomers
from cloudcip.runtime import initialise
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
