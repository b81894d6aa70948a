"""The access capability's engine back-ends (C1-C4): ``base.AccessBackend`` and one implementation
per engine, chosen once from the ``Database`` by ``backend_for``."""

from __future__ import annotations

from cloudcip.access.backends.base import AccessBackend
from cloudcip.access.backends.postgresql import PostgresAccessBackend
from cloudcip.access.backends.sqlite import SqliteAccessBackend
from cloudcip.errors import Unavailable
from cloudcip.storage.database import Database

_BACKENDS: dict[str, AccessBackend] = {"sqlite": SqliteAccessBackend(), "postgresql": PostgresAccessBackend()}


class UnsupportedEngine(Unavailable, ValueError):
    """Access events need SQLite or PostgreSQL (a ``ValueError`` as before)."""


def backend_for(database: Database) -> AccessBackend:
    """The back-end of the database's engine (the one place the engine is looked at)."""
    return backend_named(database.engine.dialect.name)


def backend_named(engine: str) -> AccessBackend:
    """The back-end of an engine by its dialect's name (for code holding only a ``Connection``:
    ``backend_named(connection.dialect.name)``)."""
    backend = _BACKENDS.get(engine)
    if backend is None:
        raise UnsupportedEngine("access events need SQLite or PostgreSQL")
    return backend


__all__ = ["AccessBackend", "UnsupportedEngine", "backend_for", "backend_named"]
