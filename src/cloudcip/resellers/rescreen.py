"""Re-screening every active sub-lessee when lists or measures change (D4, D3, D5, E2).

``rescreen_sub_lessees`` is a resumable job (``sub_lessee_rescreen_run``): it walks the active
sub-lessees (of Reseller Accounts whose customer record is not purged) in id order, in batches; each
batch opens the records with the reseller customer's data key, screens them against the in-force
lists and measures, stores new hits as ``open`` (``record_hits``: no duplicates, cleared false
positives stay cleared while neither the record nor the list entry changes), lets the measures in
force reach through the reseller chain (``cloudcip.resellers.chain``: once per measure), and
advances the run's cursor, all in one transaction. A crash loses at most the batch in flight; the next
call resumes the unfinished run from its cursor. The ledger gets one entry per run and one per
resumption (purpose ``re-screening``), not one per record, plus one per measure effect.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from cloudcip.crypto.envelope import FieldSealer
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.customer_store import CustomerNotFound, CustomerPurged
from cloudcip.records.roles import Actor
from cloudcip.resellers.chain import measure_reviews, reach_through
from cloudcip.resellers.schema import sub_lessee, sub_lessee_rescreen_run
from cloudcip.resellers.sub_lessee_input import screen_sub_lessee
from cloudcip.resellers.sub_lessees import (
    ResellerAccount,
    count_active,
    open_sub_lessee,
    sealer_of,
)
from cloudcip.screening.hits import record_hits, subject_hash
from cloudcip.screening.service import ScreeningService
from cloudcip.services import Services
from cloudcip.storage.schema import account, customer

Progress = Callable[[int, int], None]
SYSTEM = Actor(name="job:rescreen", role="admin")
PURPOSE = "re-screening"
BATCH = 200


def _unfinished(conn: Connection) -> Any:
    return conn.execute(select(sub_lessee_rescreen_run).where(sub_lessee_rescreen_run.c.finished_at.is_(None))
                        .order_by(sub_lessee_rescreen_run.c.started_at.desc()).limit(1)).first()


def rescreen_sub_lessees(
    services: Services,
    screening: ScreeningService,
    now: datetime,
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH,
    actor: Actor = SYSTEM,
    reason: str = "lists or measures changed",
) -> tuple[int, int, list[dict[str, Any]]]:
    """Re-screen every active sub-lessee, resuming an unfinished run; (how many the run has screened,
    the new hits it found, the measure effects of this call)."""
    screening.invalidate()
    index_key = services.keyring.blind_index_key()
    today = now.date()
    with services.ledger.unit_of_work() as work:
        run = _unfinished(work.conn)
        resumed = run is not None
        if run is None:
            run_id = str(uuid.uuid4())
            work.conn.execute(insert(sub_lessee_rescreen_run).values(
                id=run_id, reason=(reason or "re-screening")[:200], started_at=now, cursor=None, done=0,
                total=count_active(work.conn), hits=0, finished_at=None))
            run = work.conn.execute(select(sub_lessee_rescreen_run)
                                    .where(sub_lessee_rescreen_run.c.id == run_id)).one()
        work.log(LedgerAction(actor.name, actor.role, "rescreen_resume" if resumed else "rescreen",
                              "sub_lessee_rescreen", run.id, purpose=PURPOSE,
                              detail={"reason": run.reason, "total": int(run.total)}))
    run_id, cursor = run.id, run.cursor
    done, total, new_hits = int(run.done), int(run.total), int(run.hits)
    effects: list[dict[str, Any]] = []
    if progress:
        progress(done, total)
    while True:
        with services.ledger.unit_of_work() as work:
            conn = work.conn
            query = (select(sub_lessee, account.c.customer_id, account.c.state.label("account_state"))
                     .select_from(sub_lessee.join(account, sub_lessee.c.reseller_account_id == account.c.id)
                                  .join(customer, account.c.customer_id == customer.c.id))
                     .where(sub_lessee.c.status == "active", customer.c.status != "purged")
                     .order_by(sub_lessee.c.id).limit(batch_size))
            if cursor is not None:
                query = query.where(sub_lessee.c.id > cursor)
            rows = list(conn.execute(query))
            if not rows:
                conn.execute(update(sub_lessee_rescreen_run).where(sub_lessee_rescreen_run.c.id == run_id)
                             .values(finished_at=now))
                break
            sealers: dict[str, FieldSealer | None] = {}
            batch_hits = 0
            for row in rows:
                if row.customer_id not in sealers:
                    try:
                        sealers[row.customer_id] = sealer_of(services, conn, row.customer_id)
                    except (CustomerNotFound, CustomerPurged):
                        sealers[row.customer_id] = None
                sealer = sealers[row.customer_id]
                if sealer is None:
                    continue
                opened = open_sub_lessee(sealer, row)
                try:
                    result = screen_sub_lessee(screening, opened, today)
                except ValueError:
                    continue  # a stored name that cannot be screened (refused when it was shared)
                digest = subject_hash(index_key, opened.fields())
                found = [*result.hits, *measure_reviews(result)]
                batch_hits += len(record_hits(conn, "sub_lessee", row.id, digest, found, screening.party_hash, now,
                                                  index_key=index_key))
                conn.execute(update(sub_lessee).where(sub_lessee.c.id == row.id).values(
                    screening_band=result.band, screened_at=now, record_hash=digest))
                reseller = ResellerAccount(row.reseller_account_id, row.customer_id, row.account_state)
                _status, applied = reach_through(work, index_key, reseller, row.id, digest,
                                                 json.loads(row.measures_json), result.measures_applying, now, actor)
                effects.extend(effect.as_json() for effect in applied)
            cursor = rows[-1].id
            done += len(rows)
            new_hits += batch_hits
            total = max(total, done)
            conn.execute(update(sub_lessee_rescreen_run).where(sub_lessee_rescreen_run.c.id == run_id).values(
                cursor=cursor, done=done, hits=new_hits, total=total))
        if progress:
            progress(done, total)
    return done, new_hits, effects
