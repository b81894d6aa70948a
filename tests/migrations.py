"""Helpers of the migration tests (B1): a database as it was before one revision, with the data the code
writes there, then upgraded."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory

from cloudcip.storage.database import Database
from cloudcip.storage.migrate import alembic_config, upgrade


def undo(database: Database, revision: str) -> None:
    """The schema as it was before ``revision`` and the revisions after it on its branch (the other
    capabilities' heads stay)."""
    config = alembic_config(database)
    script = ScriptDirectory.from_config(config).get_revision(revision)
    assert script is not None and isinstance(script.down_revision, str)
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, f"{revision}@{script.down_revision}")
    database.engine.dispose()


def redo(database: Database) -> None:
    """Every head again, with no connection left from before the schema changed."""
    upgrade(database)
    database.engine.dispose()


def indexes(database: Database, table: str) -> set[str]:
    """The names of ``table``'s indexes (SQLite's automatic ones included)."""
    with database.engine.connect() as conn:
        if database.is_sqlite:
            query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
        return {name for (name,) in conn.exec_driver_sql(query, (table,))}
