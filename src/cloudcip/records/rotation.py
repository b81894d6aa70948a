"""Key rotation: every data key re-wrapped under a new key-encryption key, then the old ones leave
the keyring (B2). ``cloudcip keys rotate`` runs it, and so does a purge on PostgreSQL (a new purge
epoch, ``records.purge.shred_files``: ``docs/purge.md``).

Rows are read in id order, a page at a time, and each page re-wrapped in one short transaction, a
row only where its KEK is still the one read; a last pass catches rows a concurrent writer changed,
and the loop ends when no row names an old KEK. On PostgreSQL a page is one ``UPDATE ... FROM
unnest(...)`` statement with three array parameters (one round trip, one plan for the page); SQLite
takes the page as one executemany (no round trips to save there).

One rotation at a time: two purges finishing together would otherwise re-wrap each other's rows back
and forth. In a process a lock orders them; across nodes on PostgreSQL a rotation first takes a
transaction-level advisory lock (``pg_advisory_xact_lock`` on ``ROTATION_LOCK_CLASS`` and the schema's
hash, so two deployments in two schemas never wait on each other) in a transaction of its own, held
until the rotation ends: a second node's rotation waits, then runs, and a node that dies lets go with
its connection. SQLite needs no more: one machine, its writers serialised through the WriteGate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select, text, update

from cloudcip.crypto.envelope import WrappedDataKey, rewrap_data_key
from cloudcip.crypto.keyring import LocalKeyring
from cloudcip.ledger.store import Ledger, LedgerAction
from cloudcip.records.roles import Actor
from cloudcip.storage.database import Database
from cloudcip.storage.schema import customer

_one_rotation = threading.Lock()
#: the first key of the two-key advisory lock a rotation holds on PostgreSQL; the second is the schema's hash
ROTATION_LOCK_CLASS = 1668

_UNNEST_UPDATE = text(
    "UPDATE customer SET kek_id = :new_kek, wrapped_data_key = page.new_key "
    "FROM unnest(CAST(:ids AS text[]), CAST(:old_keks AS text[]), CAST(:new_keys AS bytea[])) "
    "AS page(row_id, old_kek, new_key) "
    "WHERE customer.id = page.row_id AND customer.kek_id = page.old_kek")


@dataclass
class RotationReport:
    new_kek_id: str
    rewrapped: int
    retired: list[str]


def _rewrap_page(conn: Connection, keyring: LocalKeyring, new_kek: str, after: str | None, batch: int,
                 postgresql: bool) -> tuple[int, str | None]:
    """Re-wrap one page of rows not yet under ``new_kek`` (ids after ``after``); (rows, last id)."""
    query = (select(customer.c.id, customer.c.kek_id, customer.c.wrapped_data_key)
             .where(customer.c.wrapped_data_key.is_not(None), customer.c.kek_id != new_kek)
             .order_by(customer.c.id).limit(batch))
    if after is not None:
        query = query.where(customer.c.id > after)
    rows = conn.execute(query).all()
    if not rows:
        return 0, None
    fresh = [rewrap_data_key(keyring, row.id, WrappedDataKey(row.kek_id, bytes(row.wrapped_data_key))).wrapped
             for row in rows]
    if postgresql:
        conn.execute(_UNNEST_UPDATE, {"new_kek": new_kek, "ids": [row.id for row in rows],
                                      "old_keks": [row.kek_id for row in rows], "new_keys": fresh})
    else:  # each row only if its KEK is still the one read
        conn.execute(update(customer)
                     .where(customer.c.id == bindparam("row_id"), customer.c.kek_id == bindparam("old_kek"))
                     .values(kek_id=new_kek, wrapped_data_key=bindparam("new_key")),
                     [{"row_id": row.id, "old_kek": row.kek_id, "new_key": key} for row, key in zip(rows, fresh,
                                                                                                   strict=True)])
    return len(rows), rows[-1].id


@contextmanager
def _one_rotation_across_nodes(database: Database) -> Iterator[None]:
    """PostgreSQL: hold the rotation's advisory lock for the block, in a transaction of its own that
    writes nothing (waits while another node rotates; commit, rollback or a lost connection let go)."""
    if not database.is_postgresql:
        yield
        return
    with database.engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(current_schema()))"),
                     {"lock_class": ROTATION_LOCK_CLASS})
        yield


def rotate_keys(database: Database, keyring: LocalKeyring, ledger: Ledger, actor: Actor,
                progress: Callable[[int, int], None] | None = None, batch: int = 2000) -> RotationReport:
    """Re-wrap every data key under a new key-encryption key while the service runs (B2), then drop
    every KEK no row references. One rotation at a time, in the process and across nodes."""
    with _one_rotation, _one_rotation_across_nodes(database):
        new_kek = keyring.add_kek()
        postgresql = database.is_postgresql
        rewrapped = 0
        with database.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(customer).where(
                customer.c.wrapped_data_key.is_not(None), customer.c.kek_id != new_kek)).scalar_one())
        while True:  # a pass in id order; another for rows a concurrent writer changed, until one finds none
            after: str | None = None
            passed = 0
            while True:
                with database.engine.begin() as conn:
                    count, after = _rewrap_page(conn, keyring, new_kek, after, batch, postgresql)
                passed += count
                if progress is not None and count:
                    progress(min(rewrapped + passed, total), total)
                if not count:
                    break
            rewrapped += passed
            if not passed:
                break
        with database.engine.connect() as conn:
            in_use = set(conn.execute(select(customer.c.kek_id).where(customer.c.kek_id.is_not(None)).distinct())
                         .scalars())
        retired = keyring.retire_keks(in_use | {new_kek})
        with ledger.unit_of_work() as work:
            work.log(LedgerAction(actor.name, actor.role, "rotate_keys", "keyring", new_kek,
                                  purpose="key rotation", detail={"rewrapped": rewrapped, "retired": retired}))
        return RotationReport(new_kek, rewrapped, retired)


__all__ = ["ROTATION_LOCK_CLASS", "RotationReport", "rotate_keys"]
