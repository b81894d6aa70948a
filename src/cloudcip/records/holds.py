"""Which records a preservation hold stands on (B1, B5).

A hold froze customers and accounts when it was placed (``legal_hold_subject``); it stands until it
is released. A customer held covers every account of that customer (those opened later too); an
account held covers its access history and its customer's record, since the record of a customer is
kept while any of its accounts must be. Overlapping holds each keep their own rows: releasing one
leaves the others standing. The retention purge and the administrator's purge ask these functions
inside their own transaction, so that a hold placed meanwhile wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Select, select

from cloudcip.records.schema import legal_hold, legal_hold_subject
from cloudcip.storage.idlist import any_of
from cloudcip.storage.schema import account

_CHUNK = 500


@dataclass(frozen=True)
class HeldSubjects:
    """The customers and accounts that standing holds name directly."""

    customers: frozenset[str]
    accounts: frozenset[str]

    def account_held(self, account_id: str, customer_id: str | None) -> bool:
        return account_id in self.accounts or (customer_id is not None and customer_id in self.customers)

    def customer_held(self, customer_id: str, account_ids: Iterable[str]) -> bool:
        return customer_id in self.customers or any(account_id in self.accounts for account_id in account_ids)


def _standing(subject_type: str) -> Select[tuple[str]]:
    return (select(legal_hold_subject.c.subject_id)
            .join(legal_hold, legal_hold.c.id == legal_hold_subject.c.hold_id)
            .where(legal_hold.c.released_at.is_(None), legal_hold_subject.c.subject_type == subject_type))


def held_subjects(conn: Connection) -> HeldSubjects:
    """Every customer and account a standing hold names (holds are few; their subjects fit in memory)."""
    customers = frozenset(str(v) for v in conn.execute(_standing("customer")).scalars())
    accounts = frozenset(str(v) for v in conn.execute(_standing("account")).scalars())
    return HeldSubjects(customers, accounts)


def holds_on_customer(conn: Connection, customer_id: str) -> list[str]:
    """The ids of the standing holds that cover ``customer_id`` (directly or through an account)."""
    account_ids = [str(a) for a in conn.execute(select(account.c.id).where(account.c.customer_id == customer_id))
                   .scalars()]
    return _holds_naming(conn, [customer_id], account_ids)


def holds_on_account(conn: Connection, account_id: str) -> list[str]:
    """The ids of the standing holds that cover ``account_id`` (directly or through its customer)."""
    owner = conn.execute(select(account.c.customer_id).where(account.c.id == account_id)).scalar_one_or_none()
    return _holds_naming(conn, [str(owner)] if owner is not None else [], [account_id])


def _holds_naming(conn: Connection, customer_ids: list[str], account_ids: list[str]) -> list[str]:
    found: set[str] = set()
    for subject_type, ids in (("customer", customer_ids), ("account", account_ids)):
        for start in range(0, len(ids), _CHUNK):
            found.update(str(v) for v in conn.execute(
                select(legal_hold.c.id).join(legal_hold_subject, legal_hold.c.id == legal_hold_subject.c.hold_id)
                .where(legal_hold.c.released_at.is_(None), legal_hold_subject.c.subject_type == subject_type,
                       any_of(legal_hold_subject.c.subject_id, ids[start:start + _CHUNK]))).scalars())
    return sorted(found)


def held_among(conn: Connection, customer_ids: Iterable[str], account_ids: Iterable[str]) -> HeldSubjects:
    """Which of the given customers and accounts standing holds name directly (chunked lookups)."""
    held: dict[str, set[str]] = {"customer": set(), "account": set()}
    for subject_type, ids in (("customer", sorted(set(customer_ids))), ("account", sorted(set(account_ids)))):
        for start in range(0, len(ids), _CHUNK):
            held[subject_type].update(str(v) for v in conn.execute(
                select(legal_hold_subject.c.subject_id)
                .join(legal_hold, legal_hold.c.id == legal_hold_subject.c.hold_id)
                .where(legal_hold.c.released_at.is_(None), legal_hold_subject.c.subject_type == subject_type,
                       any_of(legal_hold_subject.c.subject_id, ids[start:start + _CHUNK]))).scalars())
    return HeldSubjects(frozenset(held["customer"]), frozenset(held["account"]))


__all__ = ["HeldSubjects", "held_among", "held_subjects", "holds_on_account", "holds_on_customer"]
