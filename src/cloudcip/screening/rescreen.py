"""Re-screening every existing customer and beneficial owner, and the effective-date step (D4, D1, D5).

``rescreen_all`` is a resumable job (``rescreen_run``). It walks the customers in id order, in
batches of ids; each batch is read in bulk (``records.screening_material``: one query
per table, each data key unwrapped once, only the fields screening uses opened), screened, and its
new hits (``hits.record_hits``: no duplicates, cleared false positives stay cleared), the measures it
makes due, and the run's cursor are written in one transaction. A crash loses at most the batches in
flight; the next call resumes the unfinished run from its cursor. The ledger gets one entry per run
(and one per resumption), with purpose ``re-screening``, not one per record.

Two modes (the run records which, and what it screened against: ``basis_json``):

* **full** (the first run, a change of the matcher's thresholds, or ``full=True``): every subject
  against every in-force list entry and every measure, as at signup;
* **delta** (otherwise): against the previous finished run's basis, only what changed can add a hit
  or an effect. A customer whose record changed since that run started (``updated_at``) gets a full
  screen; every other one is screened only against an index of the list entries added or changed
  since (``snapshots.diff_snapshots``; token rarities taken from the full in-force index, so each
  pair scores exactly as in a full screen) and only for the measures that came into force or
  changed since (plus the in-force measures naming a changed entry). Hits on entries that left the
  list, or changed, are marked (``screening_hit.list_entry_status``), never deleted.

``workers`` > 1 screens batches in forked worker processes (each inherits the in-force index and
reads with its own database connections); this process writes the batches' results in id order, so
the cursor only ever covers finished batches.

On and after a measure's effective date, each affected customer's accounts go to ``closed``
(prohibition) or ``restricted`` (conditions): ``screening.rescreen_effects``, which writes each
batch's results. What a run screens against and what changed since the last one:
``screening.rescreen_basis``; the plan of a run and the screening of one batch (here or in a worker):
``screening.rescreen_batch``.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from cloudcip import clock as clocks
from cloudcip.clock import Clock
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.screening.hits import mark_list_entries
from cloudcip.screening.location import decide_location
from cloudcip.screening.rescreen_basis import baseline_run, current_basis, list_changes, screening_state_key
from cloudcip.screening.rescreen_batch import (
    AccessHistory,
    BatchOutcome,
    build_plan,
    screen_batch,
    worker_screen,
    worker_start,
)
from cloudcip.screening.rescreen_effects import AccountEffect, write_outcome
from cloudcip.screening.schema import rescreen_run
from cloudcip.screening.service import ScreeningService
from cloudcip.screening.subjects import customer_location_evidence
from cloudcip.services import Services
from cloudcip.storage.schema import customer

Progress = Callable[[int, int], None]
#: what is re-screened after the customers, in a resumable run of its own (the resellers' sub-lessees,
#: E2: ``runtime.sub_lessee_rescreen``, passed by the wiring): (screening, now, actor, reason) ->
#: (screened, new hits, measure effects)
ThenRescreen = Callable[[ScreeningService, datetime, Actor, str], tuple[int, int, list[dict[str, Any]]]]
SYSTEM = Actor(name="job:rescreen", role="admin")
PURPOSE = "re-screening"
BATCH = 1000


def jurisdictions_of(record: dict[str, Any]) -> set[str]:
    """Countries, subdivisions and named regions the record's evidence connects the customer to (D2:
    address, document countries, nationality, phone, card issuer and IBAN countries, registration),
    located there or not (``standings_of`` says which)."""
    return set(decide_location(customer_location_evidence(record)).codes)


@dataclass
class RescreenReport:
    run_id: str
    reason: str
    resumed: bool
    done: int
    total: int
    new_hits: int
    effects: list[dict[str, Any]] = field(default_factory=list)
    finished: bool = True
    mode: str = "full"
    counts: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "reason": self.reason, "resumed": self.resumed, "mode": self.mode,
                "done": self.done, "total": self.total, "new_hits": self.new_hits, "effects": len(self.effects),
                "finished": self.finished, "counts": self.counts}


def _unfinished(conn: Connection) -> Any:
    return conn.execute(select(rescreen_run).where(rescreen_run.c.finished_at.is_(None))
                        .order_by(rescreen_run.c.sequence.desc()).limit(1)).first()


def rescreen_if_changed(services: Services, now: datetime, screening: ScreeningService | None = None, *,
                        access_history: AccessHistory | None = None,
                        account_effect: AccountEffect | None = None,
                        then: ThenRescreen | None = None) -> RescreenReport | None:
    """The periodic task (D4): resume an unfinished run, or start one when a list snapshot or a
    measure changed (including a measure reaching its effective date) since the last finished run.

    Its signature fits ``cloudcip.jobs.runner.PeriodicTask.run``.
    """
    with services.database.engine.connect() as conn:
        unfinished = _unfinished(conn) is not None
        key = screening_state_key(conn, now.date())
        last = conn.execute(select(rescreen_run.c.state_key).where(rescreen_run.c.finished_at.is_not(None))
                            .order_by(rescreen_run.c.sequence.desc()).limit(1)).first()
    if not unfinished and last is not None and last.state_key == key:
        return None
    return rescreen_all(services, "lists or measures changed", screening=screening, clock=lambda: now,
                        access_history=access_history, account_effect=account_effect, then=then)


def _start_run(work: UnitOfWork, services: Services, screening: ScreeningService, reason: str, started: datetime,
               full: bool) -> tuple[str, int]:
    """Insert a new run (full or delta against the latest finished run); mark hits on entries that
    left or changed since that run. (run id, hits marked)."""
    conn = work.conn
    run_id = str(uuid.uuid4())
    total = int(conn.execute(select(func.count()).select_from(customer).where(customer.c.status != "purged"))
                .scalar_one())
    sequence = int(conn.execute(select(func.coalesce(func.max(rescreen_run.c.sequence), 0))).scalar_one()) + 1
    basis = current_basis(conn, started.date(), screening.thresholds)
    baseline = baseline_run(conn)
    mode = "full"
    marked = 0
    if baseline is not None:
        before = json.loads(baseline.basis_json)
        changes = list_changes(conn, before["snapshots"], basis["snapshots"])
        for source in sorted(set(changes.removed) | set(changes.changed)):
            marked += mark_list_entries(conn, source, changes.removed.get(source, []),
                                        changes.changed.get(source, {}), started)
        if not full and before.get("matcher") == basis["matcher"] and baseline.records_as_of is not None:
            mode = "delta"
            basis["from"] = {"snapshots": before["snapshots"], "measures": before["measures"]}
            basis["records_since"] = clocks.utc_or_none(baseline.records_as_of).isoformat()  # type: ignore[union-attr]
    conn.execute(insert(rescreen_run).values(
        id=run_id, sequence=sequence, reason=reason, started_at=started, cursor=None, done=0, total=total, hits=0,
        state_key=screening_state_key(conn, started.date()), mode=mode, basis_json=json.dumps(basis),
        records_as_of=services.customers.clock(), counts_json=json.dumps({"hits_marked": marked})))
    return run_id, marked


def _id_ranges(services: Services, cursor: str | None, batch_size: int) -> Iterator[tuple[str | None, str, int]]:
    """(after, last, customers) of each batch of customer ids after ``cursor``."""
    after = cursor
    while True:
        query = select(customer.c.id).where(customer.c.status != "purged").order_by(customer.c.id).limit(batch_size)
        if after is not None:
            query = query.where(customer.c.id > after)
        with services.database.engine.connect() as conn:
            ids = list(conn.execute(query).scalars())
        if not ids:
            return
        yield after, ids[-1], len(ids)
        after = ids[-1]


def rescreen_all(
    services: Services,
    reason: str,
    progress: Progress | None = None,
    *,
    screening: ScreeningService | None = None,
    clock: Clock = clocks.now,
    batch_size: int = BATCH,
    actor: Actor = SYSTEM,
    full: bool = False,
    workers: int = 1,
    access_history: AccessHistory | None = None,
    account_effect: AccountEffect | None = None,
    then: ThenRescreen | None = None,
) -> RescreenReport:
    """Re-screen every customer and beneficial owner (delta against the last finished run unless
    ``full`` or nothing to compare with); resumes an unfinished run instead of starting one (D4).

    A jurisdiction measure closes or restricts only the accounts of a foreign person located in the
    jurisdiction (D1, D2: ``screening.reach``); ``access_history`` adds the accounts' access history to
    the location evidence; ``account_effect`` lets the verification workflow record the effect on the
    account's case in the same transaction; ``then`` runs after the customers (the resellers'
    sub-lessees, E2: the wiring passes ``runtime.sub_lessee_rescreen``)."""
    reason = (reason or "").strip()[:200] or "re-screening"
    screening = screening or ScreeningService(services)
    screening.invalidate()
    with services.ledger.unit_of_work() as work:
        run = _unfinished(work.conn)
        resumed = run is not None
        if run is None:
            run_id, _marked = _start_run(work, services, screening, reason, clock(), full)
        else:
            run_id = run.id
            reason = run.reason
        run = work.conn.execute(select(rescreen_run).where(rescreen_run.c.id == run_id)).one()
        work.log(LedgerAction(actor.name, actor.role, "rescreen_resume" if resumed else "rescreen", "rescreen_run",
                              run_id, purpose=PURPOSE, detail={"reason": reason, "mode": run.mode or "full"}))
    with services.database.engine.connect() as conn:
        plan = build_plan(conn, screening, run, clock().date(), services.keyring.blind_index_key())
        plan.access_history = access_history
    cursor, done, total, hits = run.cursor, int(run.done), int(run.total), int(run.hits)
    counts: dict[str, int] = json.loads(run.counts_json or "{}")
    counts["delta_parties"] = len(plan.delta_index.parties) if plan.delta_index is not None else 0
    counts["delta_measures"] = len(plan.delta_measures)
    effects: list[dict[str, Any]] = []
    if progress:
        progress(done, total)
    ranges = _id_ranges(services, cursor, batch_size)
    pool: ProcessPoolExecutor | None = None
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        gc.collect()
        gc.freeze()  # the index's objects stay shared with the forked workers (copy-on-write)
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=worker_start,
                                   initargs=(services.database.engine, services.keyring, plan))
    pending: deque[tuple[str | None, str, int, Future[BatchOutcome] | None]] = deque()
    try:
        while True:
            while len(pending) < (2 * workers if pool is not None else 1):
                upcoming = next(ranges, None)
                if upcoming is None:
                    break
                after, last, size = upcoming
                pending.append((after, last, size, pool.submit(worker_screen, after, last) if pool else None))
            now = clock()
            if not pending:
                with services.ledger.unit_of_work() as work:
                    work.conn.execute(update(rescreen_run).where(rescreen_run.c.id == run_id).values(
                        finished_at=now, counts_json=json.dumps(counts)))
                break
            after, last, size, future = pending.popleft()
            outcome = (future.result() if future is not None
                       else screen_batch(services.database.engine, services.keyring, plan, after, last))
            with services.ledger.unit_of_work() as work:
                batch_hits, applied = write_outcome(work, plan, outcome, now, actor, account_effect)
                effects.extend(applied)
                cursor = last
                done += size
                hits += batch_hits
                for name in ("read", "subjects", "full", "delta", "skipped", "unscreenable"):
                    counts[name] = counts.get(name, 0) + int(getattr(outcome, name))
                work.conn.execute(update(rescreen_run).where(rescreen_run.c.id == run_id).values(
                    cursor=cursor, done=done, hits=hits, total=max(total, done), counts_json=json.dumps(counts)))
            total = max(total, done)
            if progress:
                progress(done, total)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            gc.unfreeze()
    # resellers' sub-lessees next, in a resumable run of their own (E2: screening and measures reach
    # through the reseller chain)
    sub_lessee_hits = 0
    if then is not None:
        screened, sub_lessee_hits, sub_lessee_effects = then(screening, clock(), actor, reason)
        counts["sub_lessees"] = screened
        counts["sub_lessee_hits"] = sub_lessee_hits
        effects.extend(sub_lessee_effects)
    return RescreenReport(run_id, reason, resumed, done, total, hits + sub_lessee_hits, effects,
                          mode=run.mode or "full", counts=counts)


def runs(conn: Connection, limit: int = 20) -> Iterator[dict[str, Any]]:
    """The latest re-screening runs, newest first."""
    for row in conn.execute(select(rescreen_run).order_by(rescreen_run.c.sequence.desc()).limit(limit)):
        yield {"id": row.id, "reason": row.reason, "started_at": row.started_at.isoformat(), "done": row.done,
               "total": row.total, "hits": row.hits,
               "finished_at": row.finished_at.isoformat() if row.finished_at else None}


