"""The sub-lessees of Reseller Accounts (E2, D3, D4, B2).

``sub_lessee``: one row per sub-lessee a reseller shares, under its Reseller Account, keyed by the
reseller's own ``reference`` (unique per account, so re-sharing is idempotent). Personal fields are
sealed (AES-GCM, ``cloudcip.crypto.envelope``) under the data key of the reseller's customer record,
bound to ``sub_lessee|<column>|<id>``: purging the reseller's customer destroys that key and so
crypto-shreds its sub-lessees too, and key rotation re-wraps them with the customer's key.

- ``status``: ``active`` | ``removed`` (by the reseller) | ``refused`` (a prohibition in force
  applies to it). Rows are never deleted (B1).
- ``screening_band``: the band of the latest screening (clear | review | block).
- ``record_hash``: keyed HMAC of the screened fields (``screening.hits.subject_hash``): tells an
  unchanged re-share from a changed one without keeping the fields in clear.
- ``measures_json``: the special measures applied to the sub-lessee (ids, type, conditions, when).
- ``sub_lessee_rescreen_run``: the resumable re-screening of sub-lessees (D4): its cursor advances in
  the same transaction as the hits and measure effects of each batch.
- ``country``, ``subdivision``, ``nationality`` stay in clear, as ``customer.residence_country`` and
  ``customer.nationality`` do: measures are decided on them.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from cloudcip.storage.metadata import metadata

ID = 36  # uuid4 text

sub_lessee = Table(
    "sub_lessee",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("reseller_account_id", String(ID), ForeignKey("account.id"), nullable=False),
    Column("reference", String(128), nullable=False),  # the reseller's own, opaque reference
    Column("kind", String(8), nullable=False),  # person | entity
    Column("status", String(16), nullable=False),  # active | removed | refused
    Column("screening_band", String(8), nullable=False),  # clear | review | block
    Column("record_hash", String(64), nullable=False),
    Column("measures_json", Text, nullable=False),
    Column("country", String(2), nullable=False),
    Column("subdivision", String(8)),
    Column("nationality", String(2)),
    Column("name_sealed", LargeBinary, nullable=False),
    Column("birth_date_sealed", LargeBinary),
    Column("email_sealed", LargeBinary),
    Column("documents_sealed", LargeBinary),  # JSON list of {country, number, kind}
    Column("wallet_sealed", LargeBinary),  # JSON {currency, address} (migration 0081)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("screened_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),
    UniqueConstraint("reseller_account_id", "reference", name="uq_sub_lessee_reference"),
    Index("ix_sub_lessee_status", "status", "id"),
    # a review's sample draws ids by position from this index, without reading rows (E3; migration 0027)
    Index("ix_sub_lessee_reseller_status", "reseller_account_id", "status", "id"),
)

sub_lessee_rescreen_run = Table(
    "sub_lessee_rescreen_run",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("reason", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("cursor", String(ID)),  # the last sub-lessee id fully processed
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("hits", Integer, nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)
