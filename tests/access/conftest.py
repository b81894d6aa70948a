"""Fixtures of the access-ledger tests: a fresh SQLite file, or a fresh PostgreSQL schema (C1-C4, B1)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from cloudcip.access.schema import create_access_schema
from cloudcip.storage.database import Database, open_database

POSTGRES_URL = os.environ.get("CLOUDCIP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL at CLOUDCIP_TEST_POSTGRES_URL is unreachable ({type(exc).__name__})"


@pytest.fixture
def sqlite_db(tmp_path: object) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/access.db")
    create_access_schema(database)
    yield database
    database.dispose()


@pytest.fixture
def postgres_db() -> Iterator[Database]:
    reason = _postgres_reachable()
    if reason:
        if os.environ.get("CLOUDCIP_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}, and CLOUDCIP_REQUIRE_POSTGRES=1 requires it")
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = open_database(POSTGRES_URL, schema=schema)
    try:
        create_access_schema(database)
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Database:
    name = "sqlite_db" if request.param == "sqlite" else "postgres_db"
    database: Database = request.getfixturevalue(name)
    return database
