"""The fields re-screening needs of a range of customers, read in bulk (D3, D4, B2).

``screening_material`` reads a range of customer ids with one query per table, unwraps each data key
once and opens only the fields screening uses; ``screening.rescreen`` reads every batch through it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from cloudcip.crypto.envelope import FieldSealer, WrappedDataKey, unwrap_data_key
from cloudcip.crypto.keyring import Keyring
from cloudcip.storage.schema import beneficial_owner, contact, customer, identity_document, payment_means


def screening_material(conn: Connection, keyring: Keyring, after: str | None, last: str, *,
                       full: bool, only: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The fields screening needs of the customers with ids in (``after``, ``last``], in id order (D3, D4, B2).

    One query per table for the whole range; each data key is unwrapped once; only the fields
    screening uses are opened: names, birth dates and nationalities of the customer and its
    beneficial owners, and with ``full`` also document numbers and countries, email, phone, wallet
    and IBAN numbers, card countries, the address country and subdivision and the registration
    country (location evidence). The dicts have the shape of ``open_record`` (a subset of it), so
    ``rescreen.subjects_of`` and ``rescreen.jurisdictions_of`` read them alike. Internal use only: the
    caller logs the access (one ledger entry per re-screening run); nothing here logs or raises with
    a field's value. Purged customers are left out. ``only``: just these ids of the range.
    """
    def in_range(column: Any) -> Any:
        if only is not None:
            return column.in_(sorted(only))
        bounded = column <= last
        return bounded if after is None else (column > after) & bounded

    columns = [customer.c.id, customer.c.kind, customer.c.nationality, customer.c.kek_id,
               customer.c.wrapped_data_key, customer.c.name_sealed, customer.c.birth_date_sealed,
               customer.c.updated_at, customer.c.person_status, customer.c.person_basis]
    if full:
        columns += [customer.c.address_sealed, customer.c.registration_sealed]
    rows = conn.execute(select(*columns).where(in_range(customer.c.id) & (customer.c.status != "purged")
                                               & customer.c.wrapped_data_key.is_not(None))
                        .order_by(customer.c.id)).all()
    if not rows:
        return []
    sealers: dict[str, FieldSealer] = {}
    records: dict[str, dict[str, Any]] = {}
    entities = False
    for row in rows:
        customer_id = row.id
        sealer = FieldSealer(unwrap_data_key(keyring, customer_id,
                                             WrappedDataKey(row.kek_id, bytes(row.wrapped_data_key))))
        sealers[customer_id] = sealer
        name = json.loads(sealer.open(bytes(row.name_sealed), table="customer", column="name", row_id=customer_id)
                          if row.name_sealed is not None else "{}")
        record: dict[str, Any] = {"id": customer_id, "kind": row.kind, "updated_at": row.updated_at,
                                  "documents": [], "payment_means": []}
        if row.person_status:  # the determination verification keeps (A2): measures reach by it (D1)
            record["person_status"] = {"status": row.person_status, "basis": row.person_basis}
        if row.kind == "individual":
            record["name"] = name
            record["nationality"] = row.nationality
            record["birth_date"] = (sealer.open(bytes(row.birth_date_sealed), table="customer", column="birth_date",
                                                row_id=customer_id) if row.birth_date_sealed is not None else None)
        else:
            entities = True
            record["legal_name"] = name.get("legal_name")
            record["beneficial_owners"] = []
        if full:
            address = json.loads(sealer.open(bytes(row.address_sealed), table="customer", column="address",
                                              row_id=customer_id) if row.address_sealed is not None else "{}")
            record["address"] = {k: address.get(k) for k in ("country", "subdivision") if address.get(k)}
            if row.kind != "individual":
                registration = json.loads(
                    sealer.open(bytes(row.registration_sealed), table="customer", column="registration",
                                row_id=customer_id) if row.registration_sealed is not None else "{}")
                record["registration"] = {"country": registration.get("country")}
        records[customer_id] = record
    first = rows[0].id

    def children(table: Any, *cols: Any) -> list[Any]:
        query = select(*cols).where(in_range(table.c.customer_id))
        if after is None and only is None:
            query = query.where(table.c.customer_id >= first)
        return [r for r in conn.execute(query) if r.customer_id in records]

    if entities:
        for owner in children(beneficial_owner, beneficial_owner.c.id, beneficial_owner.c.customer_id,
                              beneficial_owner.c.position, beneficial_owner.c.nationality,
                              beneficial_owner.c.name_sealed, beneficial_owner.c.birth_date_sealed,
                              beneficial_owner.c.person_status, beneficial_owner.c.person_basis):
            holder = records[owner.customer_id]
            if "beneficial_owners" not in holder:
                continue
            sealer = sealers[owner.customer_id]
            holder["beneficial_owners"].append({
                "id": owner.id, "position": owner.position, "nationality": owner.nationality,
                "name": json.loads(sealer.open(bytes(owner.name_sealed), table="beneficial_owner", column="name",
                                               row_id=owner.id) if owner.name_sealed is not None else "{}"),
                "birth_date": sealer.open(bytes(owner.birth_date_sealed), table="beneficial_owner",
                                          column="birth_date", row_id=owner.id)
                if owner.birth_date_sealed is not None else None,
                **({"person_status": {"status": owner.person_status, "basis": owner.person_basis}}
                   if owner.person_status else {}),
            })
        for record in records.values():
            if "beneficial_owners" in record:
                record["beneficial_owners"].sort(key=lambda o: o.pop("position"))
    if full:
        for document in children(identity_document, identity_document.c.id, identity_document.c.customer_id,
                                 identity_document.c.beneficial_owner_id, identity_document.c.kind,
                                 identity_document.c.country, identity_document.c.number_sealed):
            records[document.customer_id]["documents"].append({
                "kind": document.kind, "country": document.country,
                "beneficial_owner_id": document.beneficial_owner_id,
                "number": sealers[document.customer_id].open(bytes(document.number_sealed), table="identity_document",
                                                             column="number", row_id=document.id),
            })
        for item in children(contact, contact.c.id, contact.c.customer_id, contact.c.kind, contact.c.value_sealed):
            records[item.customer_id][item.kind] = sealers[item.customer_id].open(
                bytes(item.value_sealed), table="contact", column="value", row_id=item.id)
        for means in children(payment_means, payment_means.c.id, payment_means.c.customer_id, payment_means.c.type,
                              payment_means.c.country, payment_means.c.number_sealed):
            entry: dict[str, Any] = {"type": means.type, "country": means.country}
            if means.type in ("bank_account", "crypto_wallet") and means.number_sealed is not None:
                entry["number"] = sealers[means.customer_id].open(bytes(means.number_sealed), table="payment_means",
                                                                  column="number", row_id=means.id)
            records[means.customer_id]["payment_means"].append(entry)
    return list(records.values())
