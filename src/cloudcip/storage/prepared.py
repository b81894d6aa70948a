"""Statements on the path of every signup run straight on the driver (A1-A8, B1, B3).

SQLAlchemy's execution of a Core statement (its cache key, execution context, parameter and result
set-up) costs 15-70 µs of CPU even when the compiled form is cached; a one-row ``SELECT`` on SQLite
costs the driver about 4 µs. ``Prepared`` keeps the statement as a Core construct (so the SQL is
still written against the ``Table`` definitions, for every dialect), compiles it once per dialect and
per length of each expanding ``IN`` list into the driver's SQL and the order of its parameters, and
runs it on the transaction's own DBAPI cursor with the columns' bind and result processors applied
as SQLAlchemy applies them. Errors come out as SQLAlchemy's exceptions, as ``storage.bulk``'s do.

Rows are plain tuples, in the order of the statement's columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import Compiled, SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

_Processor = Callable[[Any], Any]
_MAX_PLANS = 64  # lengths of IN lists differ from call to call: bound, like SQLAlchemy's own cache


@dataclass(frozen=True)
class _Plan:
    sql: str
    positional: bool
    # per parameter of the driver's statement: its name, where its value comes from (a caller's
    # parameter, an element of an expanding one, or a constant of the statement) and its processor
    names: tuple[str, ...]
    sources: tuple[tuple[str | None, int, Any], ...]
    binds: tuple[_Processor | None, ...]
    results: tuple[_Processor | None, ...]

    def values(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        out = []
        for (name, index, constant), process in zip(self.sources, self.binds, strict=True):
            value = constant if name is None else params[name] if index < 0 else params[name][index]
            out.append(process(value) if process is not None and value is not None else value)
        return tuple(out) if self.positional else dict(zip(self.names, out, strict=True))


class Prepared:
    """A Core statement (with ``bindparam`` parameters) run on the driver's cursor."""

    __slots__ = ("_compiled", "_plans", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, Compiled] = {}
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    def _plan(self, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
        lengths = tuple(len(v) for v in params.values() if isinstance(v, list | tuple))
        key = (dialect.name, tuple(params), lengths)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        state = compiled.construct_expanded_state(dict(params), escape_names=False)
        origin = {element: (name, index) for name, elements in state.parameter_expansion.items()
                  for index, element in enumerate(elements)}
        if compiled.positional:
            names = tuple(state.positiontup or ())
        else:
            names = tuple(name for name in state.parameters if name not in state.parameter_expansion)
        sources: list[tuple[str | None, int, Any]] = []
        for name in names:
            if name in origin and origin[name][0] in params:
                sources.append((origin[name][0], origin[name][1], None))
            elif name in params:
                sources.append((name, -1, None))
            else:  # a constant of the statement (``column == "customer"``, ``literal("hit")``, ``in_([...])``)
                sources.append((None, -1, state.parameters[name]))
        results = tuple(entry.type._cached_result_processor(dialect, None)
                        for entry in compiled._result_columns)
        processors: dict[str, Any] = {**compiled._bind_processors, **state.processors}
        plan = _Plan(state.statement, compiled.positional, names, tuple(sources),
                     tuple(processors.get(name) for name in names), results)
        if len(self._plans) >= _MAX_PLANS:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, _Plan]:
        plan = self._plan(conn.dialect, params)
        values = plan.values(params)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(plan.sql, values)
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise DBAPIError.instance(plan.sql, None, exc, conn.dialect.loaded_dbapi.Error,
                                      hide_parameters=True, dialect=conn.dialect) from exc
        return cursor, plan

    def all(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Every row, each a tuple of the statement's columns."""
        cursor, plan = self._run(conn, params or {})
        try:
            rows: Sequence[Sequence[Any]] = cursor.fetchall()
        finally:
            cursor.close()
        if not any(plan.results):
            return [tuple(row) for row in rows]
        return [tuple(value if process is None or value is None else process(value)
                      for value, process in zip(row, plan.results, strict=True)) for row in rows]

    def first(self, conn: Connection, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        rows = self.all(conn, params)
        return rows[0] if rows else None

    def scalars(self, conn: Connection, params: Mapping[str, Any] | None = None) -> list[Any]:
        return [row[0] for row in self.all(conn, params)]

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> int:
        """A statement without rows (``UPDATE``, ``DELETE``, ``INSERT``); the rows it touched."""
        cursor, _ = self._run(conn, params or {})
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()
