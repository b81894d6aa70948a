"""Re-screening every active sub-lessee when lists or measures change (D4, D3, D5, E2).

``rescreen_sub_lessees`` walks the active sub-lessees (of Reseller Accounts whose customer record is
not purged) in id order, in batches of one transaction each: it opens each record with the reseller
customer's data key, screens it against the in-force lists and measures, stores new hits as ``open``
(``record_hits``: no duplicates, cleared false positives stay cleared while neither the record nor the
list entry changes), and lets the measures in force reach through the reseller chain
(``cloudcip.resellers.chain``: once per measure). The ledger gets one entry per run (purpose
``re-screening``), not one per record, plus one per measure effect.

A run interrupted by a crash has committed the batches before the crash; running again repeats the
rest without duplicates (hits and measure effects are idempotent). ``after`` starts a run after a
sub-lessee id, for a caller that keeps its own cursor (``progress`` sees each batch's last id).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from cloudcip.crypto.envelope import FieldSealer
from cloudcip.ledger.store import LedgerAction
from cloudcip.records.customer_store import CustomerNotFound, CustomerPurged
from cloudcip.records.roles import Actor
from cloudcip.resellers.chain import reach_through
from cloudcip.resellers.schema import sub_lessee
from cloudcip.resellers.sub_lessees import (
    ResellerAccount,
    count_active,
    open_sub_lessee,
    screen_sub_lessee,
    sealer_of,
)
from cloudcip.runtime import Services
from cloudcip.screening.hits import record_hits, subject_hash
from cloudcip.screening.service import ScreeningService
from cloudcip.storage.schema import account, customer

Progress = Callable[[int, int], None]
SYSTEM = Actor(name="job:rescreen", role="admin")
PURPOSE = "re-screening"
BATCH = 200


def rescreen_sub_lessees(
    services: Services,
    screening: ScreeningService,
    now: datetime,
    *,
    progress: Progress | None = None,
    batch_size: int = BATCH,
    actor: Actor = SYSTEM,
    after: str | None = None,
    reason: str = "lists or measures changed",
) -> tuple[int, int, list[dict[str, Any]]]:
    """Re-screen every active sub-lessee; (how many were screened, new hits, measure effects)."""
    screening.invalidate()
    index_key = services.keyring.blind_index_key()
    today = now.date()
    run_id = str(uuid.uuid4())
    with services.ledger.unit_of_work() as work:
        total = count_active(work.conn)
        work.log(LedgerAction(actor.name, actor.role, "rescreen", "sub_lessee_rescreen", run_id, purpose=PURPOSE,
                              detail={"reason": reason[:200], "total": total}))
    done = new_hits = 0
    effects: list[dict[str, Any]] = []
    cursor = after
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
                break
            sealers: dict[str, FieldSealer | None] = {}
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
                new_hits += len(record_hits(conn, "sub_lessee", row.id, digest, result.hits, screening.party_hash,
                                            now))
                conn.execute(update(sub_lessee).where(sub_lessee.c.id == row.id).values(
                    screening_band=result.band, screened_at=now, record_hash=digest))
                reseller = ResellerAccount(row.reseller_account_id, row.customer_id, row.account_state)
                _status, applied = reach_through(work, index_key, reseller, row.id, digest,
                                                 json.loads(row.measures_json), result.measures_applying, now, actor)
                effects.extend(effect.as_json() for effect in applied)
            cursor = rows[-1].id
            done += len(rows)
        total = max(total, done)
        if progress:
            progress(done, total)
    return done, new_hits, effects
