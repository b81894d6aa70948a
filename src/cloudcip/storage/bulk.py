"""Inserting many rows through the driver's ``executemany`` (B1, B3).

SQLAlchemy's per-row parameter processing costs more than the insert itself on the hot paths
(customer records, ledger entries); this keeps the table definitions and their type processing and
hands the rows to the driver in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, named after ``table``'s columns) in one call."""
    if not rows:
        return
    columns = list(rows[0])
    dialect = conn.dialect
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names come from the Table
                 f"VALUES ({', '.join([marker] * len(columns))})")
    pairs = list(zip(columns, processors, strict=True))
    params = [
        tuple(process(row[name]) if process is not None and row[name] is not None else row[name]
              for name, process in pairs)
        for row in rows
    ]
    conn.exec_driver_sql(statement, params)
