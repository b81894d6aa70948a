"""The hits waiting on a person, riskiest and oldest first (D5): what the console's review queue
lists. Read-only; adjudication goes through ``screening.hits.decide``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from cloudcip.screening.hits import StoredHit, _stored
from cloudcip.screening.schema import screening_hit
from cloudcip.storage.keyset import QueueKey, ordered_keys

#: bands, riskiest first
BAND_ORDER: tuple[str, ...] = ("block", "review")


def _conditions(source: str | None, subject_type: str | None, opened_before: datetime | None) -> list[Any]:
    conditions: list[Any] = [screening_hit.c.state == "open"]
    if source:
        conditions.append(screening_hit.c.list_source == source)
    if subject_type:
        conditions.append(screening_hit.c.subject_type == subject_type)
    if opened_before is not None:
        conditions.append(screening_hit.c.created_at <= opened_before)
    return conditions


def _band_rank() -> Any:
    return case({band: i for i, band in enumerate(BAND_ORDER)}, value=screening_hit.c.band, else_=len(BAND_ORDER))


def open_hit_keys(conn: Connection, *, source: str | None = None, opened_before: datetime | None = None,
                  limit: int = 50, after: QueueKey | None = None, before: QueueKey | None = None) -> list[QueueKey]:
    """The queue positions (band rank, opened at, id) of the open hits, riskiest then oldest first, after
    (or before) a position: keyset pagination, reading only ids and times."""
    rank = _band_rank()
    query = select(rank, screening_hit.c.created_at, screening_hit.c.id).where(
        *_conditions(source, None, opened_before))
    return ordered_keys(conn, rank, screening_hit.c.created_at, screening_hit.c.id, query, limit=limit,
                        after=after, before=before)


def hits_by_id(conn: Connection, ids: list[str]) -> dict[str, StoredHit]:
    """These hits (a queue page's), by id."""
    if not ids:
        return {}
    return {row.id: _stored(row) for row in conn.execute(select(screening_hit).where(screening_hit.c.id.in_(ids)))}


def open_hits(conn: Connection, *, source: str | None = None, subject_type: str | None = None,
              opened_before: datetime | None = None, limit: int = 50, offset: int = 0) -> list[StoredHit]:
    """Open hits: blocking band first, then the oldest."""
    rank = _band_rank()
    query = (select(screening_hit).where(*_conditions(source, subject_type, opened_before))
             .order_by(rank, screening_hit.c.created_at, screening_hit.c.id)
             .limit(max(1, min(limit, 1000))).offset(max(0, offset)))
    return [_stored(row) for row in conn.execute(query)]


def count_open_hits(conn: Connection, *, source: str | None = None, subject_type: str | None = None,
                    opened_before: datetime | None = None) -> int:
    query = select(func.count()).select_from(screening_hit).where(*_conditions(source, subject_type, opened_before))
    return int(conn.execute(query).scalar_one())


def hit_sources(conn: Connection) -> list[str]:
    """The list sources of the open hits (the queue's filter offers these)."""
    return sorted(conn.execute(select(screening_hit.c.list_source).distinct()
                               .where(screening_hit.c.state == "open")).scalars())


def hits_of_subjects(conn: Connection, subject_ids: list[str]) -> list[StoredHit]:
    """Every hit, in any state, of these subjects (a customer and its beneficial owners), newest first."""
    if not subject_ids:
        return []
    query = (select(screening_hit).where(screening_hit.c.subject_id.in_(subject_ids))
             .order_by(screening_hit.c.created_at.desc(), screening_hit.c.id))
    return [_stored(row) for row in conn.execute(query)]
