"""Screening one batch of customers for a re-screening run, in this process or a forked worker (D4, D1, D2).

``build_plan`` fixes what the batches of one run screen against (full: the in-force index and measures;
delta: an index of the changed list entries and the measures that changed); ``screen_batch`` reads
an id range in bulk (``records.screening_material``) and screens it without writing; the results
(``BatchOutcome``: no personal data but the hits' names) are written by ``screening.rescreen_effects``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from cloudcip import clock as clocks
from cloudcip.crypto.keyring import Keyring
from cloudcip.records.screening_material import screening_material
from cloudcip.screening.hits import subject_hash
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.matcher import Hit, ScreeningQuery, Thresholds, screen
from cloudcip.screening.measures import Measure
from cloudcip.screening.reach import Standing
from cloudcip.screening.rescreen_basis import list_changes, measure_state
from cloudcip.screening.service import (
    MeasureApplying,
    ScreeningService,
    check_query_fields,
    described_person_index,
    measures_considered,
)
from cloudcip.screening.subjects import Subject, standings_of, subjects_of
from cloudcip.storage.schema import customer

#: customer ids -> {customer id: {country: days of access}} (the access capability's, passed by the wiring)
AccessHistory = Callable[[Connection, Sequence[str]], dict[str, dict[str, int]]]
HIT_LIMIT = 5  # hits per subject, as at signup


@dataclass
class ScreeningPlan:
    """What the batches of one run screen against; built once per run (or resumption)."""

    mode: str  # full | delta
    today: date
    thresholds: Thresholds
    index: ScreeningIndex  # the in-force lists (full screens)
    party_hashes: dict[tuple[str, str], str]
    measures: list[Measure]  # not revoked (full screens)
    measure_index: ScreeningIndex
    blind_key: bytes
    # delta
    records_since: datetime | None = None  # records updated at or after this get a full screen
    delta_index: ScreeningIndex | None = None
    delta_measures: list[Measure] = field(default_factory=list)
    delta_measure_index: ScreeningIndex | None = None
    delta_location: bool = False  # a jurisdiction measure is among delta_measures
    delta_identifiers: bool = False  # changed entries carry document numbers, emails or wallets
    # D2: the access history of the customers' accounts (customer id -> country -> days), when wired
    access_history: AccessHistory | None = None

    def history(self, conn: Connection, records: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]] | None:
        """The access history of the customers of ``records`` (none when nothing jurisdictional is screened)."""
        if self.access_history is None or not records or not (self.mode == "full" or self.delta_location
                                                              or self.records_since is not None):
            return None
        return self.access_history(conn, [str(r["id"]) for r in records])

    @property
    def delta_idle(self) -> bool:
        """Nothing changed but records: only changed records need a screen."""
        return (self.delta_index is None or len(self.delta_index.parties) == 0) and not self.delta_measures

    def party_hash(self, source: str, source_id: str) -> str | None:
        return self.party_hashes.get((source, source_id))

    def measure(self, measure_id: str) -> Measure | None:
        for measure in (*self.measures, *self.delta_measures):
            if measure.id == measure_id:
                return measure
        return None


def build_plan(conn: Connection, screening: ScreeningService, run: Any, today: date, blind_key: bytes) -> ScreeningPlan:
    """The plan of ``run`` (its mode and basis), on top of the service's in-force state."""
    state = screening.state()
    measures = [m for m in state.measures if m.revoked_at is None]
    plan = ScreeningPlan(mode=run.mode or "full", today=today, thresholds=screening.thresholds, index=state.index,
                         party_hashes=dict(state.party_hashes), measures=measures,
                         measure_index=state.measure_index, blind_key=blind_key)
    if plan.mode != "delta":
        return plan
    basis = json.loads(run.basis_json)
    older = basis["from"]
    changes = list_changes(conn, older["snapshots"], basis["snapshots"])
    plan.records_since = clocks.utc_or_none(datetime.fromisoformat(basis["records_since"]))
    plan.party_hashes.update(changes.hashes)
    delta_keys = set(changes.hashes)
    due = [m for m in measures if m.status(today) == "in_force"
           and (older["measures"].get(m.id) != measure_state(m, today) or m.listed_entry() in delta_keys)]
    parties = list(changes.parties)
    by_key = {(p.source, p.source_id): p for p in state.index.parties}
    for measure in due:  # a measure naming a listed entry needs that entry in the index
        entry = measure.listed_entry()
        if entry is not None and entry not in delta_keys and entry in by_key:
            parties.append(by_key[entry])
            delta_keys.add(entry)
    plan.delta_index = ScreeningIndex(parties, reference=state.index)
    plan.delta_measures = due
    plan.delta_measure_index = described_person_index(due)
    plan.delta_location = any(m.kind == "jurisdiction" for m in due)
    plan.delta_identifiers = any(p.documents or p.emails or p.wallets for p in parties)
    return plan


# --- screening a batch (in this process or in a worker) ------------------------------------------


@dataclass
class SubjectOutcome:
    subject_type: str
    subject_id: str
    digest: str
    hits: list[Hit]
    # (measure id, status, outcome, what the outcome rests on: subject, jurisdiction, evidence, determination)
    measures: list[tuple[str, str, str, dict[str, Any]]]


@dataclass
class BatchOutcome:
    """What screening the customers of one id range found (no personal data but the hits' names)."""

    customers: list[tuple[str, list[SubjectOutcome]]] = field(default_factory=list)
    read: int = 0  # customers whose material was read
    subjects: int = 0  # subjects screened
    full: int = 0  # customers screened in full (changed records, or a full run)
    delta: int = 0  # customers screened against the changed entries and measures only
    skipped: int = 0  # unchanged customers with nothing to screen against (delta, nothing changed)
    unscreenable: int = 0  # names or fields that cannot be screened (refused at signup already)


def _screen_subject(subject: Subject, standing: Standing | None, index: ScreeningIndex, measures: Sequence[Measure],
                    measure_index: ScreeningIndex | None, plan: ScreeningPlan
                    ) -> tuple[list[Hit], list[MeasureApplying]]:
    """What ``ScreeningService.screen_person`` does, against ``index`` and ``measures``."""
    check_query_fields(subject.birth_date, subject.nationality)
    query = ScreeningQuery(name=subject.name, schema=subject.schema, birth_date=subject.birth_date,
                           nationality=subject.nationality, document_numbers=list(subject.document_numbers),
                           emails=list(subject.emails), wallets=list(subject.wallets))
    hits = screen(index, query, plan.thresholds, limit=HIT_LIMIT)
    if not measures:
        return hits, []
    considered = measures_considered(measures, measure_index or plan.measure_index, query, hits, set(), plan.today,
                                     plan.thresholds, standing)
    return hits, [m for m in considered if m.outcome in ("applies", "review")]


def _basis_of(item: MeasureApplying) -> dict[str, Any]:
    """What a measure's outcome rests on (D1): subject, jurisdiction, evidence, determination; no values."""
    return {"subject": item.subject, "basis": item.basis, "jurisdiction": item.jurisdiction,
            "evidence": item.evidence, "determination": item.determination, "located_in": item.located_in,
            "outcome": item.outcome}


def _screen_record(record: dict[str, Any], plan: ScreeningPlan, full: bool, complete_material: bool,
                   outcome: BatchOutcome, reread: Callable[[str], dict[str, Any] | None],
                   history: dict[str, dict[str, int]] | None = None) -> None:
    measure_index: ScreeningIndex | None
    if full:
        index, measures, measure_index = plan.index, plan.measures, plan.measure_index
        outcome.full += 1
    else:
        assert plan.delta_index is not None
        index, measures, measure_index = plan.delta_index, plan.delta_measures, plan.delta_measure_index
        outcome.delta += 1
    located = full or plan.delta_location  # the material holds the location evidence
    standings = standings_of(record, history.get(record["id"]) if history else None) if located else {}
    found: list[tuple[Subject, list[Hit], list[MeasureApplying]]] = []
    for subject in subjects_of(record):
        if not subject.name.strip():
            continue
        outcome.subjects += 1
        try:
            hits, applying = _screen_subject(subject, standings.get(subject.subject_id), index, measures,
                                             measure_index, plan)
        except ValueError:
            outcome.unscreenable += 1  # a stored name that cannot be screened (already refused at signup)
            continue
        hits = [h for h in hits if h.band != "clear"]
        if hits or applying:
            found.append((subject, hits, applying))
    if not found:
        return
    complete = record
    if not complete_material:
        complete = reread(record["id"]) or record  # the subject hash covers every screened field
    subjects = {(s.subject_type, s.subject_id): s for s in subjects_of(complete)}
    results = []
    for subject, hits, applying in found:
        whole = subjects.get((subject.subject_type, subject.subject_id), subject)
        results.append(SubjectOutcome(subject.subject_type, subject.subject_id,
                                      subject_hash(plan.blind_key, whole.fields()), hits,
                                      [(a.measure.id, a.status, a.outcome, _basis_of(a)) for a in applying]))
    outcome.customers.append((record["id"], results))


def screen_batch(engine: Engine, keyring: Keyring, plan: ScreeningPlan, after: str | None, last: str) -> BatchOutcome:
    """Screen the customers with ids in (``after``, ``last``] as ``plan`` says (reads only)."""
    outcome = BatchOutcome()
    with engine.connect() as conn:
        def reread(customer_id: str) -> dict[str, Any] | None:
            found = screening_material(conn, keyring, after, last, full=True, only=[customer_id])
            return found[0] if found else None

        if plan.mode == "delta" and plan.delta_idle and plan.records_since is not None:
            in_range = (customer.c.id <= last) & (customer.c.status != "purged")
            if after is not None:
                in_range = in_range & (customer.c.id > after)
            changed = [row.id for row in conn.execute(
                select(customer.c.id).where(in_range & (customer.c.updated_at >= plan.records_since)))]
            total = int(conn.execute(select(func.count()).select_from(customer).where(in_range)).scalar_one())
            outcome.skipped = total - len(changed)
            records = screening_material(conn, keyring, after, last, full=True, only=changed) if changed else []
            outcome.read = len(records)
            history = plan.history(conn, records)
            for record in records:
                _screen_record(record, plan, True, True, outcome, reread, history)
            return outcome
        full_read = plan.mode == "full" or plan.delta_location or plan.delta_identifiers
        records = screening_material(conn, keyring, after, last, full=full_read)
        outcome.read = len(records)
        since = plan.records_since
        changed_ids = [r["id"] for r in records
                       if plan.mode == "delta" and not full_read and since is not None
                       and (clocks.utc_or_none(r["updated_at"]) or since) >= since]
        complete = ({r["id"]: r for r in screening_material(conn, keyring, after, last, full=True, only=changed_ids)}
                    if changed_ids else {})
        history = plan.history(conn, records) if full_read or changed_ids else None
        for record in records:
            if plan.mode == "full":
                _screen_record(record, plan, True, True, outcome, reread, history)
            elif since is not None and (clocks.utc_or_none(record["updated_at"]) or since) >= since:
                _screen_record(complete.get(record["id"], record), plan, True, True, outcome, reread, history)
            else:
                _screen_record(record, plan, False, full_read, outcome, reread, history)
    return outcome


_WORKER: dict[str, Any] = {}


def worker_start(engine: Engine, keyring: Keyring, plan: ScreeningPlan) -> None:
    """In a forked worker: fresh connections (never the parent's), the inherited plan and index."""
    engine.dispose(close=False)
    _WORKER.update(engine=engine, keyring=keyring, plan=plan)


def worker_screen(after: str | None, last: str) -> BatchOutcome:
    return screen_batch(_WORKER["engine"], _WORKER["keyring"], _WORKER["plan"], after, last)


# --- writing a batch's results -------------------------------------------------------------------
