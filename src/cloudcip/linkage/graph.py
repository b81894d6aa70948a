"""Recording identifiers and keeping clusters (G1): incrementally as records arrive, or rebuilt.

- ``identifiers_of`` turns a customer record as submitted (with its signup IP and device id) into the
  identifiers of each subject: the customer and each beneficial owner;
- ``record`` stores them in the caller's transaction, merges the clusters the new subject's strong
  identifiers reach (the largest cluster keeps its id) and matches its new e-mail and wallet tokens
  against the peers' indicators already stored (``sharing.ingest.match_new_subject``, G3);
- ``backfill`` adds the identifiers of records stored before linkage existed: the blind indexes the
  customer store keeps (no plaintext), and the normalised e-mail, which needs the sealed address
  opened once under the customer's key;
- ``rebuild_clusters`` recomputes every cluster from the stored strong identifiers (union-find).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from cloudcip import clock
from cloudcip.crypto.blind_index import blind_index
from cloudcip.crypto.envelope import FieldSealer, WrappedDataKey, unwrap_data_key
from cloudcip.crypto.keyring import Keyring
from cloudcip.domain.customer import (
    BankAccount,
    Card,
    CryptoWallet,
    CustomerRecord,
    EntityCustomer,
    IndividualCustomer,
)
from cloudcip.linkage.identifiers import (
    STRONG_KINDS,
    Identifier,
    card_identifier,
    device_identifier,
    email_identifier,
    signup_ip_identifiers,
    stored_identifier,
)
from cloudcip.linkage.schema import link_cluster, link_identifier
from cloudcip.records.masking import card_display, mask_tail
from cloudcip.resellers.schema import sub_lessee
from cloudcip.sharing.ingest import match_new_subject
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.database import Database
from cloudcip.storage.prepared import Prepared
from cloudcip.storage.schema import account, beneficial_owner, contact, customer, identity_document, payment_means

Subject = tuple[str, str]  # (subject_type, subject_id)
PAYMENT_KINDS = {"card": "card", "bank_account": "bank_account", "crypto_wallet": "wallet"}

# the statements of every signup, built once and run on the driver (``storage.prepared``)
_EXISTING = Prepared(select(link_identifier.c.kind, link_identifier.c.token).where(
    link_identifier.c.subject_type == bindparam("subject_type"),
    link_identifier.c.subject_id == bindparam("subject_id")))
# the clusters of the holders of some tokens, with the kind each is held as: the strong kinds are kept
# by the caller, since ``kind IN (...)`` in the statement makes SQLite seek the (token, kind) index once
# per token and kind (7 strong kinds: 7 seeks a token instead of one)
_REACHED = Prepared(
    select(link_identifier.c.kind, link_cluster.c.cluster_id).distinct()
    .select_from(link_identifier.join(link_cluster, (link_cluster.c.subject_type == link_identifier.c.subject_type)
                                      & (link_cluster.c.subject_id == link_identifier.c.subject_id)))
    .where(link_identifier.c.token.in_(bindparam("tokens", expanding=True))))
_OWN = Prepared(select(link_cluster.c.cluster_id).where(link_cluster.c.subject_type == bindparam("subject_type"),
                                                        link_cluster.c.subject_id == bindparam("subject_id")))
_SIZES = Prepared(select(link_cluster.c.cluster_id, func.count())
                  .where(link_cluster.c.cluster_id.in_(bindparam("ids", expanding=True)))
                  .group_by(link_cluster.c.cluster_id))
_OWNERS = Prepared(select(beneficial_owner.c.id, beneficial_owner.c.position)
                   .where(beneficial_owner.c.customer_id == bindparam("customer_id")))


def identifiers_of(key: bytes, record: CustomerRecord, *, signup_ip: str | None = None,
                   device_id: str | None = None, asn: int | None = None,
                   hosting: bool = False) -> dict[str, list[Identifier]]:
    """The identifiers of a record as submitted, by subject: ``customer`` and ``beneficial_owner:<n>``."""
    found: list[Identifier] = [email_identifier(key, record.email)] if record.email else []
    if record.phone:
        found.append(stored_identifier("phone", blind_index(key, "phone", record.phone), mask_tail(record.phone)))
    # a pydantic model's getattr of a field it lacks raises inside: the type asked first
    national_id = record.national_id if isinstance(record, IndividualCustomer) else None
    if national_id is not None:
        found.append(stored_identifier("national_id", blind_index(key, "national_id", national_id.number,
                                                                  scope=national_id.country),
                                       f"{national_id.country} {mask_tail(national_id.number)}"))
    for means in record.payment_means:
        if isinstance(means, Card):
            digits = means.number if means.number.isdigit() else "".join(ch for ch in means.number if ch.isdigit())
            found.append(card_identifier(key, digits, card_display(digits)))
        elif isinstance(means, BankAccount):
            number = means.iban or means.number or ""
            found.append(stored_identifier("bank_account", blind_index(key, "iban", number), mask_tail(number)))
        elif isinstance(means, CryptoWallet):
            found.append(stored_identifier("wallet", blind_index(key, "wallet", means.address),
                                           mask_tail(means.address)))
    if device_id:
        found.append(device_identifier(key, device_id))
    if signup_ip:
        found += signup_ip_identifiers(key, signup_ip, asn=asn, hosting=hosting)
    subjects: dict[str, list[Identifier]] = {"customer": found}
    for position, owner in enumerate(record.beneficial_owners if isinstance(record, EntityCustomer) else ()):
        if owner.national_id is not None:
            subjects[f"beneficial_owner:{position}"] = [stored_identifier(
                "national_id", blind_index(key, "national_id", owner.national_id.number,
                                           scope=owner.national_id.country),
                f"{owner.national_id.country} {mask_tail(owner.national_id.number)}")]
    return subjects


def sub_lessee_identifiers(key: bytes, email: str | None, documents: Sequence[dict[str, str]],
                           wallet: str | None = None) -> list[Identifier]:
    """A sub-lessee's identifiers: its normalised e-mail, each document (by issuing country) and its
    crypto wallet (the blind index a customer's wallet has)."""
    found = [email_identifier(key, email)] if email else []
    if wallet:
        found.append(stored_identifier("wallet", blind_index(key, "wallet", wallet), mask_tail(wallet)))
    for document in documents:
        found.append(stored_identifier("national_id", blind_index(key, "national_id", document["number"],
                                                                  scope=document["country"]),
                                       f"{document['country']} {mask_tail(document['number'])}"))
    return found


def _fresh(identifiers: Iterable[Identifier], existing: set[tuple[str, str]]) -> list[Identifier]:
    """``identifiers`` less repeats and those already stored (``existing``: (kind, token))."""
    return [item for item in {(i.kind, i.token): i for i in identifiers}.values()
            if (item.kind, item.token) not in existing]


def _rows(subject: Subject, customer_id: str, identifiers: Iterable[Identifier], now: datetime) -> list[dict[str, Any]]:
    """The ``link_identifier`` rows of ``subject``'s ``identifiers``."""
    return [{"subject_type": subject[0], "subject_id": subject[1], "customer_id": customer_id, "kind": item.kind,
             "token": item.token, "display": item.display[:80], "created_at": now} for item in identifiers]


@dataclass
class LinkGraph:
    """Writes the graph: identifiers and clusters."""

    database: Database
    keyring: Keyring
    now: Callable[[], datetime] = clock.now

    @property
    def key(self) -> bytes:
        return self.keyring.blind_index_key()

    def record(self, conn: Connection, subject: Subject, customer_id: str, identifiers: Sequence[Identifier], *,
               new: bool = False) -> str:
        """Store ``subject``'s identifiers and merge the clusters its strong ones reach; its cluster id.
        ``new``: the subject was created in this transaction (a signup), so it holds no identifier and
        no cluster yet and neither is looked up."""
        now = self.now()
        existing: set[tuple[str, str]] = set() if new else set(_EXISTING.all(
            conn, {"subject_type": subject[0], "subject_id": subject[1]}))
        fresh = _fresh(identifiers, existing)
        insert_rows(conn, link_identifier, _rows(subject, customer_id, fresh, now))
        return self._join(conn, subject, customer_id, identifiers, fresh, now, new=new)

    def _join(self, conn: Connection, subject: Subject, customer_id: str, identifiers: Sequence[Identifier],
              fresh: Sequence[Identifier], now: datetime, *, new: bool) -> str:
        """The rest of ``record`` once ``fresh`` (its identifiers not stored before) are: the peers'
        indicators matched, the clusters its strong identifiers reach merged; its cluster id."""
        # G3: an identifier new to the graph is matched against the peers' indicators already stored
        match_new_subject(conn, subject[0], subject[1], [(item.kind, item.token) for item in fresh], now)
        strong = [item.token for item in identifiers if item.kind in STRONG_KINDS]
        reached: set[str] = {cid for kind, cid in _REACHED.all(conn, {"tokens": strong})
                             if kind in STRONG_KINDS} if strong else set()
        own = None if new else _OWN.first(conn, {"subject_type": subject[0], "subject_id": subject[1]})
        if own is not None:
            reached.add(str(own[0]))
        if not reached:
            cluster_id = str(uuid.uuid4())
        else:
            sizes: dict[str, int] = dict(_SIZES.all(conn, {"ids": sorted(reached)}))
            cluster_id = max(reached, key=lambda cid: (sizes.get(cid, 0), cid))
            others = reached - {cluster_id}
            if others:
                conn.execute(update(link_cluster).where(link_cluster.c.cluster_id.in_(others))
                             .values(cluster_id=cluster_id, updated_at=now))
        if own is None:
            insert_rows(conn, link_cluster, [{"subject_type": subject[0], "subject_id": subject[1],
                                              "customer_id": customer_id, "cluster_id": cluster_id,
                                              "updated_at": now}])
        elif own[0] != cluster_id:
            conn.execute(update(link_cluster).where(link_cluster.c.subject_type == subject[0],
                                                    link_cluster.c.subject_id == subject[1])
                         .values(cluster_id=cluster_id, updated_at=now))
        return cluster_id

    def record_customer(self, conn: Connection, customer_id: str, record: CustomerRecord, *,
                        signup_ip: str | None = None, device_id: str | None = None, asn: int | None = None,
                        hosting: bool = False, by_subject: dict[str, list[Identifier]] | None = None,
                        owners: Mapping[str, str] | None = None) -> str:
        """A customer (and its beneficial owners) created in the caller's transaction into the graph;
        the customer's cluster id. ``by_subject``: its identifiers when the caller has them already
        (``identifiers_of``); ``owners``: its beneficial owners' ids by subject (``beneficial_owner:<n>``),
        when the caller has them.

        The identifiers of all its subjects go in with one insert (customer first, then each owner, the
        order ``record`` one subject after another gives them); each subject then joins its cluster in
        that order, as ``record`` does: a subject's identifier rows without its cluster row yet are
        reached by no one, so the clusters are those of one subject after another."""
        if by_subject is None:
            by_subject = identifiers_of(self.key, record, signup_ip=signup_ip, device_id=device_id, asn=asn,
                                        hosting=hosting)
        if owners is None:
            owners = {f"beneficial_owner:{position}": str(owner_id) for owner_id, position in _OWNERS.all(
                conn, {"customer_id": customer_id})} if len(by_subject) > 1 else {}
        subjects: list[tuple[Subject, list[Identifier]]] = [(("customer", customer_id), by_subject["customer"])]
        subjects += [(("beneficial_owner", owners[name]), found) for name, found in by_subject.items()
                     if name != "customer" and name in owners]
        now = self.now()
        fresh = [_fresh(found, set()) for _, found in subjects]
        insert_rows(conn, link_identifier, [row for (subject, _), items in zip(subjects, fresh, strict=True)
                                            for row in _rows(subject, customer_id, items, now)])
        clusters = [self._join(conn, subject, customer_id, found, items, now, new=True)
                    for (subject, found), items in zip(subjects, fresh, strict=True)]
        return clusters[0]

    # -- records stored before linkage ------------------------------------------------------------
    def stored_identifiers(self, conn: Connection, customer_ids: Sequence[str]) -> dict[Subject, tuple[str, list[
            Identifier]]]:
        """The identifiers of stored customers: their blind indexes, and the normalised e-mail (opened)."""
        found: dict[Subject, tuple[str, list[Identifier]]] = {
            ("customer", cid): (cid, []) for cid in customer_ids}
        for row in conn.execute(select(payment_means.c.customer_id, payment_means.c.type, payment_means.c.number_index,
                                       payment_means.c.display)
                                .where(payment_means.c.customer_id.in_(customer_ids),
                                       payment_means.c.number_index.is_not(None))):
            kind = PAYMENT_KINDS.get(row.type)
            if kind:
                found[("customer", row.customer_id)][1].append(stored_identifier(kind, row.number_index, row.display))
        for doc in conn.execute(select(identity_document.c.customer_id, identity_document.c.beneficial_owner_id,
                                       identity_document.c.kind, identity_document.c.country,
                                       identity_document.c.number_index)
                                .where(identity_document.c.customer_id.in_(customer_ids),
                                       identity_document.c.kind != "registration",
                                       identity_document.c.number_index.is_not(None))):
            subject: Subject = ("beneficial_owner", doc.beneficial_owner_id) if doc.beneficial_owner_id else (
                "customer", doc.customer_id)
            found.setdefault(subject, (doc.customer_id, []))[1].append(
                stored_identifier("national_id", doc.number_index, f"{doc.country} document"))
        keys = {row.id: row for row in conn.execute(
            select(customer.c.id, customer.c.kek_id, customer.c.wrapped_data_key, customer.c.status)
            .where(customer.c.id.in_(customer_ids)))}
        for item in conn.execute(select(contact.c.id, contact.c.customer_id, contact.c.kind, contact.c.value_index,
                                       contact.c.value_sealed).where(contact.c.customer_id.in_(customer_ids))):
            if item.kind == "phone":
                found[("customer", item.customer_id)][1].append(stored_identifier("phone", item.value_index, "phone"))
                continue
            owner = keys.get(item.customer_id)
            if owner is None or owner.status == "purged" or owner.wrapped_data_key is None:
                continue
            sealer = FieldSealer(unwrap_data_key(self.keyring, item.customer_id,
                                                 WrappedDataKey(owner.kek_id, bytes(owner.wrapped_data_key))))
            address = sealer.open(bytes(item.value_sealed), table="contact", column="value", row_id=item.id)
            found[("customer", item.customer_id)][1].append(email_identifier(self.key, address))
        return found

    def backfill(self, batch: int = 1000, progress: Callable[[int], None] | None = None) -> int:
        """Identifiers of every stored customer not yet in the graph; how many customers were added."""
        added = 0
        after = ""
        while True:
            with self.database.engine.connect() as conn:
                ids = [str(cid) for cid in conn.execute(
                    select(customer.c.id).where(customer.c.id > after, customer.c.status != "purged")
                    .order_by(customer.c.id).limit(batch)).scalars()]
                if not ids:
                    return added
                known = set(conn.execute(select(link_cluster.c.subject_id).where(
                    link_cluster.c.subject_type == "customer", link_cluster.c.subject_id.in_(ids))).scalars())
                todo = [cid for cid in ids if cid not in known]
                found = self.stored_identifiers(conn, todo) if todo else {}
            if found:
                with self.database.write_gate(), self.database.engine.begin() as conn:
                    for subject, (customer_id, identifiers) in found.items():
                        self.record(conn, subject, customer_id, identifiers)
            added += len(todo)
            after = ids[-1]
            if progress is not None:
                progress(len(ids))

    def backfill_sub_lessees(self, batch: int = 1000) -> int:
        """Identifiers of sub-lessees not yet in the graph (e-mail and documents, opened under the
        reseller's customer key); how many were added. The subject's customer is the reseller's."""
        added = 0
        after = ""
        while True:
            with self.database.engine.connect() as conn:
                rows = conn.execute(
                    select(sub_lessee.c.id, sub_lessee.c.email_sealed, sub_lessee.c.documents_sealed,
                           sub_lessee.c.wallet_sealed,
                           account.c.customer_id, customer.c.kek_id, customer.c.wrapped_data_key, customer.c.status)
                    .join(account, account.c.id == sub_lessee.c.reseller_account_id)
                    .join(customer, customer.c.id == account.c.customer_id)
                    .where(sub_lessee.c.id > after).order_by(sub_lessee.c.id).limit(batch)).all()
                if not rows:
                    return added
                known = set(conn.execute(select(link_cluster.c.subject_id).where(
                    link_cluster.c.subject_type == "sub_lessee",
                    link_cluster.c.subject_id.in_([row.id for row in rows]))).scalars())
            found: list[tuple[Subject, str, list[Identifier]]] = []
            sealers: dict[str, FieldSealer] = {}
            for row in rows:
                if row.id in known or row.status == "purged" or row.wrapped_data_key is None:
                    continue
                sealer = sealers.get(row.customer_id) or FieldSealer(unwrap_data_key(
                    self.keyring, row.customer_id, WrappedDataKey(row.kek_id, bytes(row.wrapped_data_key))))
                sealers[row.customer_id] = sealer
                email = sealer.open(bytes(row.email_sealed), table="sub_lessee", column="email",
                                    row_id=row.id) if row.email_sealed is not None else None
                documents = json.loads(sealer.open(bytes(row.documents_sealed), table="sub_lessee",
                                                   column="documents", row_id=row.id)) \
                    if row.documents_sealed is not None else []
                wallet = json.loads(sealer.open(bytes(row.wallet_sealed), table="sub_lessee", column="wallet",
                                                row_id=row.id))["address"] if row.wallet_sealed is not None else None
                found.append((("sub_lessee", row.id), row.customer_id,
                              sub_lessee_identifiers(self.key, email, documents, wallet)))
            if found:
                with self.database.write_gate(), self.database.engine.begin() as conn:
                    for subject, customer_id, identifiers in found:
                        self.record(conn, subject, customer_id, identifiers)
            added += len(found)
            after = rows[-1].id

    def rebuild_clusters(self) -> dict[str, int]:
        """Every cluster recomputed from the stored strong identifiers (union-find); counts."""
        parent: dict[Subject, Subject] = {}

        def find(item: Subject) -> Subject:
            root = item
            while parent[root] != root:
                root = parent[root]
            while parent[item] != root:
                parent[item], item = root, parent[item]
            return root

        owners: dict[Subject, str] = {}
        first_of_token: dict[tuple[str, str], Subject] = {}
        with self.database.engine.connect() as conn:
            rows = conn.execution_options(yield_per=50_000).execute(
                select(link_identifier.c.subject_type, link_identifier.c.subject_id, link_identifier.c.customer_id,
                       link_identifier.c.kind, link_identifier.c.token))
            for subject_type, subject_id, customer_id, kind, token in rows:
                subject = (subject_type, subject_id)
                if subject not in parent:
                    parent[subject] = subject
                    owners[subject] = customer_id
                if kind not in STRONG_KINDS:
                    continue
                other = first_of_token.setdefault((kind, token), subject)
                if other != subject:
                    a, b = find(subject), find(other)
                    if a != b:
                        parent[a] = b
        members: dict[Subject, list[Subject]] = defaultdict(list)
        for subject in parent:
            members[find(subject)].append(subject)
        now = self.now()
        with self.database.write_gate(), self.database.engine.begin() as conn:
            conn.execute(delete(link_cluster))
            rows_out: list[dict[str, Any]] = []
            for group in members.values():
                cluster_id = str(uuid.uuid4())
                rows_out += [{"subject_type": s[0], "subject_id": s[1], "customer_id": owners[s],
                              "cluster_id": cluster_id, "updated_at": now} for s in group]
                if len(rows_out) >= 50_000:
                    insert_rows(conn, link_cluster, rows_out)
                    rows_out = []
            insert_rows(conn, link_cluster, rows_out)
        return {"subjects": len(parent), "clusters": len(members),
                "largest": max((len(g) for g in members.values()), default=0)}


def chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
