"""Shared fixtures: one suite, parametrised by engine (SQLite and PostgreSQL).

PostgreSQL comes from ``CLOUDCIP_TEST_POSTGRES_URL`` (default: the local server's ``test`` database);
each test gets a schema of its own, dropped afterwards, so runs never collide. Where the server is
unreachable the PostgreSQL cases skip, saying so, unless ``CLOUDCIP_REQUIRE_POSTGRES=1`` (CI) makes
that an error.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from cloudcip.runtime import Services, initialise, open_services
from cloudcip.settings import Settings

POSTGRES_URL = os.environ.get("CLOUDCIP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

_postgres_state: dict[str, str | None] = {}


def postgres_unavailable() -> str | None:
    """None when the PostgreSQL test server answers, else why not."""
    if "reason" not in _postgres_state:
        try:
            engine = create_engine(POSTGRES_URL)
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _postgres_state["reason"] = None
        except Exception as exc:
            _postgres_state["reason"] = f"PostgreSQL at {POSTGRES_URL} unreachable ({type(exc).__name__})"
    return _postgres_state["reason"]


def skip_without_postgres() -> None:
    reason = postgres_unavailable()
    if reason:
        if os.environ.get("CLOUDCIP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and CLOUDCIP_REQUIRE_POSTGRES=1 requires it")
        pytest.skip(reason)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search path is a fresh schema of this test's own."""
    skip_without_postgres()
    schema = "t_" + secrets.token_hex(6)
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloudcip.db'}"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    initialise(settings)
    opened = open_services(settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent: tests of the real public files run where ../shared/data exists")
    return SHARED_DATA
