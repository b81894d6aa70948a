"""Inserting many rows through the driver's ``executemany`` (B1, B3).

SQLAlchemy's per-row parameter processing costs more than the insert itself on the hot paths
(customer records, ledger entries); this keeps the table definitions and their type processing and
hands the rows to the driver in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.exc import DBAPIError

_Plan = tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]
_plans: dict[tuple[Table, str, tuple[str, ...]], _Plan] = {}


def _plan(conn: Connection, table: Table, columns: tuple[str, ...]) -> _Plan:
    """The statement and the columns' bind processors, computed once per table, dialect and columns."""
    dialect = conn.dialect
    key = (table, dialect.name, columns)
    plan = _plans.get(key)
    if plan is None:
        processors: list[Callable[[Any], Any] | None] = [
            table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
        ]
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names come from the Table
                     f"VALUES ({', '.join([marker] * len(columns))})")
        plan = _plans[key] = (statement, list(zip(columns, processors, strict=True)))
    return plan


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, named after ``table``'s columns) in one call."""
    if not rows:
        return
    statement, pairs = _plan(conn, table, tuple(rows[0]))
    params = [
        tuple(process(row[name]) if process is not None and row[name] is not None else row[name]
              for name, process in pairs)
        for row in rows
    ]
    # the driver's own cursor, on the transaction's connection: SQLAlchemy's per-statement execution
    # context costs more than a one-row insert; errors still come out as SQLAlchemy's exceptions
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(statement, params)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, conn.dialect.loaded_dbapi.Error,
                                  hide_parameters=True, dialect=conn.dialect) from exc
    finally:
        cursor.close()
