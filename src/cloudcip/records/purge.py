"""The one purge of a customer record, for the administrator's purge and the retention run (B1, B2).

``shred_customers`` runs inside the caller's unit of work (which has checked holds and the retention
period): the customer row loses its wrapped data key, its key-encryption key id and every sealed
column; its contacts, identity documents and payment means are deleted; its beneficial owners and
evidence keep only what is no personal data (position, method, result, time); then every capability
that keeps something derived from the record forgets it through a ``Forget`` hook wired in
``runtime`` (screening hits and measure effects' basis, applications' sealed signup IP, one-time-code
rows and person determinations, outbox payloads, links and risk scores, the
sub-lessees of its Reseller Accounts).

``shred_files`` runs after the commit and makes the old wrapped key unreadable where it may still lie:

- SQLite: every connection runs with ``PRAGMA secure_delete=ON`` (freed cells and pages are
  overwritten with zeros), so the purge's own update zeroes the old bytes; a
  ``wal_checkpoint(TRUNCATE)`` then copies the log into the database and truncates the ``-wal`` file,
  so no earlier page image of the row survives in either file.
- PostgreSQL: an old row version stays in its page until VACUUM reclaims it, and VACUUM does not
  zero it; the WAL and any base backup keep it too. There the old wrapped key is made useless
  instead: every surviving data key is re-wrapped under a new key-encryption key (a new purge epoch)
  and the epoch's old key leaves the keyring (``rotate_keys``), so a wrapped key read from an old
  tuple, the WAL or a backup no longer unwraps (``docs/purge.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select, update

from cloudcip.crypto.keyring import LocalKeyring
from cloudcip.ledger.store import Ledger, LedgerAction, UnitOfWork
from cloudcip.records.roles import Actor
from cloudcip.storage.database import Database
from cloudcip.storage.idlist import any_of
from cloudcip.storage.schema import (
    account,
    beneficial_owner,
    contact,
    customer,
    evidence,
    identity_document,
    payment_means,
)

CHUNK = 500


@dataclass(frozen=True)
class PurgeScope:
    """What one purge reaches: the customers and the ids hanging under them."""

    customer_ids: tuple[str, ...]
    beneficial_owner_ids: tuple[str, ...]
    account_ids: tuple[str, ...]
    reseller_account_ids: tuple[str, ...]

    @property
    def subject_ids(self) -> tuple[str, ...]:
        """Every id a screening hit, a link or a payload may name for these customers."""
        return self.customer_ids + self.beneficial_owner_ids + self.account_ids


#: a capability's part of the purge: forget what it derived from the records of ``scope`` (inside the
#: purge's transaction); the number of rows it deleted or shredded
Forget = Callable[[Connection, PurgeScope], int]


def chunks(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[start:start + CHUNK]) for start in range(0, len(ids), CHUNK)]


def purge_scope(conn: Connection, customer_ids: Sequence[str]) -> PurgeScope:
    owners: list[str] = []
    accounts: list[str] = []
    resellers: list[str] = []
    for chunk in chunks(customer_ids):
        owners += [str(i) for i in conn.execute(select(beneficial_owner.c.id)
                                                .where(any_of(beneficial_owner.c.customer_id, chunk))).scalars()]
        for account_id, kind in conn.execute(select(account.c.id, account.c.type)
                                             .where(any_of(account.c.customer_id, chunk))):
            accounts.append(str(account_id))
            if kind == "reseller":
                resellers.append(str(account_id))
    return PurgeScope(tuple(customer_ids), tuple(owners), tuple(accounts), tuple(resellers))


def shred_customers(work: UnitOfWork, customer_ids: Sequence[str], actor: Actor, now: datetime, *,
                    purpose: str, legal_basis: str | None = None,
                    forget: Sequence[Forget] = ()) -> dict[str, int]:
    """Crypto-shred ``customer_ids`` and everything derived from them; one ledger entry each. The counts
    of what the ``forget`` hooks removed, by hook name."""
    conn = work.conn
    scope = purge_scope(conn, customer_ids)
    counts: dict[str, int] = {}
    for hook in forget:  # first: a hook may read rows this function deletes (a reseller's accounts)
        counts[getattr(hook, "__name__", "forget")] = hook(conn, scope)
    for chunk in chunks(scope.customer_ids):
        conn.execute(update(customer).where(any_of(customer.c.id, chunk)).values(
            status="purged", purged_at=now, updated_at=now, kek_id=None, wrapped_data_key=None,
            name_sealed=None, birth_date_sealed=None, address_sealed=None, registration_sealed=None,
            source_of_funds_sealed=None, person_basis=None))
        conn.execute(delete(contact).where(any_of(contact.c.customer_id, chunk)))
        conn.execute(delete(identity_document).where(any_of(identity_document.c.customer_id, chunk)))
        conn.execute(delete(payment_means).where(any_of(payment_means.c.customer_id, chunk)))
        conn.execute(update(evidence).where(any_of(evidence.c.customer_id, chunk))
                     .values(detail_sealed=None, vendor_reference=None))
        conn.execute(update(beneficial_owner).where(any_of(beneficial_owner.c.customer_id, chunk))
                     .values(name_sealed=None, birth_date_sealed=None, address_sealed=None,
                             person_basis=None))
    for customer_id in scope.customer_ids:
        work.log(LedgerAction(actor.name, actor.role, "purge", "customer", customer_id, purpose=purpose,
                              legal_basis=legal_basis, detail={"forgotten": counts} if counts else None))
    return counts


def shred_files(database: Database, keyring: LocalKeyring, ledger: Ledger, actor: Actor) -> str:
    """After a purge's commit: leave no readable copy of the old wrapped keys (see the module's text);
    what was done (``checkpoint`` or the new key-encryption key's id)."""
    if database.is_sqlite:
        with database.engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return "checkpoint"
    from cloudcip.records.rotation import rotate_keys

    return rotate_keys(database, keyring, ledger, actor).new_kek_id


__all__ = ["Forget", "PurgeScope", "chunks", "purge_scope", "shred_customers", "shred_files"]
