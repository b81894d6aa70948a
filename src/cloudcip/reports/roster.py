"""The examiner's roster: every account with its CIP state, filterable, as CSV or Parquet (H3).

One row per account: the customer's kind, the U.S./foreign determination and its basis, the
location decision, the verification methods that passed and the case's state, open and resolved
cases, screening hits (all and open), the special measures applied, the reseller it hangs under, the
last access and the retention end, and where its evidence and ledger entries are. Accounts are read a
page (1,000) at a time in id order and written as they come, so memory stays flat whatever their
number. ``--sample N --seed S`` draws a reproducible random sample (reservoir sampling over the same
stream) whose rows also list the ids of their evidence and the indexes of their ledger entries. The
export is a ledger entry (who, why, how many rows).
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, func, select

from cloudcip import clock
from cloudcip.access.events import ms_to_datetime
from cloudcip.access.schema import access_account_activity
from cloudcip.errors import Forbidden, InvalidInput, Unavailable
from cloudcip.ledger.schema import ledger_entry
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.lifecycle import closure_of, retention_end
from cloudcip.records.roles import Actor, may
from cloudcip.screening.schema import screening_hit, special_measure_effect
from cloudcip.storage.database import Database
from cloudcip.storage.schema import account, beneficial_owner, customer, evidence
from cloudcip.verification.schema import application, person_determination

Format = Literal["csv", "parquet"]
COLUMNS: tuple[str, ...] = (
    "account_id", "customer_id", "customer_kind", "account_type", "channel", "account_state", "us_or_foreign",
    "determination_basis", "location", "verification_methods", "verification_state", "open_cases",
    "resolved_cases", "hits", "open_hits", "measures_applied", "reseller_account_id", "last_access",
    "retention_ends", "evidence", "ledger", "evidence_ids", "ledger_entries",
)
OPEN_CASE_STATES = frozenset({"submitted", "pending_evidence", "in_review"})
PAGE = 1_000
_CHUNK = 500


@dataclass(frozen=True)
class RosterFilter:
    """Which accounts the roster lists (every one by default)."""

    us_or_foreign: str | None = None  # us_person | foreign_person
    verification_state: str | None = None
    account_type: str | None = None
    country: str | None = None  # the customer's residence country
    reseller_account_id: str | None = None

    def keeps(self, row: dict[str, Any], country: str | None) -> bool:
        return ((self.us_or_foreign is None or row["us_or_foreign"] == self.us_or_foreign)
                and (self.verification_state is None or row["verification_state"] == self.verification_state)
                and (self.account_type is None or row["account_type"] == self.account_type)
                and (self.country is None or country == self.country)
                and (self.reseller_account_id is None or row["reseller_account_id"] == self.reseller_account_id))


@dataclass
class RosterService:
    database: Database
    ledger: Ledger
    retention_years: int
    clock: Callable[[], datetime] = clock.now

    def rows(self, where: RosterFilter | None = None) -> Iterator[dict[str, Any]]:
        """Every account's row, in account id order, a page at a time."""
        keep = where or RosterFilter()
        after = ""
        while True:
            with self.database.engine.connect() as conn:
                page = conn.execute(
                    select(account, customer.c.kind.label("customer_kind"),
                           customer.c.residence_country, access_account_activity.c.last_access_ms)
                    .select_from(account.join(customer, customer.c.id == account.c.customer_id)
                                 .outerjoin(access_account_activity,
                                            access_account_activity.c.account_id == account.c.id))
                    .where(account.c.id > after).order_by(account.c.id).limit(PAGE)).all()
                if not page:
                    return
                rows = self._page(conn, page)
            after = page[-1].id
            for row, head in zip(rows, page, strict=True):
                if keep.keeps(row, head.residence_country):
                    yield row

    def _page(self, conn: Connection, page: Sequence[Any]) -> list[dict[str, Any]]:
        account_ids = [r.id for r in page]
        customer_ids = sorted({r.customer_id for r in page})
        cases: dict[str, list[Any]] = {}
        for row in _chunked(conn, select(application.c.id, application.c.account_id, application.c.state,
                                         application.c.created_at, application.c.response_json),
                            application.c.account_id, account_ids):
            cases.setdefault(row.account_id, []).append(row)
        newest = {a: max(rows, key=lambda r: (clock.utc(r.created_at), r.id)) for a, rows in cases.items()}
        determinations: dict[str, Any] = {}
        for row in _chunked(conn, select(person_determination.c.application_id, person_determination.c.status,
                                         person_determination.c.basis)
                            .where(person_determination.c.subject == "customer"),
                            person_determination.c.application_id, [r.id for r in newest.values()]):
            determinations[row.application_id] = row
        methods: dict[str, set[str]] = {}
        for row in _chunked(conn, select(evidence.c.customer_id, evidence.c.method).where(
                evidence.c.result == "verified"), evidence.c.customer_id, customer_ids):
            methods.setdefault(row.customer_id, set()).add(row.method)
        owners: dict[str, str] = {str(o.id): str(o.customer_id) for o in _chunked(
            conn, select(beneficial_owner.c.id, beneficial_owner.c.customer_id), beneficial_owner.c.customer_id,
            customer_ids)}
        hits: dict[str, list[str]] = {}
        for row in _chunked(conn, select(screening_hit.c.subject_id, screening_hit.c.state),
                            screening_hit.c.subject_id, customer_ids + sorted(owners)):
            hits.setdefault(owners.get(row.subject_id, row.subject_id), []).append(row.state)
        measures: dict[str, set[str]] = {}
        for row in _chunked(conn, select(special_measure_effect.c.account_id, special_measure_effect.c.measure_id),
                            special_measure_effect.c.account_id, account_ids):
            measures.setdefault(row.account_id, set()).add(row.measure_id)
        rows = []
        for head in page:
            latest = newest.get(head.id)
            answer: dict[str, Any] = json.loads(latest.response_json) if latest is not None else {}
            determination = determinations.get(latest.id) if latest is not None else None
            for item in (answer.get("screening") or {}).get("measures", []):
                if item.get("id"):
                    measures.setdefault(head.id, set()).add(str(item["id"]))
            last = ms_to_datetime(int(head.last_access_ms)) if head.last_access_ms is not None else None
            states = [c.state for c in cases.get(head.id, [])]
            own_hits = hits.get(head.customer_id, [])
            rows.append({
                "account_id": head.id, "customer_id": head.customer_id, "customer_kind": head.customer_kind,
                "account_type": head.type, "channel": head.channel, "account_state": head.state,
                "us_or_foreign": determination.status if determination is not None else "foreign_person",
                "determination_basis": determination.basis if determination is not None else "undetermined",
                "location": ";".join(answer.get("location", [])),
                "verification_methods": ";".join(sorted(methods.get(head.customer_id, ()))),
                "verification_state": latest.state if latest is not None else "none",
                "open_cases": sum(1 for s in states if s in OPEN_CASE_STATES),
                "resolved_cases": sum(1 for s in states if s not in OPEN_CASE_STATES),
                "hits": len(own_hits), "open_hits": sum(1 for s in own_hits if s == "open"),
                "measures_applied": ";".join(sorted(measures.get(head.id, ()))),
                "reseller_account_id": head.parent_account_id or "",
                "last_access": clock.iso(last) or "",
                "retention_ends": clock.iso(retention_end(closure_of(head.state, head.opened_at, head.closed_at),
                                                          last, self.retention_years)) or "",
                "evidence": f"/v1/customers/{head.customer_id}",
                "ledger": f"account/{head.id} customer/{head.customer_id}",
                "evidence_ids": "", "ledger_entries": "",
            })
        return rows

    def sample(self, size: int, seed: int, where: RosterFilter | None = None) -> list[dict[str, Any]]:
        """``size`` rows drawn at random (reservoir sampling, reproducible by ``seed``), in account id
        order, each with the ids of its evidence and the indexes of its ledger entries."""
        if size < 1:
            raise InvalidInput.field("sample", "must be at least 1")
        rng = random.Random(seed)
        chosen: list[dict[str, Any]] = []
        for seen, row in enumerate(self.rows(where)):
            if seen < size:
                chosen.append(row)
            else:
                slot = rng.randint(0, seen)
                if slot < size:
                    chosen[slot] = row
        chosen.sort(key=lambda r: r["account_id"])
        with self.database.engine.connect() as conn:
            for row in chosen:
                row["evidence_ids"] = ";".join(str(e) for e in conn.execute(
                    select(evidence.c.id).where(evidence.c.customer_id == row["customer_id"])
                    .order_by(evidence.c.received_at, evidence.c.id)).scalars())
                records = [row["account_id"], row["customer_id"], *(str(a) for a in conn.execute(
                    select(application.c.id).where(application.c.account_id == row["account_id"])).scalars())]
                row["ledger_entries"] = ";".join(str(i) for i in conn.execute(
                    select(ledger_entry.c.idx).where(ledger_entry.c.record_id.in_(records))
                    .order_by(ledger_entry.c.idx)).scalars())
        return chosen

    def export(self, out: Path, fmt: Format, actor: Actor, *, where: RosterFilter | None = None,
               sample: int | None = None, seed: int = 0, purpose: str | None = None) -> int:
        """Write the roster (or a sample of it) to ``out``; the number of rows. On the ledger."""
        if not may(actor.role, "roster:export"):
            raise Forbidden(f"role {actor.role} may not export the roster")
        rows: Iterator[dict[str, Any]] = iter(self.sample(sample, seed, where)) if sample is not None \
            else self.rows(where)
        written = _write_csv(out, rows) if fmt == "csv" else _write_parquet(out, rows)
        with self.ledger.unit_of_work() as work:
            work.log(LedgerAction(actor.name, actor.role, "export", "roster", clock.iso(self.clock()) or "",
                                  purpose=purpose or "examiner's roster (H3)",
                                  detail={"rows": written, "format": fmt, "sample": sample, "seed": seed
                                          if sample is not None else None}))
        return written


def _chunked(conn: Connection, statement: Any, column: Any, ids: Sequence[str]) -> Iterator[Any]:
    for start in range(0, len(ids), _CHUNK):
        yield from conn.execute(statement.where(column.in_(ids[start:start + _CHUNK])))


def _write_csv(out: Path, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _write_parquet(out: Path, rows: Iterator[dict[str, Any]]) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise Unavailable("Parquet needs pyarrow: pip install 'cloudcip[parquet]'") from None
    integers = {"open_cases", "resolved_cases", "hits", "open_hits"}
    schema = pa.schema([(name, pa.int64() if name in integers else pa.string()) for name in COLUMNS])
    count = 0
    with pq.ParquetWriter(str(out), schema) as writer:
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            batch.clear()

        for row in rows:
            batch.append(row)
            count += 1
            if len(batch) >= 10_000:
                flush()
        if batch or count == 0:
            flush()
    return count


def count_accounts(database: Database) -> int:
    with database.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(account)).scalar_one())


__all__ = ["COLUMNS", "RosterFilter", "RosterService", "count_accounts"]
