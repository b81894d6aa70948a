"""Re-screening every existing customer and beneficial owner, and the effective-date step (D4, D1, D5).

``rescreen_all`` is a resumable job (``rescreen_run``): it walks the customers in id order, in
batches; each batch opens the records (``CustomerStore.open_record``), screens the customer and each
beneficial owner against the in-force lists and measures, stores new hits as ``open``
(``hits.record_hits``: no duplicates, cleared false positives stay cleared), applies the measures in
force, and advances the run's cursor, all in one transaction. A crash loses at most the batch in
flight; the next call resumes the unfinished run from its cursor. The ledger gets one entry per run
(and one per resumption), with purpose ``re-screening``, not one per record.

On and after a measure's effective date, each affected customer's accounts go to ``closed``
(prohibition) or ``restricted`` (conditions), each with a ledger entry and a webhook notice
(``account.measure_applied``); a customer without accounts is recorded as affected. Reseller
accounts are skipped only when the measure says it does not cover them. ``special_measure_effect``
keeps what was done, so a measure acts once per account.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from cloudcip.ledger.store import LedgerAction, UnitOfWork
from cloudcip.records.customer_store import CustomerNotFound, CustomerPurged
from cloudcip.records.roles import Actor
from cloudcip.runtime import Services
from cloudcip.screening.hits import record_hits, subject_hash
from cloudcip.screening.location import LocationEvidence, locate
from cloudcip.screening.matcher import QuerySchema
from cloudcip.screening.measures import Measure, list_measures
from cloudcip.screening.schema import rescreen_run, screening_hit, special_measure_effect
from cloudcip.screening.service import ScreeningService
from cloudcip.screening.snapshots import in_force_snapshots
from cloudcip.storage.schema import account, customer

Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]
SYSTEM = Actor(name="job:rescreen", role="admin")
PURPOSE = "re-screening"
BATCH = 200


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Subject:
    """One screened person or entity of a customer record (fields held in memory only)."""

    subject_type: str
    subject_id: str
    name: str
    schema: QuerySchema
    birth_date: str | None
    nationality: str | None
    document_numbers: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    wallets: tuple[str, ...] = ()

    def fields(self) -> dict[str, Any]:
        return {"name": self.name, "schema": self.schema, "birth_date": self.birth_date,
                "nationality": self.nationality, "documents": sorted(self.document_numbers),
                "emails": sorted(self.emails), "wallets": sorted(self.wallets)}


def _person_name(name: Any) -> str:
    if isinstance(name, dict):
        parts = [name.get("given"), name.get("middle"), name.get("family")]
        return " ".join(str(p) for p in parts if p)
    return str(name or "")


def subjects_of(record: dict[str, Any]) -> list[Subject]:
    """The customer and each beneficial owner of an (unmasked) customer record."""
    documents = tuple(
        str(d["number"]) for d in record.get("documents", [])
        if d.get("number") and d.get("beneficial_owner_id") is None
    )
    wallets = tuple(str(m["number"]) for m in record.get("payment_means", [])
                    if m.get("type") == "crypto_wallet" and m.get("number"))
    emails = (str(record["email"]),) if record.get("email") else ()
    found: list[Subject] = []
    if record.get("kind") == "entity":
        found.append(Subject("customer", record["id"], str(record.get("legal_name") or ""), "Organization",
                             None, None, documents, emails, wallets))
        for owner in record.get("beneficial_owners", []):
            owner_docs = tuple(str(d["number"]) for d in record.get("documents", [])
                               if d.get("beneficial_owner_id") == owner["id"] and d.get("number"))
            found.append(Subject("beneficial_owner", owner["id"], _person_name(owner.get("name")), "Person",
                                 owner.get("birth_date"), owner.get("nationality"), owner_docs))
    else:
        found.append(Subject("customer", record["id"], _person_name(record.get("name")), "Person",
                             record.get("birth_date"), record.get("nationality"), documents, emails, wallets))
    return found


def jurisdictions_of(record: dict[str, Any]) -> set[str]:
    """Countries, subdivisions and named regions the record's evidence connects the customer to (D2:
    address, document countries, nationality, phone, card issuer and IBAN countries, registration)."""
    address = record.get("address") or {}
    documents = [str(d["country"]) for d in record.get("documents", [])
                 if d.get("country") and d.get("beneficial_owner_id") is None]
    registration = record.get("registration") or {}
    if registration.get("country"):
        documents.append(str(registration["country"]))
    cards = [str(m["country"]) for m in record.get("payment_means", []) if m.get("country")]
    ibans = [str(m["number"]) for m in record.get("payment_means", [])
             if m.get("type") == "bank_account" and m.get("number")]
    evidence = LocationEvidence(
        address_country=address.get("country"), address_subdivision=address.get("subdivision"),
        document_countries=documents, nationalities=[record["nationality"]] if record.get("nationality") else [],
        phone_number=record.get("phone"), card_issuer_countries=cards, ibans=ibans,
    )
    return {j.code for j in locate(evidence)}


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

    def as_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "reason": self.reason, "resumed": self.resumed, "done": self.done,
                "total": self.total, "new_hits": self.new_hits, "effects": len(self.effects),
                "finished": self.finished}


def _customer_ids(conn: Connection, after: str | None, limit: int) -> list[str]:
    query = select(customer.c.id).where(customer.c.status != "purged").order_by(customer.c.id).limit(limit)
    if after is not None:
        query = query.where(customer.c.id > after)
    return [row.id for row in conn.execute(query)]


def _unfinished(conn: Connection) -> Any:
    return conn.execute(select(rescreen_run).where(rescreen_run.c.finished_at.is_(None))
                        .order_by(rescreen_run.c.sequence.desc()).limit(1)).first()


def _cleared_entries(conn: Connection, subject_type: str, subject_id: str, digest: str) -> set[tuple[str, str]]:
    rows = conn.execute(select(screening_hit.c.list_source, screening_hit.c.list_source_id).where(
        (screening_hit.c.subject_type == subject_type) & (screening_hit.c.subject_id == subject_id)
        & (screening_hit.c.subject_hash == digest) & (screening_hit.c.state == "false_positive")))
    return {(row.list_source, row.list_source_id) for row in rows}


def _apply_measure(work: UnitOfWork, measure: Measure, customer_id: str, basis: str, now: datetime,
                   actor: Actor) -> list[dict[str, Any]]:
    """Close or restrict the customer's accounts under ``measure`` (once per account); the effects."""
    conn = work.conn
    done = {row.account_id for row in conn.execute(select(special_measure_effect.c.account_id).where(
        (special_measure_effect.c.measure_id == measure.id) & (special_measure_effect.c.customer_id == customer_id)))}
    effects: list[dict[str, Any]] = []
    accounts = list(conn.execute(select(account.c.id, account.c.type, account.c.state)
                                 .where(account.c.customer_id == customer_id).order_by(account.c.id)))
    new_state = "closed" if measure.measure == "prohibit" else "restricted"
    if not accounts:
        if None in done:
            return effects
        conn.execute(insert(special_measure_effect).values(
            measure_id=measure.id, customer_id=customer_id, account_id=None, action="recorded",
            previous_state=None, applied_at=now))
        work.log(LedgerAction(actor.name, actor.role, "apply_special_measure", "customer", customer_id,
                              purpose="special measure",
                              detail={"measure_id": measure.id, "measure": measure.measure, "accounts": 0}))
        effects.append({"measure_id": measure.id, "customer_id": customer_id, "account_id": None,
                        "action": "recorded"})
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
            if new_state == "closed":
                values["closed_at"] = now
            conn.execute(update(account).where(account.c.id == acct.id).values(**values))
        conn.execute(insert(special_measure_effect).values(
            measure_id=measure.id, customer_id=customer_id, account_id=acct.id, action=action,
            previous_state=acct.state, applied_at=now))
        work.log(LedgerAction(actor.name, actor.role, "apply_special_measure", "account", acct.id,
                              purpose="special measure",
                              detail={"measure_id": measure.id, "measure": measure.measure,
                                      "conditions": measure.conditions, "from": acct.state, "to": action,
                                      "basis": basis.split(" ")[0]}))
        effects.append({"measure_id": measure.id, "customer_id": customer_id, "account_id": acct.id,
                        "action": action})
        _notify(conn, measure, customer_id, acct.id, action, now)
    return effects


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


def _screen_customer(
    work: UnitOfWork, services: Services, screening: ScreeningService, customer_id: str, key: bytes,
    now: datetime, today: date, actor: Actor,
) -> tuple[int, list[dict[str, Any]]]:
    try:
        record = services.customers.open_record(work.conn, customer_id)
    except (CustomerNotFound, CustomerPurged):
        return 0, []
    codes = jurisdictions_of(record)
    new_hits = 0
    due: dict[str, tuple[Measure, str]] = {}
    for subject in subjects_of(record):
        if not subject.name.strip():
            continue
        try:
            result = screening.screen_person(
                subject.name, subject.birth_date, subject.nationality, schema=subject.schema,
                document_numbers=subject.document_numbers, emails=subject.emails, wallets=subject.wallets,
                jurisdictions=codes if subject.subject_type == "customer" else (), on=today,
            )
        except ValueError:
            continue  # a stored name that cannot be screened (already refused at signup)
        digest = subject_hash(key, subject.fields())
        new_hits += len(record_hits(work.conn, subject.subject_type, subject.subject_id, digest, result.hits,
                                    screening.party_hash, now))
        cleared: set[tuple[str, str]] | None = None  # read only when a listed-entry measure applies
        for applying in result.measures_applying:
            if applying.status != "in_force":
                continue
            entry = applying.measure.listed_entry()
            if entry is not None:
                if cleared is None:
                    cleared = _cleared_entries(work.conn, subject.subject_type, subject.subject_id, digest)
                if entry in cleared:
                    continue
            due.setdefault(applying.measure.id, (applying.measure, applying.basis))
    effects: list[dict[str, Any]] = []
    for measure, basis in due.values():
        effects.extend(_apply_measure(work, measure, customer_id, basis, now, actor))
    return new_hits, effects


def screening_state_key(conn: Connection, today: date) -> str:
    """Hash of what a re-screening screens against: the in-force snapshots and each measure's status."""
    parts = [f"snapshot:{s.source}:{s.id}" for s in in_force_snapshots(conn)]
    parts += [f"measure:{m.id}:{m.status(today)}:{m.expires_on.isoformat()}" for m in list_measures(conn)]
    return hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()


def rescreen_if_changed(services: Services, now: datetime,
                        screening: ScreeningService | None = None) -> RescreenReport | None:
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
    return rescreen_all(services, "lists or measures changed", screening=screening, clock=lambda: now)


def rescreen_all(
    services: Services,
    reason: str,
    progress: Progress | None = None,
    *,
    screening: ScreeningService | None = None,
    clock: Clock = utc_now,
    batch_size: int = BATCH,
    actor: Actor = SYSTEM,
) -> RescreenReport:
    """Re-screen every customer and beneficial owner; resumes an unfinished run instead of starting one."""
    reason = (reason or "").strip()[:200] or "re-screening"
    screening = screening or ScreeningService(services)
    screening.invalidate()
    key = services.keyring.blind_index_key()
    with services.ledger.unit_of_work() as work:
        run = _unfinished(work.conn)
        resumed = run is not None
        if run is None:
            run_id = str(uuid.uuid4())
            total = int(work.conn.execute(select(func.count()).select_from(customer)
                                          .where(customer.c.status != "purged")).scalar_one())
            started = clock()
            sequence = int(work.conn.execute(select(func.coalesce(func.max(rescreen_run.c.sequence), 0)))
                           .scalar_one()) + 1
            work.conn.execute(insert(rescreen_run).values(
                id=run_id, sequence=sequence, reason=reason, started_at=started, cursor=None, done=0, total=total,
                hits=0,
                state_key=screening_state_key(work.conn, started.date())))
        else:
            run_id = run.id
            reason = run.reason
        work.log(LedgerAction(actor.name, actor.role, "rescreen_resume" if resumed else "rescreen", "rescreen_run",
                              run_id, purpose=PURPOSE, detail={"reason": reason}))
        run = work.conn.execute(select(rescreen_run).where(rescreen_run.c.id == run_id)).one()
    cursor, done, total, hits = run.cursor, int(run.done), int(run.total), int(run.hits)
    effects: list[dict[str, Any]] = []
    if progress:
        progress(done, total)
    while True:
        now = clock()
        today = now.date()
        with services.ledger.unit_of_work() as work:
            ids = _customer_ids(work.conn, cursor, batch_size)
            if not ids:
                work.conn.execute(update(rescreen_run).where(rescreen_run.c.id == run_id).values(finished_at=now))
                break
            batch_hits = 0
            for customer_id in ids:
                found, applied = _screen_customer(work, services, screening, customer_id, key, now, today, actor)
                batch_hits += found
                effects.extend(applied)
            cursor = ids[-1]
            done += len(ids)
            hits += batch_hits
            work.conn.execute(update(rescreen_run).where(rescreen_run.c.id == run_id).values(
                cursor=cursor, done=done, hits=hits, total=max(total, done)))
        total = max(total, done)
        if progress:
            progress(done, total)
    return RescreenReport(run_id, reason, resumed, done, total, hits, effects)


def runs(conn: Connection, limit: int = 20) -> Iterator[dict[str, Any]]:
    """The latest re-screening runs, newest first."""
    for row in conn.execute(select(rescreen_run).order_by(rescreen_run.c.sequence.desc()).limit(limit)):
        yield {"id": row.id, "reason": row.reason, "started_at": row.started_at.isoformat(), "done": row.done,
               "total": row.total, "hits": row.hits,
               "finished_at": row.finished_at.isoformat() if row.finished_at else None}
