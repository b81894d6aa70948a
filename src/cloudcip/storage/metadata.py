"""The one SQLAlchemy ``MetaData`` every capability's tables are declared on (B1).

Capabilities declare their tables with ``sqlalchemy.Table(..., metadata)`` in a ``schema.py`` of
their own folder; ``cloudcip.storage.tables`` imports them all so Alembic sees one schema.
"""

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
