"""The rows of a customer record as they are stored: every sensitive value sealed with the customer's
own data key, bound to its table, column and row, and exact-lookup values as keyed blind indexes
(A3, B2). ``records.customer_store`` inserts them; nothing here touches the database.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cloudcip.crypto.blind_index import IndexedKind, blind_index
from cloudcip.crypto.envelope import FieldSealer
from cloudcip.domain.customer import (
    BankAccount,
    BeneficialOwnerInput,
    Card,
    CryptoWallet,
    CustomerRecord,
    NationalId,
    OtherPayment,
)
from cloudcip.records.masking import card_display, mask_tail


@dataclass
class Sealing:
    """A customer's field sealer and the keyring's blind-index key, for building its rows."""

    sealer: FieldSealer
    index_key: bytes

    def seal(self, value: str, table: str, column: str, row_id: str) -> bytes:
        return self.sealer.seal(value, table=table, column=column, row_id=row_id)

    def index(self, kind: IndexedKind, value: str, scope: str = "") -> str:
        return blind_index(self.index_key, kind, value, scope=scope)


def source_of_funds_sealed(seal: Sealing, record: CustomerRecord, customer_id: str) -> bytes | None:
    """A3: the source of funds and the source of payment, sealed together (None when neither is given)."""
    found = {name: value.model_dump(exclude_none=True) for name, value in (
        ("source_of_funds", record.source_of_funds), ("payment_source", record.payment_source)) if value is not None}
    return seal.seal(json.dumps(found), "customer", "source_of_funds", customer_id) if found else None


def document_row(seal: Sealing, customer_id: str, owner_id: str | None, document: NationalId,
                  kind: str | None = None) -> dict[str, Any]:
    row_id = str(uuid.uuid4())
    return {
        "id": row_id,
        "customer_id": customer_id,
        "beneficial_owner_id": owner_id,
        "kind": kind or document.kind,
        "country": document.country,
        "expires_on_sealed": seal.seal(document.expires_on.isoformat(), "identity_document", "expires_on", row_id)
        if document.expires_on else None,
        "number_sealed": seal.seal(document.number, "identity_document", "number", row_id),
        "number_index": seal.index("national_id", document.number, scope=document.country),
    }


def owner_rows(seal: Sealing, customer_id: str, position: int, owner: BeneficialOwnerInput,
                now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    owner_id = str(uuid.uuid4())
    row = {
        "id": owner_id,
        "customer_id": customer_id,
        "position": position,
        "nationality": owner.nationality,
        "residence_country": owner.address.country if owner.address else None,
        "ownership_percent": owner.ownership_percent,
        "control": owner.control,
        "name_sealed": seal.seal(owner.name.model_dump_json(exclude_none=True), "beneficial_owner", "name", owner_id),
        "birth_date_sealed": seal.seal(owner.birth_date.isoformat(), "beneficial_owner", "birth_date", owner_id)
        if owner.birth_date else None,
        "address_sealed": seal.seal(owner.address.model_dump_json(exclude_none=True), "beneficial_owner", "address",
                                    owner_id) if owner.address else None,
        "added_at": now,
    }
    documents = [document_row(seal, customer_id, owner_id, owner.national_id)] if owner.national_id else []
    return row, documents


def payment_row(seal: Sealing, customer_id: str,
                 means: Card | BankAccount | CryptoWallet | OtherPayment) -> dict[str, Any]:
    row_id = str(uuid.uuid4())
    row: dict[str, Any] = {
        "id": row_id, "customer_id": customer_id, "type": means.type, "institution": means.institution,
        "country": getattr(means, "country", None), "display": None, "number_sealed": None, "number_index": None,
    }
    detail: dict[str, Any] = {"source_of_funds": means.source_of_funds} if means.source_of_funds else {}
    if isinstance(means, Card):
        digits = "".join(ch for ch in means.number if ch.isdigit())
        row["display"] = card_display(digits)
        row["number_sealed"] = seal.seal(digits, "payment_means", "number", row_id)
        row["number_index"] = seal.index("card_number", digits)
        detail.update({"expiry": means.expiry, **({"holder": means.holder} if means.holder else {})})
    elif isinstance(means, BankAccount):
        identifier = means.iban or means.number or ""
        row["number_sealed"] = seal.seal(identifier, "payment_means", "number", row_id)
        row["number_index"] = seal.index("iban", identifier)
        row["display"] = mask_tail(identifier)
        if means.bic:
            detail["bic"] = means.bic
        if means.iban and not row["country"]:
            row["country"] = means.iban[:2].upper()
    elif isinstance(means, CryptoWallet):
        row["number_sealed"] = seal.seal(means.address, "payment_means", "number", row_id)
        row["number_index"] = seal.index("wallet", means.address)
        row["display"] = mask_tail(means.address)
        detail["currency"] = means.currency.upper()
    else:
        detail["description"] = means.description
        if means.reference:
            row["number_sealed"] = seal.seal(means.reference, "payment_means", "number", row_id)
    row["detail_sealed"] = seal.seal(json.dumps(detail), "payment_means", "detail", row_id)
    return row
