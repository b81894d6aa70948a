"""Running the Alembic migrations against a ``Database`` (B1)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cloudcip.storage.database import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database.url.replace("%", "%%"))
    return config


def upgrade(database: Database, revision: str = "heads") -> None:
    """Bring the schema to ``revision`` (every capability's head); safe on an up-to-date database.

    Each capability keeps its own branch of revisions off the first one, so their migrations can be
    written independently; ``heads`` applies them all.
    """
    config = alembic_config(database)
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revisions(database: Database) -> frozenset[str]:
    with database.engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def head_revisions(database: Database) -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config(database)).get_heads())
