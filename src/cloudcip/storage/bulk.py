"""Inserting many rows through the driver's ``executemany`` (B1, B3).

SQLAlchemy's per-row parameter processing costs more than the insert itself on the hot paths
(customer records, ledger entries); this keeps the table definitions and their type processing and
hands the rows to the driver in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.sqltypes import _Binary
from sqlalchemy.types import TypeEngine

_Processor = Callable[[Any], Any]
# the statement, the columns' names in order, and (position, bind processor) of those that have one
_Plan = tuple[str, tuple[str, ...], tuple[tuple[int, _Processor], ...]]
_plans: dict[tuple[Table, str, tuple[str, ...]], _Plan] = {}


def _sqlite_datetime(original: _Processor) -> _Processor:
    """SQLite's ``DATETIME`` bind processor (its default storage format) without the mapping of
    fields it formats through: the same text for a ``datetime``, anything else to the original."""

    def process(value: Any) -> Any:
        if type(value) is datetime:
            return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
                    f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}")
        return original(value)

    return process


def _sqlite_binary(original: _Processor) -> _Processor:
    """The binary bind processor on the sqlite3 driver: ``bytes`` bind as a BLOB as they are (the
    processor wraps them in ``sqlite3.Binary``, a ``memoryview``, which binds as the same BLOB)."""

    def process(value: Any) -> Any:
        return value if type(value) is bytes else original(value)

    return process


def _processor(dialect: Dialect, column_type: TypeEngine[Any]) -> _Processor | None:
    impl = column_type.dialect_impl(dialect)
    processor = impl.bind_processor(dialect)
    if processor is None or dialect.name != "sqlite" or getattr(dialect.dbapi, "Binary", None) is not memoryview:
        return processor
    if isinstance(impl, sqlite.DATETIME) and impl._storage_format == _SQLITE_DATETIME_FORMAT:
        return _sqlite_datetime(processor)
    if isinstance(impl, _Binary):
        return _sqlite_binary(processor)
    return processor


# the default storage format, the one the fast path writes
_SQLITE_DATETIME_FORMAT: str = sqlite.DATETIME()._storage_format  # type: ignore[no-untyped-call]


def _plan(conn: Connection, table: Table, columns: tuple[str, ...]) -> _Plan:
    """The statement and the columns' bind processors, computed once per table, dialect and columns."""
    dialect = conn.dialect
    key = (table, dialect.name, columns)
    plan = _plans.get(key)
    if plan is None:
        processors = [_processor(dialect, table.c[name].type) for name in columns]
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        statement = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - names come from the Table
                     f"VALUES ({', '.join([marker] * len(columns))})")
        processed = tuple((position, process) for position, process in enumerate(processors) if process is not None)
        plan = _plans[key] = (statement, columns, processed)
    return plan


def insert_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, named after ``table``'s columns) in one call."""
    if not rows:
        return
    statement, columns, processed = _plan(conn, table, tuple(rows[0]))
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = [row[name] for name in columns]
        for position, process in processed:
            value = values[position]
            if value is not None:
                values[position] = process(value)
        params.append(tuple(values))
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
