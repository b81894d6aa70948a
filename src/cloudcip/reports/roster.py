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
import operator
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import bindparam, func, select

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


def _page_query() -> Any:
    """A page of accounts (after ``:after``, in id order), everything its rows show read in one statement
    (H3): the customer's kind and country, the last access, the newest case (latest ``created_at``,
    then id) with its state, answer and the customer's U.S./foreign determination, the number of cases
    and of open ones, the customer's verified methods, the hits on the customer and its beneficial
    owners (all and open), and the special measures applied to the account (``;``-joined, unsorted)."""
    newest_id = (select(application.c.id).where(application.c.account_id == account.c.id)
                 .order_by(application.c.created_at.desc(), application.c.id.desc()).limit(1).scalar_subquery())
    latest = application.alias("latest_case")
    determination = person_determination

    def determined(column: Any) -> Any:
        return (select(column).where(determination.c.application_id == latest.c.id,
                                     determination.c.subject == "customer")
                .order_by(determination.c.id.desc()).limit(1).scalar_subquery())

    counted = application.alias("counted_case")

    def cases(*where: Any) -> Any:
        return select(func.count()).where(counted.c.account_id == account.c.id, *where).scalar_subquery()

    owner_ids = select(beneficial_owner.c.id).where(beneficial_owner.c.customer_id == account.c.customer_id)

    def hits(*where: Any) -> Any:  # the customer's and its owners' (two lookups of the subject id index)
        return (select(func.count()).where(screening_hit.c.subject_id == account.c.customer_id, *where)
                .scalar_subquery()
                + select(func.count()).where(screening_hit.c.subject_id.in_(owner_ids), *where).scalar_subquery())

    effect = special_measure_effect
    methods = (select(func.aggregate_strings(evidence.c.method, ";"))
               .where(evidence.c.customer_id == account.c.customer_id, evidence.c.result == "verified")
               .scalar_subquery())
    measures = (select(func.aggregate_strings(effect.c.measure_id, ";"))
                .where(effect.c.customer_id == account.c.customer_id, effect.c.account_id == account.c.id)
                .scalar_subquery())
    return (select(account.c.id, account.c.customer_id, account.c.type, account.c.channel, account.c.state,
                   account.c.parent_account_id, account.c.opened_at, account.c.closed_at,
                   customer.c.kind.label("customer_kind"), customer.c.residence_country,
                   access_account_activity.c.last_access_ms, latest.c.state.label("case_state"),
                   latest.c.response_json, determined(determination.c.status).label("determination_status"),
                   determined(determination.c.basis).label("determination_basis"), cases().label("cases"),
                   cases(counted.c.state.in_(sorted(OPEN_CASE_STATES))).label("open_cases"),
                   methods.label("methods"), hits().label("hits"),
                   hits(screening_hit.c.state == "open").label("open_hits"), measures.label("measures"))
            .select_from(account.join(customer, customer.c.id == account.c.customer_id)
                         .outerjoin(access_account_activity, access_account_activity.c.account_id == account.c.id)
                         .outerjoin(latest, latest.c.id == newest_id))
            .where(account.c.id > bindparam("after")).order_by(account.c.id).limit(bindparam("page")))


_PAGE_QUERY = _page_query()


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

    def rows(self, where: RosterFilter | None = None, *, page_size: int = PAGE) -> Iterator[dict[str, Any]]:
        """Every account's row, in account id order, ``page_size`` accounts a query (a reader wanting only
        the first rows, as the console's first 100, asks for pages of about that size)."""
        keep = where or RosterFilter()
        after = ""
        while True:
            with self.database.engine.connect() as conn:
                page = conn.execute(_PAGE_QUERY, {"after": after, "page": max(1, page_size)}).all()
            if not page:
                return
            rows = self._page(page)
            after = page[-1].id
            for row, head in zip(rows, page, strict=True):
                if keep.keeps(row, head.residence_country):
                    yield row

    def _page(self, page: Sequence[Any]) -> list[dict[str, Any]]:
        """The rows of one page, from what the page's one query read."""
        years = self.retention_years
        rows = []
        for head in page:
            answer: dict[str, Any] = orjson.loads(head.response_json) if head.response_json is not None else {}
            measures = set(head.measures.split(";")) if head.measures else set()
            for item in (answer.get("screening") or {}).get("measures", []):
                if item.get("id"):
                    measures.add(str(item["id"]))
            last = ms_to_datetime(int(head.last_access_ms)) if head.last_access_ms is not None else None
            cases, open_cases = int(head.cases), int(head.open_cases)
            rows.append({
                "account_id": head.id, "customer_id": head.customer_id, "customer_kind": head.customer_kind,
                "account_type": head.type, "channel": head.channel, "account_state": head.state,
                "us_or_foreign": head.determination_status or "foreign_person",
                "determination_basis": head.determination_basis or "undetermined",
                "location": ";".join(answer.get("location", [])),
                "verification_methods": ";".join(sorted(set(head.methods.split(";")))) if head.methods else "",
                "verification_state": head.case_state or "none",
                "open_cases": open_cases, "resolved_cases": cases - open_cases,
                "hits": int(head.hits), "open_hits": int(head.open_hits),
                "measures_applied": ";".join(sorted(measures)),
                "reseller_account_id": head.parent_account_id or "",
                "last_access": clock.iso(last) or "",
                "retention_ends": clock.iso(retention_end(closure_of(head.state, head.opened_at, head.closed_at),
                                                          last, years)) or "",
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


def _write_csv(out: Path, rows: Iterator[dict[str, Any]]) -> int:
    counted = _Counted(map(operator.itemgetter(*COLUMNS), rows))
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(counted)
    return counted.count


class _Counted:
    """An iterator that counts what passes through it."""

    def __init__(self, items: Iterator[Any]) -> None:
        self.items = items
        self.count = 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        item = next(self.items)
        self.count += 1
        return item


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
