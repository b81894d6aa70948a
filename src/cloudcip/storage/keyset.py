"""Keyset pagination of a list ordered by (rank, time, id): the console's review queue (A6, D5).

A page deep in a list reads only its own rows: the next page is "the first N after the last key shown",
the previous one "the last N before the first key shown", instead of skipping N x page rows (OFFSET).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, or_

from cloudcip import clock

#: a queue position: (rank, opened at, id), the order the queue lists in
QueueKey = tuple[int, datetime, str]


def keyset(rank: Any, opened: Any, ident: Any, key: QueueKey, *, after: bool) -> Any:
    """Rows strictly after (or before) ``key`` in the order (rank, opened, id): keyset pagination, so a
    page deep in the queue reads only its own rows, never the ones before it."""
    r, t, i = key
    if after:
        return or_(rank > r, and_(rank == r, or_(opened > t, and_(opened == t, ident > i))))
    return or_(rank < r, and_(rank == r, or_(opened < t, and_(opened == t, ident < i))))


def ordered_keys(conn: Connection, rank: Any, opened: Any, ident: Any, query: Select[Any], *, limit: int,
                 after: QueueKey | None = None, before: QueueKey | None = None) -> list[QueueKey]:
    """The first ``limit`` keys after ``after`` (or the last ``limit`` before ``before``), in queue order."""
    if after is not None:
        query = query.where(keyset(rank, opened, ident, after, after=True))
    if before is not None:
        query = query.where(keyset(rank, opened, ident, before, after=False))
        query = query.order_by(rank.desc(), opened.desc(), ident.desc())
    else:
        query = query.order_by(rank, opened, ident)
    keys = [(int(row[0]), clock.utc(row[1]), str(row[2])) for row in conn.execute(query.limit(max(1, limit)))]
    return keys[::-1] if before is not None else keys
