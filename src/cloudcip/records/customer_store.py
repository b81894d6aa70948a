"""Storing, reading, finding and purging customer records, sealed field by field (A3, B2, B3, B4).

Every sensitive value is sealed with the customer's own data key, bound to its table, column and
row; exact lookups go through keyed blind indexes; every access is a ledger entry in the same
transaction; purging destroys the data key (crypto-shredding).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from cloudcip import clock as clocks
from cloudcip.clock import Clock
from cloudcip.crypto.blind_index import IndexedKind, blind_index
from cloudcip.crypto.envelope import FieldSealer, WrappedDataKey, new_data_key, unwrap_data_key
from cloudcip.crypto.keyring import Keyring, LocalKeyring
from cloudcip.domain.customer import (
    BeneficialOwnerInput,
    CustomerRecord,
    IndividualCustomer,
    NationalId,
)
from cloudcip.errors import Gone, NotFound
from cloudcip.ledger.store import Ledger, LedgerAction, UnitOfWork
from cloudcip.records.customer_rows import Sealing, document_row, owner_rows, payment_row, source_of_funds_sealed
from cloudcip.records.holds import holds_on_customer
from cloudcip.records.masking import MASK, mask_email, mask_tail
from cloudcip.records.purge import Forget, shred_customers, shred_files
from cloudcip.records.roles import BREAK_GLASS_HEADER, AccessRefused, Actor, check, may
from cloudcip.storage.bulk import insert_rows
from cloudcip.storage.database import Database
from cloudcip.storage.schema import (
    beneficial_owner,
    contact,
    customer,
    evidence,
    identity_document,
    payment_means,
)


class CustomerNotFound(NotFound, LookupError):
    """No customer with that id (404; the detail does not repeat the id)."""

    def __init__(self, customer_id: str = "") -> None:
        super().__init__("no such customer")
        self.customer_id = customer_id


class CustomerPurged(Gone, LookupError):
    """The customer's record was purged: its data key is destroyed (410)."""

    def __init__(self, customer_id: str = "") -> None:
        super().__init__("this customer record was purged")
        self.customer_id = customer_id


@dataclass(frozen=True)
class CustomerRows:
    """New customers' ids and their rows by table, sealed and ready to insert (``CustomerStore.prepare``)."""

    ids: list[str]
    rows: dict[str, list[dict[str, Any]]]


@dataclass
class CustomerStore:
    """The customer records of one database, under one keyring and one ledger."""

    database: Database
    keyring: Keyring
    ledger: Ledger
    clock: Clock = clocks.now
    #: B1: called inside a purge's transaction with (connection, customer id, legal basis, now); raises
    #: to refuse a purge before the retention period ends without a legal basis (records.retention)
    purge_guard: Callable[[Connection, str, str | None, datetime], None] | None = None
    #: B1, B2: what each capability forgets of a purged record (wired in ``runtime``; ``records.purge``)
    forget: Sequence[Forget] = ()
    #: B4: what else a break-glass read sets off, inside the read's transaction (wired in ``runtime``: a
    #: webhook notice and a metric), so that breaking the glass is loud and not only a ledger entry
    on_break_glass: Callable[[Connection, Actor, str], None] | None = None

    # -- create --------------------------------------------------------------------------------
    def create(self, records: Sequence[CustomerRecord], actor: Actor, purpose: str | None = None) -> list[str]:
        """Store ``records`` in one transaction (one insert per table for the whole batch); their ids."""
        if not may(actor.role, "customer:create"):
            raise AccessRefused(f"role {actor.role} may not create customer records")
        with self.ledger.unit_of_work() as work:
            return self.create_in(work, records, actor, purpose)

    def create_in(self, work: UnitOfWork, records: Sequence[CustomerRecord], actor: Actor,
                  purpose: str | None = None, *, sealers: dict[str, FieldSealer] | None = None) -> list[str]:
        """Store records inside an open unit of work (the signup workflow uses this too).

        ``sealers``, when given, receives each new customer's field sealer, so a caller that seals
        more of the customer's fields in the same transaction need not unwrap the data key again.
        """
        return self.insert_prepared(work, self.prepare(records, sealers=sealers), actor, purpose)

    def prepare(self, records: Sequence[CustomerRecord], *,
                sealers: dict[str, FieldSealer] | None = None) -> CustomerRows:
        """The records' rows, every field sealed and indexed, before any transaction: a caller that
        holds the one writer (``storage.database.WriteGate``) only inserts them (``insert_prepared``)."""
        now = self.clock()
        rows: dict[str, list[dict[str, Any]]] = {
            "customer": [], "beneficial_owner": [], "identity_document": [], "payment_means": [], "contact": []
        }
        ids = [self._rows_for(record, now, rows, sealers) for record in records]
        return CustomerRows(ids, rows)

    def insert_prepared(self, work: UnitOfWork, prepared: CustomerRows, actor: Actor,
                        purpose: str | None = None) -> list[str]:
        """Insert prepared rows (one insert per table for the whole batch) and log each creation."""
        for table in (customer, beneficial_owner, identity_document, payment_means, contact):
            insert_rows(work.conn, table, prepared.rows[table.name])
        for customer_id in prepared.ids:
            work.log(LedgerAction(actor.name, actor.role, "create", "customer", customer_id, purpose=purpose))
        return list(prepared.ids)

    def _rows_for(self, record: CustomerRecord, now: datetime, rows: dict[str, list[dict[str, Any]]],
                  sealers: dict[str, FieldSealer] | None = None) -> str:
        customer_id = str(uuid.uuid4())
        data_key, wrapped = new_data_key(self.keyring, customer_id)
        seal = Sealing(FieldSealer(data_key), self.keyring.blind_index_key())
        if sealers is not None:
            sealers[customer_id] = seal.sealer
        base: dict[str, Any] = {
            "id": customer_id,
            "kind": record.kind,
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "purged_at": None,
            "kek_id": wrapped.kek_id,
            "wrapped_data_key": wrapped.wrapped,
            "nationality": None,
            "residence_country": record.address.country,
            "name_sealed": None,
            "birth_date_sealed": None,
            "address_sealed": seal.seal(record.address.model_dump_json(exclude_none=True), "customer", "address",
                                        customer_id),
            "registration_sealed": None,
            "source_of_funds_sealed": source_of_funds_sealed(seal, record, customer_id),
        }
        if isinstance(record, IndividualCustomer):
            base["nationality"] = record.nationality
            base["name_sealed"] = seal.seal(record.name.model_dump_json(exclude_none=True), "customer", "name",
                                            customer_id)
            base["birth_date_sealed"] = seal.seal(record.birth_date.isoformat(), "customer", "birth_date",
                                                  customer_id)
            documents = ([record.national_id] if record.national_id else []) + list(record.documents)
            for document in documents:
                rows["identity_document"].append(document_row(seal, customer_id, None, document))
        else:
            base["nationality"] = record.registration.country
            base["name_sealed"] = seal.seal(json.dumps({"legal_name": record.legal_name}), "customer", "name",
                                            customer_id)
            base["registration_sealed"] = seal.seal(record.registration.model_dump_json(exclude_none=True),
                                                    "customer", "registration", customer_id)
            rows["identity_document"].append(
                document_row(seal, customer_id, None, NationalId(
                    country=record.registration.country, number=record.registration.number, kind="other"),
                    kind="registration")
            )
            for position, owner in enumerate(record.beneficial_owners):
                owner_row, owner_docs = owner_rows(seal, customer_id, position, owner, now)
                rows["beneficial_owner"].append(owner_row)
                rows["identity_document"].extend(owner_docs)
        rows["customer"].append(base)
        for kind, value in (("email", record.email), ("phone", record.phone)):
            contact_id = str(uuid.uuid4())
            rows["contact"].append({
                "id": contact_id, "customer_id": customer_id, "kind": kind,
                "value_sealed": seal.seal(value, "contact", "value", contact_id),
                "value_index": seal.index("email" if kind == "email" else "phone", value),
                "verification_state": "unverified", "verified_at": None,
            })
        for means in record.payment_means:
            rows["payment_means"].append(payment_row(seal, customer_id, means))
        return customer_id

    def sealer_in(self, conn: Connection, customer_id: str) -> FieldSealer:
        """The sealer of a stored customer's fields (its data key unwrapped); ``CustomerNotFound``, or
        ``CustomerPurged`` once the record was crypto-shredded."""
        row = conn.execute(select(customer.c.kek_id, customer.c.wrapped_data_key, customer.c.status)
                           .where(customer.c.id == customer_id)).first()
        if row is None:
            raise CustomerNotFound(customer_id)
        if row.status == "purged" or row.wrapped_data_key is None:
            raise CustomerPurged(customer_id)
        key = unwrap_data_key(self.keyring, customer_id, WrappedDataKey(row.kek_id, bytes(row.wrapped_data_key)))
        return FieldSealer(key)

    def sealers_in(self, conn: Connection, customer_ids: Sequence[str]) -> dict[str, FieldSealer]:
        """The sealers of the live customers among ``customer_ids`` (one query; purged or unknown ones
        are absent)."""
        rows = conn.execute(select(customer.c.id, customer.c.kek_id, customer.c.wrapped_data_key, customer.c.status)
                            .where(customer.c.id.in_(list(customer_ids))))
        return {row.id: FieldSealer(unwrap_data_key(self.keyring, row.id,
                                                    WrappedDataKey(row.kek_id, bytes(row.wrapped_data_key))))
                for row in rows if row.status != "purged" and row.wrapped_data_key is not None}

    def names_in(self, conn: Connection, customer_ids: Sequence[str]) -> dict[str, str]:
        """The names of the live customers among ``customer_ids`` (an entity's legal name, a person's
        name parts joined), with one query per 500 and only the name opened (H1: the certification's
        list of foreign resellers). The caller logs the access."""
        names: dict[str, str] = {}
        ids = list(customer_ids)
        for start in range(0, len(ids), 500):
            for row in conn.execute(select(customer.c.id, customer.c.kek_id, customer.c.wrapped_data_key,
                                           customer.c.status, customer.c.name_sealed)
                                    .where(customer.c.id.in_(ids[start:start + 500]))):
                if row.status == "purged" or row.wrapped_data_key is None or row.name_sealed is None:
                    continue
                sealer = FieldSealer(unwrap_data_key(self.keyring, row.id,
                                                     WrappedDataKey(row.kek_id, bytes(row.wrapped_data_key))))
                name = json.loads(sealer.open(bytes(row.name_sealed), table="customer", column="name", row_id=row.id))
                names[row.id] = name.get("legal_name") or " ".join(
                    part for part in name.values() if isinstance(part, str))
        return names

    def add_beneficial_owner(self, work: UnitOfWork, customer_id: str, owner: BeneficialOwnerInput,
                             actor: Actor) -> tuple[str, int]:
        """A7: a beneficial owner the customer notifies, sealed under the customer's key; (id, position)."""
        conn = work.conn
        seal = Sealing(self.sealer_in(conn, customer_id), self.keyring.blind_index_key())
        position = int(conn.execute(select(func.count()).select_from(beneficial_owner)
                                    .where(beneficial_owner.c.customer_id == customer_id)).scalar_one())
        owner_row, documents = owner_rows(seal, customer_id, position, owner, self.clock())
        conn.execute(insert(beneficial_owner), [owner_row])
        if documents:
            conn.execute(insert(identity_document), documents)
        conn.execute(update(customer).where(customer.c.id == customer_id).values(updated_at=self.clock()))
        work.log(LedgerAction(actor.name, actor.role, "update", "customer", customer_id,
                              purpose="beneficial owner added", detail={"beneficial_owner": owner_row["id"]}))
        return str(owner_row["id"]), position

    # -- read ----------------------------------------------------------------------------------
    def read(
        self,
        customer_id: str,
        actor: Actor,
        *,
        purpose: str | None = None,
        unmask: bool = False,
        legal_basis: str | None = None,
        break_glass: str | None = None,
    ) -> dict[str, Any]:
        """The record as ``actor`` may see it; the read goes on the ledger with its purpose."""
        action = "read"
        if break_glass:
            check(actor, "break_glass")
            unmask, action, purpose = True, "break_glass_read", break_glass
        elif may(actor.role, "break_glass") and not may(actor.role, "customer:read"):
            raise AccessRefused(f"role {actor.role} reads records only by breaking the glass ({BREAK_GLASS_HEADER})")
        elif unmask:
            if not may(actor.role, "customer:unmask"):
                raise AccessRefused(f"role {actor.role} may not unmask customer records")
            check(actor, "customer:unmask", purpose=purpose, legal_basis=legal_basis)
            action = "read_unmasked"
        else:
            check(actor, "customer:read", purpose=purpose, legal_basis=legal_basis)
        with self.ledger.unit_of_work() as work:
            if legal_basis or actor.role == "legal":
                from cloudcip.records.legal_process import LegalRead, check_legal_read

                # B4: the basis names a registered, open legal process whose scope covers the customer
                check_legal_read(work.conn, legal_basis, LegalRead(customer_id=customer_id))
            view = self._load(work.conn, customer_id, unmask)
            work.log(LedgerAction(actor.name, actor.role, action, "customer", customer_id,
                                  purpose=purpose, legal_basis=legal_basis))
            if break_glass and self.on_break_glass is not None:
                self.on_break_glass(work.conn, actor, customer_id)
        return view

    def record_in(self, conn: Connection, customer_id: str, *, unmask: bool) -> dict[str, Any]:
        """The record, masked or not, inside a transaction (the caller logs the access)."""
        return self._load(conn, customer_id, unmask)

    def open_record(self, conn: Connection, customer_id: str) -> dict[str, Any]:
        """The unmasked record for internal use inside a transaction (the caller logs the access)."""
        return self._load(conn, customer_id, unmask=True)

    def records_in(self, conn: Connection, customer_ids: Sequence[str], *, unmask: bool) -> dict[str, dict[str, Any]]:
        """The records of ``customer_ids``, masked or not, read with one query per table (B5: a
        production reads a thousand records at once); a purged or unknown customer's is only its id and
        status (``purged``, ``unknown``). The caller logs the access."""
        ids = list(customer_ids)
        rows = {row.id: row for row in conn.execute(select(customer).where(customer.c.id.in_(ids)))}

        def grouped(table: Any, *order: Any) -> dict[str, list[Any]]:
            found: dict[str, list[Any]] = {}
            for item in conn.execute(select(table).where(table.c.customer_id.in_(ids)).order_by(*order)):
                found.setdefault(item.customer_id, []).append(item)
            return found

        owners = grouped(beneficial_owner, beneficial_owner.c.customer_id, beneficial_owner.c.position)
        documents = grouped(identity_document)
        contacts = grouped(contact)
        means = grouped(payment_means)
        evidence_rows = grouped(evidence)
        views: dict[str, dict[str, Any]] = {}
        for customer_id in ids:
            row = rows.get(customer_id)
            if row is None or row.status == "purged" or row.wrapped_data_key is None:
                views[customer_id] = {"id": customer_id, "status": "unknown" if row is None else "purged"}
                continue
            views[customer_id] = self._view(row, owners.get(customer_id, []), documents.get(customer_id, []),
                                            contacts.get(customer_id, []), means.get(customer_id, []),
                                            evidence_rows.get(customer_id, []), unmask)
        return views

    def _load(self, conn: Connection, customer_id: str, unmask: bool) -> dict[str, Any]:
        row = conn.execute(select(customer).where(customer.c.id == customer_id)).first()
        if row is None:
            raise CustomerNotFound(customer_id)
        if row.status == "purged" or row.wrapped_data_key is None:
            raise CustomerPurged(customer_id)
        owners = list(conn.execute(select(beneficial_owner).where(beneficial_owner.c.customer_id == customer_id)
                                   .order_by(beneficial_owner.c.position))) if row.kind != "individual" else []
        documents = list(conn.execute(select(identity_document).where(identity_document.c.customer_id == customer_id)))
        contacts = list(conn.execute(select(contact).where(contact.c.customer_id == customer_id)))
        means = list(conn.execute(select(payment_means).where(payment_means.c.customer_id == customer_id)))
        evidence_rows = list(conn.execute(select(evidence).where(evidence.c.customer_id == customer_id)))
        return self._view(row, owners, documents, contacts, means, evidence_rows, unmask)

    def _view(self, row: Any, owner_rows: Sequence[Any], document_rows: Sequence[Any], contact_rows: Sequence[Any],
              means_rows: Sequence[Any], evidence_rows: Sequence[Any], unmask: bool) -> dict[str, Any]:
        """The record of a stored, live customer from its rows, masked or not."""
        customer_id = row.id
        data_key = unwrap_data_key(self.keyring, customer_id, WrappedDataKey(row.kek_id, bytes(row.wrapped_data_key)))
        sealer = FieldSealer(data_key)

        def opened(value: bytes | None, table: str, column: str, row_id: str) -> str | None:
            if value is None:
                return None
            return sealer.open(bytes(value), table=table, column=column, row_id=row_id)

        def masked(text: str | None, how: Callable[[str], str] = mask_tail) -> str | None:
            if text is None:
                return None
            return text if unmask else how(text)

        name = json.loads(opened(row.name_sealed, "customer", "name", customer_id) or "{}")
        address = json.loads(opened(row.address_sealed, "customer", "address", customer_id) or "{}")
        funds = json.loads(opened(row.source_of_funds_sealed, "customer", "source_of_funds", customer_id) or "{}")
        if not unmask:  # the kinds are no secret; who and what in the customer's words are
            funds = {key: {k: v for k, v in value.items() if k != "description"} for key, value in funds.items()}
        if not unmask:
            for key in ("line1", "line2", "postal_code"):
                if address.get(key):
                    address[key] = MASK * 6
        view: dict[str, Any] = {
            "id": customer_id,
            "kind": row.kind,
            "status": row.status,
            "created_at": clocks.iso_ms(row.created_at),
            "masked": not unmask,
            "address": address,
            **funds,
        }
        if row.kind == "individual":
            view["name"] = name
            view["nationality"] = row.nationality
            birth = opened(row.birth_date_sealed, "customer", "birth_date", customer_id)
            view["birth_date"] = birth if unmask else (MASK * 4 + "-" + MASK * 2 + "-" + MASK * 2)
        else:
            view["legal_name"] = name.get("legal_name")
            registration = json.loads(opened(row.registration_sealed, "customer", "registration", customer_id) or "{}")
            if not unmask and "number" in registration:
                registration["number"] = mask_tail(registration["number"])
            view["registration"] = registration
            owners = []
            for owner in owner_rows:
                owner_birth = opened(owner.birth_date_sealed, "beneficial_owner", "birth_date", owner.id)
                owners.append({
                    "id": owner.id,
                    "name": json.loads(opened(owner.name_sealed, "beneficial_owner", "name", owner.id) or "{}"),
                    "birth_date": owner_birth if unmask or owner_birth is None else MASK * 4 + "-••-••",
                    "nationality": owner.nationality,
                    "residence_country": owner.residence_country,
                    "ownership_percent": float(owner.ownership_percent) if owner.ownership_percent is not None
                    else None,
                    "control": owner.control,
                })
            view["beneficial_owners"] = owners
        documents = []
        for document in document_rows:
            number = opened(document.number_sealed, "identity_document", "number", document.id) or ""
            entry = {"kind": document.kind, "country": document.country, "number": masked(number),
                     "beneficial_owner_id": document.beneficial_owner_id}
            if document.kind != "registration" and document.beneficial_owner_id is None and "national_id" not in view:
                view["national_id"] = {"country": document.country, "number": masked(number), "kind": document.kind}
            documents.append(entry)
        view["documents"] = documents
        for item in contact_rows:
            value = opened(item.value_sealed, "contact", "value", item.id) or ""
            view[item.kind] = masked(value, mask_email if item.kind == "email" else mask_tail)
            view[f"{item.kind}_verification"] = item.verification_state
        means_view = []
        for means in means_rows:
            entry = {"id": means.id, "type": means.type, "institution": means.institution, "country": means.country}
            if means.type == "card":
                entry["display"] = means.display  # never the full number, unmasked or not (PCI DSS)
            elif means.number_sealed is not None:
                number = opened(means.number_sealed, "payment_means", "number", means.id) or ""
                entry["number"] = masked(number)
            detail = json.loads(opened(means.detail_sealed, "payment_means", "detail", means.id) or "{}")
            if unmask:
                entry.update(detail)
            means_view.append(entry)
        view["payment_means"] = means_view
        view["evidence"] = [
            {"method": e.method, "result": e.result, "received_at": clocks.iso_ms(e.received_at),
             "vendor_reference": e.vendor_reference}
            for e in evidence_rows
        ]
        return view

    # -- find ----------------------------------------------------------------------------------
    def find(self, kind: IndexedKind, value: str, actor: Actor, *, purpose: str | None = None,
             scope: str = "", legal_basis: str | None = None) -> list[str]:
        """Ids of customers holding exactly ``value`` (through the blind index); logged."""
        check(actor, "customer:search", purpose=purpose, legal_basis=legal_basis)
        key = self.keyring.blind_index_key()
        token = blind_index(key, kind, value, scope=scope)
        with self.ledger.unit_of_work() as work:
            ids = find_by_index(work.conn, kind, token)
            for customer_id in ids:
                work.log(LedgerAction(actor.name, actor.role, "search_match", "customer", customer_id,
                                      purpose=purpose, legal_basis=legal_basis, detail={"by": kind}))
        return ids

    # -- purge ---------------------------------------------------------------------------------
    def purge(self, customer_id: str, actor: Actor, *, purpose: str, legal_basis: str | None = None,
              shred: bool = True) -> None:
        """Destroy the customer's data key, sealed fields and what is derived from them; on the ledger.

        Refused while a legal hold covers the customer or any of its accounts; before the retention
        period ends, refused unless ``legal_basis`` names a legal process that allows it
        (``purge_guard``, set where the service is wired). ``shred=False``: the caller runs
        :meth:`shred_files` itself once the purge is answered (the API, after its 204).
        """
        check(actor, "customer:purge", purpose=purpose)
        now = self.clock()
        with self.ledger.unit_of_work() as work:
            conn = work.conn
            row = conn.execute(select(customer.c.status).where(customer.c.id == customer_id)).first()
            if row is None:
                raise CustomerNotFound(customer_id)
            if row.status == "purged":
                raise CustomerPurged(customer_id)
            if holds_on_customer(conn, customer_id):
                raise AccessRefused("a legal hold covers this customer; it cannot be purged")
            if self.purge_guard is not None:
                self.purge_guard(conn, customer_id, legal_basis, now)
            self.purge_in(work, [customer_id], actor, purpose=purpose, legal_basis=legal_basis)
        if shred:
            self.shred_files(actor)

    def purge_in(self, work: UnitOfWork, customer_ids: Sequence[str], actor: Actor, *, purpose: str,
                 legal_basis: str | None = None) -> dict[str, int]:
        """Crypto-shred ``customer_ids`` and what is derived from them inside the caller's unit of work,
        which has checked holds and retention; one ledger entry each (``records.purge``). The caller
        runs ``shred_files`` after the commit."""
        return shred_customers(work, customer_ids, actor, self.clock(), purpose=purpose, legal_basis=legal_basis,
                               forget=self.forget)

    def shred_files(self, actor: Actor) -> str:
        """After a purge's commit: no readable copy of the old wrapped keys (``records.purge``)."""
        if not isinstance(self.keyring, LocalKeyring):
            return "none"
        return shred_files(self.database, self.keyring, self.ledger, actor)

    def count(self) -> int:
        with self.database.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(customer)).scalar_one())


def find_by_index(conn: Connection, kind: IndexedKind, token: str) -> list[str]:
    if kind in ("email", "phone"):
        query = select(contact.c.customer_id).where(contact.c.value_index == token)
    elif kind in ("national_id", "document"):
        query = select(identity_document.c.customer_id).where(identity_document.c.number_index == token)
    else:
        query = select(payment_means.c.customer_id).where(payment_means.c.number_index == token)
    return sorted(set(conn.execute(query).scalars()))


def sealed_customer_rows(store: CustomerStore, records: Sequence[CustomerRecord],
                         now: datetime) -> tuple[list[str], dict[str, list[dict[str, Any]]]]:
    """The sealed rows of ``records`` per table, as ``CustomerStore.create_in`` would insert them (for
    bulk loads such as the re-screening benchmark, which inserts them with ``storage.bulk.insert_rows``)."""
    rows: dict[str, list[dict[str, Any]]] = {
        "customer": [], "beneficial_owner": [], "identity_document": [], "payment_means": [], "contact": []
    }
    ids = [store._rows_for(record, now, rows) for record in records]
    return ids, rows
