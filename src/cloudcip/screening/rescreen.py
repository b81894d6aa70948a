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
(prohibition) or ``restricted`` (conditions), each with a ledger entry and a webhook notice
(``account.measure_applied``); a customer without accounts is recorded as affected. Reseller
accounts are skipped only when the measure says it does not cover them. ``special_measure_effect``
keeps what was done, so a measure acts once per account.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from cloudcip import clock as clocks
from cloudcip.clock import Clock
from cloudcip.crypto.keyring import Keyring
from cloudcip.domain.designated import DesignatedParty
from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.records.screening_material import screening_material
from cloudcip.screening.hits import mark_list_entries, record_hits, subject_hash
from cloudcip.screening.index import ScreeningIndex
from cloudcip.screening.location import decide_location
from cloudcip.screening.matcher import Hit, ScreeningQuery, Thresholds, screen
from cloudcip.screening.measures import Measure, list_measures
from cloudcip.screening.reach import Standing, review_hit
from cloudcip.screening.schema import list_party, rescreen_run, screening_hit, special_measure_effect
from cloudcip.screening.service import (
    MeasureApplying,
    ScreeningService,
    check_query_fields,
    described_person_index,
    measures_considered,
)
from cloudcip.screening.snapshots import diff_snapshots, find_snapshot, in_force_snapshots, party_from_document
from cloudcip.screening.subjects import Subject, customer_location_evidence, standings_of, subjects_of
from cloudcip.services import Services
from cloudcip.storage.schema import account, customer

Progress = Callable[[int, int], None]
#: customer ids -> {customer id: {country: days of access}} (the access capability's, passed by the wiring)
AccessHistory = Callable[[Connection, Sequence[str]], dict[str, dict[str, int]]]
#: what else acts when a measure closes or restricts an account (the verification case), in the transaction
AccountEffect = Callable[[UnitOfWork, str, Measure, str], None]
#: what is re-screened after the customers, in a resumable run of its own (the resellers' sub-lessees,
#: E2: ``runtime.sub_lessee_rescreen``, passed by the wiring): (screening, now, actor, reason) ->
#: (screened, new hits, measure effects)
ThenRescreen = Callable[[ScreeningService, datetime, Actor, str], tuple[int, int, list[dict[str, Any]]]]
SYSTEM = Actor(name="job:rescreen", role="admin")
PURPOSE = "re-screening"
BATCH = 1000
MATCHER_VERSION = "1"  # bump when the matcher's scoring changes: the next run is then a full one
HIT_LIMIT = 5  # hits per subject, as at signup




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



def _cleared_entries(conn: Connection, subject_type: str, subject_id: str, digest: str) -> set[tuple[str, str]]:
    rows = conn.execute(select(screening_hit.c.list_source, screening_hit.c.list_source_id).where(
        (screening_hit.c.subject_type == subject_type) & (screening_hit.c.subject_id == subject_id)
        & (screening_hit.c.subject_hash == digest) & (screening_hit.c.state == "false_positive")))
    return {(row.list_source, row.list_source_id) for row in rows}


def _apply_measure(work: UnitOfWork, measure: Measure, customer_id: str, basis: dict[str, Any], now: datetime,
                   actor: Actor, account_effect: AccountEffect | None = None) -> list[dict[str, Any]]:
    """Close or restrict the customer's accounts under ``measure`` (once per account); the effects, each
    naming what it rests on (``basis``: subject, jurisdiction, evidence, determination; D1)."""
    conn = work.conn
    done = {row.account_id for row in conn.execute(select(special_measure_effect.c.account_id).where(
        (special_measure_effect.c.measure_id == measure.id) & (special_measure_effect.c.customer_id == customer_id)))}
    effects: list[dict[str, Any]] = []
    accounts = list(conn.execute(select(account.c.id, account.c.type, account.c.state, account.c.closed_at)
                                 .where(account.c.customer_id == customer_id).order_by(account.c.id)))
    new_state = "closed" if measure.measure == "prohibit" else "restricted"
    if not accounts:
        if None in done:
            return effects
        conn.execute(insert(special_measure_effect).values(
            measure_id=measure.id, customer_id=customer_id, account_id=None, action="recorded",
            previous_state=None, applied_at=now, basis_json=json.dumps(basis)))
        work.log(LedgerAction(actor.name, actor.role, "apply_special_measure", "customer", customer_id,
                              purpose="special measure",
                              detail={"measure_id": measure.id, "measure": measure.measure, "accounts": 0,
                                      **_ledger_basis(basis)}))
        effects.append({"measure_id": measure.id, "customer_id": customer_id, "account_id": None,
                        "action": "recorded", "basis": basis})
        _notify(conn, measure, customer_id, None, "recorded", now)
        return effects
    for acct in accounts:
        if acct.id in done or (acct.type == "reseller" and not measure.covers_resellers):
            continue
        if acct.state == "closed":
            action = "already_closed"
        else:
            action = new_state
            values: dict[str, Any] = {"state": new_state}
            if new_state == "closed" and acct.closed_at is None:  # a refusal's closure stands (B1)
                values.update(closed_at=now, closed_by="special_measure")
            conn.execute(update(account).where(account.c.id == acct.id).values(**values))
        conn.execute(insert(special_measure_effect).values(
            measure_id=measure.id, customer_id=customer_id, account_id=acct.id, action=action,
            previous_state=acct.state, applied_at=now, basis_json=json.dumps(basis)))
        work.log(LedgerAction(actor.name, actor.role, "apply_special_measure", "account", acct.id,
                              purpose="special measure",
                              detail={"measure_id": measure.id, "measure": measure.measure,
                                      "conditions": measure.conditions, "from": acct.state, "to": action,
                                      **_ledger_basis(basis)}))
        if account_effect is not None and action in ("closed", "restricted"):
            account_effect(work, acct.id, measure, action)
        effects.append({"measure_id": measure.id, "customer_id": customer_id, "account_id": acct.id,
                        "action": action, "basis": basis})
        _notify(conn, measure, customer_id, acct.id, action, now)
    return effects


def _ledger_basis(basis: dict[str, Any]) -> dict[str, Any]:
    """The effect's basis for the ledger: kinds and codes, never a value."""
    return {"basis": str(basis.get("basis", "")).split(" ")[0], "subject": basis.get("subject"),
            "jurisdiction": basis.get("jurisdiction"), "evidence": basis.get("evidence"),
            "determination": basis.get("determination")}


def _notify(conn: Connection, measure: Measure, customer_id: str, account_id: str | None, action: str,
            now: datetime) -> None:
    """A webhook notice of the effect, in the same transaction (when the outbox is installed)."""
    try:
        from cloudcip.jobs import webhooks
    except ImportError:  # pragma: no cover - the outbox ships with cloudcip
        return
    webhooks.enqueue(conn, "account.measure_applied", {
        "measure_id": measure.id, "measure": measure.measure, "restrictions": measure.conditions,
        "customer_id": customer_id, "account_id": account_id, "action": action,
    }, now=now)



def screening_state_key(conn: Connection, today: date) -> str:
    """Hash of what a re-screening screens against: the in-force snapshots and each measure's status."""
    parts = [f"snapshot:{s.source}:{s.id}" for s in in_force_snapshots(conn)]
    parts += [f"measure:{m.id}:{m.status(today)}:{m.expires_on.isoformat()}" for m in list_measures(conn)]
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()




# --- what a run screens against ------------------------------------------------------------------


def matcher_key(thresholds: Thresholds) -> str:
    """The matcher's version and thresholds: a delta run needs the same as its baseline."""
    return f"matcher-v{MATCHER_VERSION}|block={thresholds.block}|review={thresholds.review}"


def measure_state(measure: Measure, today: date) -> str:
    return f"{measure.status(today)}|{measure.effective_date.isoformat()}|{measure.expires_on.isoformat()}"


def current_basis(conn: Connection, today: date, thresholds: Thresholds) -> dict[str, Any]:
    """The in-force snapshot of each source, each measure's state, the matcher: what a run starting now
    screens against."""
    return {"snapshots": {s.source: s.id for s in in_force_snapshots(conn)},
            "measures": {m.id: measure_state(m, today) for m in list_measures(conn)},
            "matcher": matcher_key(thresholds)}


def _baseline(conn: Connection) -> Any:
    """The latest finished run that recorded its basis, or None."""
    return conn.execute(select(rescreen_run).where(rescreen_run.c.finished_at.is_not(None)
                                                   & rescreen_run.c.basis_json.is_not(None))
                        .order_by(rescreen_run.c.sequence.desc()).limit(1)).first()


@dataclass
class ListChanges:
    """What changed in the lists between two bases."""

    parties: list[DesignatedParty] = field(default_factory=list)  # added or changed (new version)
    hashes: dict[tuple[str, str], str] = field(default_factory=dict)
    removed: dict[str, list[str]] = field(default_factory=dict)  # source -> source ids
    changed: dict[str, dict[str, str]] = field(default_factory=dict)  # source -> {source id: new hash}


def _party_rows(conn: Connection, snapshot_id: str, source_ids: Sequence[str]) -> Iterator[Any]:
    ids = list(source_ids)
    for start in range(0, len(ids), 500):
        yield from conn.execute(select(list_party.c.document_json, list_party.c.document_hash)
                                .where((list_party.c.snapshot_id == snapshot_id)
                                       & list_party.c.source_id.in_(ids[start:start + 500])))


def list_changes(conn: Connection, older: dict[str, str], newer: dict[str, str]) -> ListChanges:
    """Entries added, changed and removed between two maps of source -> snapshot id."""
    changes = ListChanges()
    for source, snapshot_id in sorted(newer.items()):
        previous = older.get(source)
        if previous == snapshot_id:
            continue
        new_info = find_snapshot(conn, snapshot_id)
        if previous is None:
            fresh = [row.source_id for row in conn.execute(select(list_party.c.source_id)
                                                            .where(list_party.c.snapshot_id == snapshot_id))]
            changed_ids: list[str] = []
        else:
            diff = diff_snapshots(conn, find_snapshot(conn, previous), new_info)
            fresh, changed_ids = diff.added, diff.changed
            if diff.removed:
                changes.removed[source] = diff.removed
        for row in _party_rows(conn, snapshot_id, [*fresh, *changed_ids]):
            party = party_from_document(json.loads(row.document_json))
            changes.parties.append(party)
            changes.hashes[(party.source, party.source_id)] = row.document_hash
        if changed_ids:
            changes.changed[source] = {p.source_id: changes.hashes[(p.source, p.source_id)]
                                       for p in changes.parties if p.source == source and p.source_id in changed_ids}
    for source, snapshot_id in older.items():
        if source not in newer:  # a source no longer screened: all its entries left
            changes.removed[source] = [row.source_id for row in conn.execute(
                select(list_party.c.source_id).where(list_party.c.snapshot_id == snapshot_id))]
    return changes


# --- the plan of a run (shared with worker processes by fork) ------------------------------------


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


def _worker_start(engine: Engine, keyring: Keyring, plan: ScreeningPlan) -> None:
    """In a forked worker: fresh connections (never the parent's), the inherited plan and index."""
    engine.dispose(close=False)
    _WORKER.update(engine=engine, keyring=keyring, plan=plan)


def _worker_screen(after: str | None, last: str) -> BatchOutcome:
    return screen_batch(_WORKER["engine"], _WORKER["keyring"], _WORKER["plan"], after, last)


# --- writing a batch's results -------------------------------------------------------------------


def _write_outcome(work: UnitOfWork, plan: ScreeningPlan, outcome: BatchOutcome, now: datetime,
                   actor: Actor, account_effect: AccountEffect | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Record the hits and apply the due measures of one batch, inside the batch's transaction. A
    jurisdiction measure whose reach the location evidence leaves open is not applied: a ``review`` hit
    on the subject (entry ``special_measure:<id>``) puts it before a person (D1, D2, D5)."""
    new_hits = 0
    effects: list[dict[str, Any]] = []
    conn = work.conn
    for customer_id, subjects in outcome.customers:
        due: dict[str, tuple[Measure, dict[str, Any]]] = {}
        for found in subjects:
            new_hits += len(record_hits(conn, found.subject_type, found.subject_id, found.digest, found.hits,
                                        plan.party_hash, now, index_key=plan.blind_key))
            cleared: set[tuple[str, str]] | None = None  # read only when a listed-entry measure applies
            for measure_id, status, reach, basis in found.measures:
                measure = plan.measure(measure_id)
                if status != "in_force" or measure is None:
                    continue
                if reach == "review":
                    new_hits += len(record_hits(conn, found.subject_type, found.subject_id, found.digest,
                                                [_measure_review_hit(measure, basis)],
                                                lambda _source, source_id: source_id, now,
                                                index_key=plan.blind_key))
                    continue
                entry = measure.listed_entry()
                if entry is not None:
                    if cleared is None:
                        cleared = _cleared_entries(conn, found.subject_type, found.subject_id, found.digest)
                    if entry in cleared:
                        continue
                due.setdefault(measure.id, (measure, basis))
        for measure, basis in due.values():
            effects.extend(_apply_measure(work, measure, customer_id, basis, now, actor, account_effect))
    return new_hits, effects


def _measure_review_hit(measure: Measure, basis: dict[str, Any]) -> Hit:
    """A hit asking a person whether a measure reaches the subject (weak or conflicting evidence, D2)."""
    return review_hit(measure.id, measure.measure, basis.get("jurisdiction"), str(basis.get("evidence") or ""),
                      str(basis.get("determination") or ""), basis.get("located_in"))



# --- the job -------------------------------------------------------------------------------------


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
    baseline = _baseline(conn)
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
                                   initializer=_worker_start,
                                   initargs=(services.database.engine, services.keyring, plan))
    pending: deque[tuple[str | None, str, int, Future[BatchOutcome] | None]] = deque()
    try:
        while True:
            while len(pending) < (2 * workers if pool is not None else 1):
                upcoming = next(ranges, None)
                if upcoming is None:
                    break
                after, last, size = upcoming
                pending.append((after, last, size, pool.submit(_worker_screen, after, last) if pool else None))
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
                batch_hits, applied = _write_outcome(work, plan, outcome, now, actor, account_effect)
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

