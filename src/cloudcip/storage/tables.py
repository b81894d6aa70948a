"""Every table of cloudcip, gathered on one ``MetaData`` for Alembic and tests (B1)."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from cloudcip.storage.metadata import metadata

# each capability that keeps data declares its tables in its own schema module
SCHEMA_MODULES = (
    "cloudcip.storage.schema",
    "cloudcip.access.schema",
    "cloudcip.ledger.schema",
    "cloudcip.screening.schema",
    "cloudcip.jobs.schema",
    "cloudcip.verification.schema",
    "cloudcip.resellers.schema",
    "cloudcip.resellers.register_schema",
    "cloudcip.incidents.schema",
    "cloudcip.console.schema",
    "cloudcip.approvals.schema",
    "cloudcip.records.schema",
    "cloudcip.legal.schema",
    "cloudcip.sharing.schema",
    "cloudcip.linkage.schema",
    "cloudcip.exemptions.schema",
)


def all_tables() -> MetaData:
    """The shared MetaData with every capability's tables registered on it."""
    for name in SCHEMA_MODULES:
        importlib.import_module(name)
    return metadata
