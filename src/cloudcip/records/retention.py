"""Retention that runs itself: what is kept until when, and the purge when the time has come (B1).

Each account's retention ends the profile's period (default two years) after the later of its
closure and its last access (``lifecycle.retention_end``). When it has ended and no legal hold stands
on the account or its customer, the account's access history is deleted; when every account of a
customer has reached that point (a customer with no account counts from the record's creation), the
customer's record is purged by the one purge of ``records.purge`` (the administrator's too):
crypto-shredded with its evidence and everything derived from it, its Reseller Accounts' sub-lessees
included, and the old wrapped key left readable nowhere. Every purge is a ledger entry. ``plan``
shows what would go and when, as on any date (``--as-of``); ``run`` does it in batches, re-checking
the holds inside each batch's transaction so that a hold placed meanwhile wins. Customers are read
a page at a time (keyset pagination), so memory stays flat whatever the number of accounts.

``early_purge_guard`` is the check of an administrator's purge before the retention end: it needs
``X-Legal-Basis`` naming a registered court order or a deletion the law allows whose scope covers
the customer, and is refused (403) without one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from cloudcip import clock
from cloudcip.access.events import ms_to_datetime
from cloudcip.access.retention import delete_access_history
from cloudcip.access.schema import access_account_activity
from cloudcip.errors import Forbidden
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.customer_store import CustomerStore
from cloudcip.records.holds import HeldSubjects, held_among, held_subjects
from cloudcip.records.legal_process import DELETION_KINDS, LegalRead, check_legal_read, process_row
from cloudcip.records.lifecycle import add_years, closure_of, retention_end
from cloudcip.records.roles import Actor
from cloudcip.storage.database import Database
from cloudcip.storage.schema import account, customer

RETENTION_ACTOR = Actor("job:retention", "admin")
PURPOSE = "retention period ended"
PAGE = 1_000  # customers read per page of the plan
#: customers purged per transaction: a batch's deletions share the index pages they touch, so the run
#: writes (and checkpoints) far fewer pages than with small batches; the write gate is held for one batch
PURGE_BATCH = 5_000


@dataclass(frozen=True)
class AccountRetention:
    account_id: str
    customer_id: str
    type: str
    retention_ends: datetime | None  # None: open, kept while it is
    held: bool
    access_history: bool  # whether it still has access history to purge

    def due(self, as_of: datetime) -> bool:
        return self.retention_ends is not None and self.retention_ends <= as_of and not self.held


@dataclass(frozen=True)
class CustomerRetention:
    """One customer and its accounts, with when its record may go."""

    customer_id: str
    status: str
    accounts: tuple[AccountRetention, ...]
    retention_ends: datetime | None  # the latest of its accounts' ends (None while any is open)
    held: bool

    def record_due(self, as_of: datetime) -> bool:
        return (self.status != "purged" and self.retention_ends is not None and self.retention_ends <= as_of
                and not self.held)

    def status_on(self, as_of: datetime) -> str:
        """``due``, ``held``, ``kept`` (retention not ended yet), ``open`` (an account is open) or ``purged``."""
        if self.status == "purged":
            return "purged"
        if self.retention_ends is None:
            return "open"
        if self.held:
            return "held"
        return "due" if self.retention_ends <= as_of else "kept"


@dataclass
class RunReport:
    as_of: datetime
    customers_purged: int = 0
    accounts_purged: int = 0  # accounts whose access history was deleted
    events_deleted: int = 0
    sub_lessees_deleted: int = 0
    held_skipped: int = 0
    customers_seen: int = 0
    purged_ids: list[str] = field(default_factory=list)  # the customers purged (at most the first 1,000)


@dataclass
class RetentionService:
    database: Database
    ledger: Ledger
    customers: CustomerStore
    retention_years: int
    clock: Callable[[], datetime] = clock.now
    batch: int = PURGE_BATCH

    # -- what is kept until when ----------------------------------------------------------------
    def schedule(self, *, after: str = "", page: int = PAGE) -> Iterator[CustomerRetention]:
        """Every customer (with an id above ``after``) with its accounts' retention ends, in id order,
        a page at a time."""
        while True:
            with self.database.engine.connect() as conn:
                held = held_subjects(conn)
                batch = self._page(conn, after, page, held)
            if not batch:
                return
            yield from batch
            after = batch[-1].customer_id

    def _page(self, conn: Connection, after: str, page: int, held: HeldSubjects) -> list[CustomerRetention]:
        heads = conn.execute(select(customer.c.id, customer.c.status, customer.c.created_at)
                             .where(customer.c.id > after).order_by(customer.c.id).limit(page)).all()
        return self._customers(conn, heads, held)

    def _customers(self, conn: Connection, heads: Sequence[Any], held: HeldSubjects) -> list[CustomerRetention]:
        """The retention of the customers ``heads`` (id, status, created_at rows in id order)."""
        if not heads:
            return []
        first, last = heads[0].id, heads[-1].id
        accounts: dict[str, list[AccountRetention]] = {}
        activity = access_account_activity.c
        for row in conn.execute(
            select(account.c.id, account.c.customer_id, account.c.type, account.c.state, account.c.opened_at,
                   account.c.closed_at, activity.last_access_ms)
            .select_from(account.outerjoin(access_account_activity, activity.account_id == account.c.id))
            .where(account.c.customer_id >= first, account.c.customer_id <= last)
        ):
            last_access = ms_to_datetime(int(row.last_access_ms)) if row.last_access_ms is not None else None
            accounts.setdefault(row.customer_id, []).append(AccountRetention(
                account_id=row.id, customer_id=row.customer_id, type=row.type,
                retention_ends=retention_end(closure_of(row.state, row.opened_at, row.closed_at), last_access,
                                             self.retention_years),
                held=held.account_held(row.id, row.customer_id), access_history=last_access is not None))
        result = []
        for head in heads:
            own = tuple(sorted(accounts.get(head.id, []), key=lambda a: a.account_id))
            if own:
                ends = [a.retention_ends for a in own]
                end = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
            else:  # a record with no account: kept from its creation, as an opening that never happened
                end = add_years(clock.utc(head.created_at), self.retention_years)
            result.append(CustomerRetention(head.id, head.status, own, end,
                                            held.customer_held(head.id, (a.account_id for a in own))))
        return result

    def plan(self, *, after: str = "") -> Iterator[CustomerRetention]:
        """The customers whose record or access history has a retention end (open ones are left out)."""
        for item in self.schedule(after=after):
            if item.retention_ends is not None or any(a.retention_ends is not None for a in item.accounts):
                yield item

    # -- the purge ------------------------------------------------------------------------------
    def run(self, as_of: datetime | None = None, *, progress: Callable[[int], None] | None = None,
            actor: Actor = RETENTION_ACTOR) -> RunReport:
        """Purge everything whose retention ended by ``as_of`` (default now) and no hold covers."""
        moment = clock.utc(as_of) if as_of is not None else self.clock()
        report = RunReport(as_of=moment)
        after = ""
        while True:
            with self.database.engine.connect() as conn:
                batch = self._page(conn, after, self.batch, held_subjects(conn))
            if not batch:
                break
            after = batch[-1].customer_id
            report.customers_seen += len(batch)
            self._purge_batch(batch, moment, actor, report)
            if progress is not None:
                progress(len(batch))
        if report.customers_purged:
            self.customers.shred_files(actor)
        if report.customers_purged or report.accounts_purged:
            with self.ledger.unit_of_work() as work:
                work.log(LedgerAction(actor.name, actor.role, "retention_run", "retention", clock.iso(moment) or "",
                                      purpose=PURPOSE, detail={
                                          "customers_purged": report.customers_purged,
                                          "accounts_purged": report.accounts_purged,
                                          "events_deleted": report.events_deleted,
                                          "held_skipped": report.held_skipped}))
        return report

    def _purge_batch(self, batch: Sequence[CustomerRetention], as_of: datetime, actor: Actor,
                     report: RunReport) -> None:
        due_accounts = [a for item in batch for a in item.accounts if a.due(as_of)]
        due_customers = [item for item in batch if item.record_due(as_of)]
        report.held_skipped += sum(1 for item in batch if item.held and item.retention_ends is not None
                                   and item.retention_ends <= as_of and item.status != "purged")
        if not due_accounts and not due_customers:
            return
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            # a hold placed since the page was read wins
            fresh = held_among(conn, [c.customer_id for c in due_customers] + [a.customer_id for a in due_accounts],
                               [a.account_id for c in due_customers for a in c.accounts]
                               + [a.account_id for a in due_accounts])
            accounts = [a for a in due_accounts if not fresh.account_held(a.account_id, a.customer_id)]
            customers = [c for c in due_customers
                         if not fresh.customer_held(c.customer_id, (a.account_id for a in c.accounts))]
            history = [a.account_id for a in accounts if a.access_history]
            report.events_deleted += delete_access_history(conn, history)
            for account_id in history:
                work.log(LedgerAction(actor.name, actor.role, "purge_access_history", "account", account_id,
                                      purpose=PURPOSE))
            report.accounts_purged += len(history)
            if customers:  # the one purge of records.purge, as an administrator's (B1, B2)
                forgotten = self.customers.purge_in(work, [c.customer_id for c in customers], actor, purpose=PURPOSE)
                report.sub_lessees_deleted += forgotten.get("forget_sub_lessees", 0)
            report.customers_purged += len(customers)
            room = 1_000 - len(report.purged_ids)
            report.purged_ids.extend(c.customer_id for c in customers[:max(room, 0)])

    # -- an administrator's purge before the end ----------------------------------------------------
    def early_purge_guard(self, conn: Connection, customer_id: str, legal_basis: str | None, now: datetime) -> None:
        """Refuse a purge before the customer's retention ends unless ``legal_basis`` names a registered
        court order or statutory deletion whose scope covers the customer (B1)."""
        heads = conn.execute(select(customer.c.id, customer.c.status, customer.c.created_at)
                             .where(customer.c.id == customer_id)).all()
        if not heads:
            return  # the purge itself says the customer does not exist
        [item] = self._customers(conn, heads, held_subjects(conn))
        if item.retention_ends is not None and item.retention_ends <= now:
            return
        if not legal_basis:
            raise Forbidden("the retention period of this record has not ended; purging it now needs "
                            "X-Legal-Basis naming a registered court order or statutory deletion")
        check_legal_read(conn, legal_basis, LegalRead(customer_id=customer_id))
        if process_row(conn, legal_basis).kind not in DELETION_KINDS:
            raise Forbidden("the legal process named by X-Legal-Basis does not allow a deletion "
                            "(a court order or a statutory deletion does)")


__all__ = ["AccountRetention", "CustomerRetention", "RetentionService", "RunReport"]
