"""``column IN (ids)`` for long lists of ids without one bound parameter per id (B1).

SQLAlchemy renders ``column.in_(ids)`` with a parameter per element, each named, coerced and bound
at every execution: for a purge of a thousand customers, whose statements each name hundreds of
ids, that costs more than the statements themselves. ``any_of`` binds the whole list once: on SQLite
as a JSON array read by ``json_each`` (the column's index is still searched for each value); on
other engines it is the ordinary ``IN``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import Boolean


class _AnyOf(ColumnElement[bool]):
    """``column`` is one of ``ids``."""

    inherit_cache = False
    type = Boolean()
    _is_implicitly_boolean = True  # a condition as it stands: no "= 1" after it, which would hide the index

    def __init__(self, column: ColumnElement[Any], ids: Sequence[str]) -> None:
        self.column = column
        self.ids = list(ids)


@compiles(_AnyOf)
def _default(element: _AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.in_(element.ids), **kw)


@compiles(_AnyOf, "sqlite")
def _sqlite(element: _AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    ids = compiler.process(bindparam(None, json.dumps(element.ids)), **kw)
    return f"({column} IN (SELECT value FROM json_each({ids})))"  # noqa: S608 - both parts compiled, the ids bound


def any_of(column: ColumnElement[Any], ids: Sequence[str]) -> ColumnElement[bool]:
    """``column IN (ids)``, the list bound as one parameter where the engine allows it."""
    return _AnyOf(column, ids)


__all__ = ["any_of"]
