"""The hits waiting on a person, riskiest and oldest first (D5): what the console's review queue
lists. Read-only; adjudication goes through ``screening.hits.decide``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from cloudcip.screening.hits import StoredHit, _stored
from cloudcip.screening.schema import screening_hit

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


def open_hits(conn: Connection, *, source: str | None = None, subject_type: str | None = None,
              opened_before: datetime | None = None, limit: int = 50, offset: int = 0) -> list[StoredHit]:
    """Open hits: blocking band first, then the oldest."""
    rank = case({band: i for i, band in enumerate(BAND_ORDER)}, value=screening_hit.c.band, else_=len(BAND_ORDER))
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
