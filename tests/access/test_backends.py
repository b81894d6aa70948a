"""The access capability's engine back-end is chosen once from the ``Database`` (C1): each engine
gets its own, which writes and reads that engine's SQL; an engine without one is refused."""

from __future__ import annotations

import pytest

from cloudcip.access.backends import UnsupportedEngine, backend_for, backend_named
from cloudcip.access.backends.postgresql import POSTGRES_BATCH_LINES
from cloudcip.access.backends.sqlite import SQLITE_BATCH_LINES
from cloudcip.errors import Unavailable
from cloudcip.storage.database import Database


def test_each_engine_has_its_back_end(db: Database) -> None:
    backend = backend_for(db)
    assert backend.name == db.engine.dialect.name
    assert backend is backend_named(db.engine.dialect.name)  # one instance per engine
    assert backend.import_batch_lines == (SQLITE_BATCH_LINES if backend.name == "sqlite" else POSTGRES_BATCH_LINES)
    assert backend.stages_spans() is (backend.name == "sqlite")
    with db.engine.begin() as connection:
        assert backend.newest_event_id(connection) == 0


def test_an_engine_without_a_back_end_is_refused() -> None:
    with pytest.raises(UnsupportedEngine) as refused:
        backend_named("mysql")
    assert isinstance(refused.value, ValueError) and isinstance(refused.value, Unavailable)
