"""Oversight of a reseller: reviews, a reproducible random sample of its sub-lessees, each sampled
item's result, and the review's findings (E3, G4, B3).

A review is ``scheduled`` (with the day it was planned for) or ``ad_hoc``; while it is open the
reseller is ``under_review``. The sample is drawn from the reseller's active sub-lessees (across all
its Reseller Accounts) in id order: ``random.Random(seed).sample`` picks positions, and the ids at those
positions are read from the index on (Reseller Account, status, id) without reading any row, so the
same seed over the same population gives the same sample, and a million sub-lessees take well under
a second. A sample larger than the population takes the whole population and says so.

Each sampled item is recorded ``adequate``, ``deficient`` or ``missing`` (its verification evidence was
requested from the reseller). A finding closes the review: ``compliant`` puts the reseller back to
``active``; ``non_compliant`` or ``malicious_activity`` starts the termination clock
(:mod:`cloudcip.resellers.termination`) and produces an incident report (G4) through the
:class:`~cloudcip.resellers.register.IncidentReporter` wired in ``runtime``, in the finding's own
transaction (the finding, the report and the clock are written together or not at all), with what is known: the
reseller's account (its access IPs and times and identifiers are gathered by the incident service),
the review, the tally of the sampled results and the reason.
"""

from __future__ import annotations

import random
import uuid
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from cloudcip import clock
from cloudcip.errors import Conflict, InvalidInput, NotFound
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.resellers.register import ResellerRegister, ResellerTerminated, require, reseller_accounts
from cloudcip.resellers.register_schema import reseller_finding, reseller_review, reseller_review_item
from cloudcip.resellers.schema import sub_lessee
from cloudcip.resellers.termination import start_clock

REVIEW_KINDS: tuple[str, ...] = ("scheduled", "ad_hoc")
RESULTS: tuple[str, ...] = ("adequate", "deficient", "missing")
FINDING_KINDS: tuple[str, ...] = ("compliant", "non_compliant", "malicious_activity", "observation")
CLOCK_FINDINGS = ("non_compliant", "malicious_activity")
MAX_SAMPLE = 10_000
MAX_TEXT = 4000


class ReviewNotFound(NotFound, LookupError):
    def __init__(self) -> None:
        super().__init__("no such review of this reseller")


class ItemNotSampled(NotFound, LookupError):
    def __init__(self) -> None:
        super().__init__("this sub-lessee is not in the review's sample")


def population_query(account_ids: list[str]) -> Any:
    return (select(sub_lessee.c.id).where(sub_lessee.c.reseller_account_id.in_(account_ids),
                                          sub_lessee.c.status == "active"))


def draw_positions(population: int, size: int, seed: int) -> list[int]:
    """The sampled positions (sorted) of a population: reproducible for the same seed."""
    if size >= population:
        return list(range(population))
    return sorted(random.Random(seed).sample(range(population), size))


def sample_ids(conn: Connection, account_ids: list[str], size: int, seed: int) -> tuple[int, list[str]]:
    """The population's size and the ids at the drawn positions, read from the index only, streamed."""
    if not account_ids:
        return 0, []
    population = int(conn.execute(select(func.count()).select_from(
        population_query(account_ids).subquery())).scalar_one())
    wanted = draw_positions(population, size, seed)
    if not wanted:
        return population, []
    chosen: list[str] = []
    targets = iter(wanted)
    target = next(targets)
    result = conn.execute(population_query(account_ids).order_by(sub_lessee.c.id)
                          .execution_options(yield_per=10_000))  # the statement's option, not the connection's
    for position, (sub_lessee_id,) in enumerate(result):
        if position == target:
            chosen.append(sub_lessee_id)
            next_target = next(targets, None)
            if next_target is None:
                break
            target = next_target
    result.close()
    return population, chosen


class ResellerOversight(ResellerRegister):
    """E3: reviews, samples, results and findings."""

    def _review(self, conn: Connection, reseller_id: str, review_id: str) -> Any:
        row = conn.execute(select(reseller_review).where(reseller_review.c.id == review_id,
                                                         reseller_review.c.reseller_id == reseller_id)).first()
        if row is None:
            raise ReviewNotFound()
        return row

    def start_review(self, reseller_id: str, actor: Actor, *, kind: str = "ad_hoc",
                     scheduled_for: date | None = None) -> dict[str, Any]:
        """Open a review; the reseller is ``under_review`` until a finding closes it."""
        require(actor, "reseller:write")
        if kind not in REVIEW_KINDS:
            raise InvalidInput.field("kind", f"one of {', '.join(REVIEW_KINDS)}")
        if kind == "scheduled" and scheduled_for is None:
            scheduled_for = self.now().date()
        review_id = str(uuid.uuid4())
        with self.ledger.unit_of_work() as work:
            row = self._row(work.conn, reseller_id)
            if row.status == "terminated":
                raise ResellerTerminated()
            if work.conn.execute(select(reseller_review.c.id).where(reseller_review.c.reseller_id == reseller_id,
                                                                    reseller_review.c.state == "open")).first():
                raise Conflict("a review of this reseller is already open")
            work.conn.execute(insert(reseller_review).values(
                id=review_id, reseller_id=reseller_id, kind=kind, state="open", scheduled_for=scheduled_for,
                started_at=self.now(), started_by=actor.name[:64]))
            work.log(LedgerAction(actor.name, actor.role, "start_review", "reseller", reseller_id,
                                  purpose="reseller oversight", detail={"review_id": review_id, "kind": kind}))
            if row.status == "active":
                self._set_status(work, row, "under_review", "review opened", actor)
            return self._review_view(work.conn, self._review(work.conn, reseller_id, review_id))

    def draw_sample(self, reseller_id: str, review_id: str, size: int, seed: int, actor: Actor, *,
                    reason: str | None = None) -> dict[str, Any]:
        """Draw the review's sample of the reseller's active sub-lessees (once; the same size and seed
        again answer the same sample). ``reason``, when given (the console asks for one), goes on the
        ledger with the draw."""
        require(actor, "reseller:write")
        if reason is not None and len(reason) > MAX_TEXT:
            raise InvalidInput.field("reason", f"at most {MAX_TEXT} characters")
        if not 1 <= size <= MAX_SAMPLE:
            raise InvalidInput.field("size", f"between 1 and {MAX_SAMPLE}")
        if not 0 <= seed <= 2**63 - 1:
            raise InvalidInput.field("seed", "a non-negative integer")
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            row = self._row(conn, reseller_id)
            review = self._review(conn, reseller_id, review_id)
            if review.sampled_at is not None:
                if (review.sample_requested, review.sample_seed) == (size, seed):
                    return self._review_view(conn, review)
                raise Conflict("the review's sample is already drawn (with another size or seed)")
            if review.state != "open":
                raise Conflict("the review is closed")
            accounts = [a["id"] for a in reseller_accounts(conn, row.customer_id) if a["type"] == "reseller"]
            population, ids = sample_ids(conn, accounts, size, seed)
            if ids:
                conn.execute(insert(reseller_review_item), [
                    {"review_id": review_id, "sub_lessee_id": sub_lessee_id, "position": position}
                    for position, sub_lessee_id in enumerate(ids)])
            conn.execute(update(reseller_review).where(reseller_review.c.id == review_id).values(
                sample_requested=size, sample_seed=seed, population=population, sampled_at=self.now()))
            work.log(LedgerAction(actor.name, actor.role, "sample", "reseller", reseller_id,
                                  purpose="reseller oversight",
                                  detail={"review_id": review_id, "size": len(ids), "requested": size, "seed": seed,
                                          "population": population, **({"reason": reason} if reason else {})}))
            return self._review_view(conn, self._review(conn, reseller_id, review_id))

    def sample_population(self, reseller_id: str, actor: Actor) -> int:
        """How many active sub-lessees a sample of this reseller is drawn from now (across its Reseller
        Accounts): what a draw would take, shown before it is made."""
        require(actor, "reseller:read")
        with self.database.engine.connect() as conn:
            row = self._row(conn, reseller_id)
            accounts = [a["id"] for a in reseller_accounts(conn, row.customer_id) if a["type"] == "reseller"]
            if not accounts:
                return 0
            return int(conn.execute(select(func.count()).select_from(
                population_query(accounts).subquery())).scalar_one())

    def record_result(self, reseller_id: str, review_id: str, sub_lessee_id: str, result: str, actor: Actor, *,
                      note: str | None = None) -> dict[str, Any]:
        """A sampled sub-lessee's verification evidence: ``adequate``, ``deficient`` or ``missing``."""
        require(actor, "reseller:write")
        if result not in RESULTS:
            raise InvalidInput.field("result", f"one of {', '.join(RESULTS)}")
        if note is not None and len(note) > 500:
            raise InvalidInput.field("note", "at most 500 characters")
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            self._row(conn, reseller_id)
            review = self._review(conn, reseller_id, review_id)
            if review.state != "open":
                raise Conflict("the review is closed")
            item = conn.execute(select(reseller_review_item.c.result).where(
                reseller_review_item.c.review_id == review_id,
                reseller_review_item.c.sub_lessee_id == sub_lessee_id)).first()
            if item is None:
                raise ItemNotSampled()
            conn.execute(update(reseller_review_item).where(
                reseller_review_item.c.review_id == review_id, reseller_review_item.c.sub_lessee_id == sub_lessee_id)
                .values(result=result, note=note, recorded_at=self.now(), recorded_by=actor.name[:64]))
            work.log(LedgerAction(actor.name, actor.role, "record_result", "sub_lessee", sub_lessee_id,
                                  purpose="reseller oversight",
                                  detail={"review_id": review_id, "result": result, "before": item.result}))
            return self._review_view(conn, review)

    def review(self, reseller_id: str, review_id: str, actor: Actor) -> dict[str, Any]:
        require(actor, "reseller:read")
        with self.database.engine.connect() as conn:
            self._row(conn, reseller_id)
            return self._review_view(conn, self._review(conn, reseller_id, review_id))

    def reviews(self, reseller_id: str, actor: Actor) -> list[dict[str, Any]]:
        require(actor, "reseller:read")
        with self.database.engine.connect() as conn:
            self._row(conn, reseller_id)
            rows = conn.execute(select(reseller_review).where(reseller_review.c.reseller_id == reseller_id)
                                .order_by(reseller_review.c.started_at)).all()
            return [self._review_view(conn, row, items=False) for row in rows]

    def _review_view(self, conn: Connection, row: Any, *, items: bool = True) -> dict[str, Any]:
        view: dict[str, Any] = {
            "id": row.id, "reseller_id": row.reseller_id, "kind": row.kind, "state": row.state,
            "scheduled_for": row.scheduled_for.isoformat() if row.scheduled_for else None,
            "started_at": clock.iso(clock.utc(row.started_at)),
            "closed_at": clock.iso(clock.utc_or_none(row.closed_at)), "sample": None,
        }
        if row.sampled_at is not None:
            taken = conn.execute(select(reseller_review_item).where(reseller_review_item.c.review_id == row.id)
                                 .order_by(reseller_review_item.c.position)).all()
            tally = {result: 0 for result in (*RESULTS, "pending")}
            for item in taken:
                tally[item.result or "pending"] += 1
            whole = row.sample_requested >= row.population
            view["sample"] = {
                "requested": row.sample_requested, "size": len(taken), "seed": row.sample_seed,
                "population": row.population, "whole_population": whole,
                "note": (f"the sample asked for ({row.sample_requested}) is not smaller than the population "
                         f"({row.population}): the whole population is taken") if whole else None,
                "results": tally,
            }
            if items:
                view["sample"]["items"] = [{"position": item.position, "sub_lessee_id": item.sub_lessee_id,
                                            "result": item.result, "note": item.note} for item in taken]
        return view

    def record_finding(self, reseller_id: str, kind: str, reason: str, actor: Actor, *,
                       review_id: str | None = None) -> dict[str, Any]:
        """A finding; ``non_compliant`` and ``malicious_activity`` start the clock and make an incident report."""
        require(actor, "reseller:write")
        if kind not in FINDING_KINDS:
            raise InvalidInput.field("kind", f"one of {', '.join(FINDING_KINDS)}")
        reason = reason.strip()
        if not reason or len(reason) > MAX_TEXT:
            raise InvalidInput.field("reason", f"1 to {MAX_TEXT} characters")
        finding_id = str(uuid.uuid4())
        incident_id = None
        now = self.now()
        with self.ledger.unit_of_work() as work:  # the finding, its incident report and the clock: one transaction
            conn = work.conn
            row = self._row(conn, reseller_id)
            if row.status == "terminated":
                raise ResellerTerminated()
            review_view = None
            if review_id is not None:
                review = self._review(conn, reseller_id, review_id)
                if review.state != "open":
                    raise Conflict("the review is closed")
                review_view = self._review_view(conn, review, items=False)
            accounts = reseller_accounts(conn, row.customer_id)
            if kind in CLOCK_FINDINGS and self.reporter is not None and accounts:
                sample = (review_view or {}).get("sample") or {}
                incident_id = self.reporter(
                    work, accounts[0]["id"], f"Reseller {kind.replace('_', ' ')}: {reason}",
                    "malicious_activity" if kind == "malicious_activity" else "reseller_noncompliance",
                    {"reseller_id": reseller_id, "finding_id": finding_id, "finding": kind, "review_id": review_id,
                     "sample_results": sample.get("results"), "reseller_accounts": [a["id"] for a in accounts]},
                    actor)
            conn.execute(insert(reseller_finding).values(
                id=finding_id, reseller_id=reseller_id, review_id=review_id, kind=kind, reason=reason,
                incident_id=incident_id, created_at=now, created_by=actor.name[:64]))
            work.log(LedgerAction(actor.name, actor.role, "finding", "reseller", reseller_id,
                                  purpose="reseller oversight",
                                  detail={"finding_id": finding_id, "kind": kind, "review_id": review_id,
                                          "incident_id": incident_id}))
            if review_id is not None and kind != "observation":
                conn.execute(update(reseller_review).where(reseller_review.c.id == review_id)
                             .values(state="closed", closed_at=now))
                work.log(LedgerAction(actor.name, actor.role, "close_review", "reseller", reseller_id,
                                      purpose="reseller oversight", detail={"review_id": review_id}))
            termination = None
            if kind in CLOCK_FINDINGS:
                termination = start_clock(work, reseller_id, finding_id, now.date(), self.termination_days, actor)
                self._set_status(work, row, "terminating", f"finding {kind}", actor)
            elif kind == "compliant" and row.status == "under_review":
                self._set_status(work, row, "active", "review found the reseller compliant", actor)
        return {"id": finding_id, "reseller_id": reseller_id, "review_id": review_id, "kind": kind,
                "reason": reason, "incident_id": incident_id, "created_at": clock.iso(now),
                "termination": termination}

    def findings(self, reseller_id: str, actor: Actor) -> list[dict[str, Any]]:
        require(actor, "reseller:read")
        with self.database.engine.connect() as conn:
            self._row(conn, reseller_id)
            rows = conn.execute(select(reseller_finding).where(reseller_finding.c.reseller_id == reseller_id)
                                .order_by(reseller_finding.c.created_at)).all()
        return [{"id": r.id, "reseller_id": r.reseller_id, "review_id": r.review_id, "kind": r.kind,
                 "reason": r.reason, "incident_id": r.incident_id,
                 "created_at": clock.iso(clock.utc(r.created_at))} for r in rows]
