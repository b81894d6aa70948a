"""Scheduled oversight: the reviews that fall due open and draw their sample by themselves (E3, B3).

The regulatory profile sets the cadence (``resellers.review_interval_days``, 365 by default, and
``resellers.review_sample_size``, 25): a reseller that is not terminated and has no open review is
**due** for a scheduled review ``review_interval_days`` after its last review started (or after it was
registered, if never reviewed). ``cloudcip serve`` runs :meth:`ScheduledReviews.run_due_reviews` daily
(``runtime.default_tasks``; ``cloudcip resellers review run-due --as-of DATE`` runs it by hand): each
due reseller gets a ``scheduled`` review dated that day, and every open scheduled review without a
sample gets one of the profile's size, drawn with a seed derived from the review's id (kept on the
review and on the ledger, so anyone can draw the same sample again). Each step is on the ledger as
when an officer does it (``start_review``, ``sample``).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from cloudcip import clock
from cloudcip.errors import Conflict
from cloudcip.records.roles import Actor
from cloudcip.resellers.oversight import ResellerOversight
from cloudcip.resellers.register import require
from cloudcip.resellers.register_schema import reseller, reseller_review


def review_seed(review_id: str) -> int:
    """The seed of a scheduled review's sample: reproducible from its id (31 bits, any engine's integer)."""
    return int.from_bytes(hashlib.sha256(review_id.encode()).digest()[:4], "big") >> 1


def next_review_due(registered: datetime, last_review: datetime | None, interval_days: int) -> date:
    """The day a reseller's next scheduled review falls due."""
    return clock.utc(last_review or registered).date() + timedelta(days=interval_days)


class ScheduledReviews(ResellerOversight):
    """E3: reviews opened and sampled on the profile's cadence."""

    def review_schedule(self, actor: Actor) -> list[dict[str, Any]]:
        """Each reseller not terminated with the day its next scheduled review falls due, soonest first."""
        require(actor, "reseller:read")
        last = (select(reseller_review.c.reseller_id, func.max(reseller_review.c.started_at).label("last"))
                .group_by(reseller_review.c.reseller_id).subquery())
        with self.database.engine.connect() as conn:
            rows = conn.execute(select(reseller.c.id, reseller.c.created_at, reseller.c.status, last.c.last)
                                .select_from(reseller.outerjoin(last, last.c.reseller_id == reseller.c.id))
                                .where(reseller.c.status != "terminated")).all()
            open_reviews = {row.reseller_id for row in conn.execute(
                select(reseller_review.c.reseller_id).where(reseller_review.c.state == "open"))}
        schedule = [{"reseller_id": row.id, "status": row.status, "review_open": row.id in open_reviews,
                     "last_review_at": clock.iso(clock.utc_or_none(row.last)),
                     "next_review_due": next_review_due(clock.utc(row.created_at), clock.utc_or_none(row.last),
                                                        self.review_interval_days).isoformat()}
                    for row in rows]
        return sorted(schedule, key=lambda item: (item["next_review_due"], item["reseller_id"]))

    def run_due_reviews(self, actor: Actor) -> dict[str, Any]:
        """The daily job at ``self.now()``: open the due scheduled reviews, sample the unsampled ones."""
        require(actor, "reseller:write")
        day = self.now().date()
        opened: list[dict[str, Any]] = []
        for item in self.review_schedule(actor):
            if item["review_open"] or item["next_review_due"] > day.isoformat():
                continue
            try:
                review = self.start_review(item["reseller_id"], actor, kind="scheduled", scheduled_for=day)
            except Conflict:  # opened (or terminated) meanwhile by someone else: nothing is due
                continue
            opened.append({"reseller_id": item["reseller_id"], "review_id": review["id"]})
        with self.database.engine.connect() as conn:
            unsampled = conn.execute(select(reseller_review.c.id, reseller_review.c.reseller_id).where(
                reseller_review.c.kind == "scheduled", reseller_review.c.state == "open",
                reseller_review.c.sampled_at.is_(None)).order_by(reseller_review.c.started_at,
                                                                 reseller_review.c.id)).all()
        sampled: list[dict[str, Any]] = []
        for row in unsampled:
            seed = review_seed(row.id)
            try:
                view = self.draw_sample(row.reseller_id, row.id, self.review_sample_size, seed, actor)
            except Conflict:
                continue
            sample = view["sample"] or {}
            sampled.append({"reseller_id": row.reseller_id, "review_id": row.id, "seed": seed,
                            "size": sample.get("size"), "population": sample.get("population")})
        return {"as_of": day.isoformat(), "opened": opened, "sampled": sampled}
