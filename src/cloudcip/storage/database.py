"""Engine creation for the embedded default (SQLite, WAL) and PostgreSQL (B1).

``Database`` wraps one SQLAlchemy engine; every capability takes a ``Database`` and opens its own
transactions with ``database.engine.begin()``.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@dataclass
class Database:
    """One database, SQLite or PostgreSQL, reached through ``engine``."""

    url: str
    engine: Engine
    _writer: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def write_gate(self) -> AbstractContextManager[object]:
        """Serialises this process's write transactions on SQLite, which has one writer at a time:
        threads queue here instead of in SQLite's sleeping busy handler. A no-op on PostgreSQL."""
        return self._writer if self.is_sqlite else nullcontext()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, schema: str | None = None) -> Database:
    """Create the engine for ``url``; ``schema`` (PostgreSQL only) sets the search path."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif parsed.get_backend_name() == "postgresql":
        options: dict[str, Any] = {}
        if schema:
            options["connect_args"] = {"options": f"-csearch_path={schema}"}
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **options)
    else:
        engine = create_engine(url, poolclass=NullPool)
    return Database(url=url, engine=engine)
