"""Tables of the CIP record: customers, beneficial owners, accounts, documents, payment means,
contacts, evidence, API keys (A3, B1, B2, B4).

Columns ending in ``_sealed`` hold AES-GCM ciphertexts (``cloudcip.crypto.envelope``); columns
ending in ``_index`` hold keyed blind indexes. No column holds a sensitive value in the clear.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    text,
)

from cloudcip.storage.metadata import metadata

ID = 36  # uuid4 text

customer = Table(
    "customer",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),  # individual | entity
    Column("status", String(16), nullable=False, default="active"),  # active | purged
    Column("nationality", String(2)),
    Column("residence_country", String(2)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("purged_at", DateTime(timezone=True)),
    Column("kek_id", String(32)),
    Column("wrapped_data_key", LargeBinary),
    Column("name_sealed", LargeBinary),
    Column("birth_date_sealed", LargeBinary),
    Column("address_sealed", LargeBinary),
    Column("registration_sealed", LargeBinary),
    Column("source_of_funds_sealed", LargeBinary),
    # the current U.S./foreign determination (A2) and its basis, kept by verification (migration 0012)
    Column("person_status", String(16)),
    Column("person_basis", String(24)),
    Index("ix_customer_kek_id", "kek_id"),
    Index("ix_customer_country_status", "residence_country", "status"),  # H1: customers by country
    # H1: the purged customers' ids (0090); only theirs, so a signup's customer adds nothing to it (0108)
    Index("ix_customer_purged_id", "status", "id", sqlite_where=text("status = 'purged'"),
          postgresql_where=text("status = 'purged'")),
)

beneficial_owner = Table(
    "beneficial_owner",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customer.id"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("nationality", String(2)),
    Column("residence_country", String(2)),
    Column("ownership_percent", Numeric(5, 2)),
    Column("control", Boolean, nullable=False, default=False),
    Column("name_sealed", LargeBinary),
    Column("birth_date_sealed", LargeBinary),
    Column("address_sealed", LargeBinary),
    Column("added_at", DateTime(timezone=True), nullable=False),
    Column("person_status", String(16)),  # the current U.S./foreign determination (A2), migration 0012
    Column("person_basis", String(24)),
    Index("ix_beneficial_owner_country", "residence_country", "customer_id", "position"),  # H1: by country (0090)
)

account = Table(
    "account",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customer.id"), nullable=False, index=True),
    Column("type", String(16), nullable=False),  # standard | reseller | trial
    Column("channel", String(24), nullable=False),  # self_serve | sales_assisted | marketplace | via_reseller
    Column("state", String(24), nullable=False),
    Column("parent_account_id", String(ID), ForeignKey("account.id")),
    Column("external_ref", String(128)),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    # who closed it: provider (API, CLI, account.closed event), verification or special_measure (B1)
    Column("closed_by", String(24)),
    # a reseller's accounts: only those with a parent are in it, so a direct signup adds nothing to it (0107)
    Index("ix_account_parent_account_id", "parent_account_id", sqlite_where=text("parent_account_id IS NOT NULL"),
          postgresql_where=text("parent_account_id IS NOT NULL")),
)

identity_document = Table(
    "identity_document",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customer.id"), nullable=False, index=True),
    Column("beneficial_owner_id", String(ID), ForeignKey("beneficial_owner.id")),
    Column("kind", String(24), nullable=False),  # national_id | passport | id_card | registration | ...
    Column("country", String(2)),
    Column("expires_on_sealed", LargeBinary),
    Column("number_sealed", LargeBinary, nullable=False),
    Column("number_index", String(40), index=True),
)

payment_means = Table(
    "payment_means",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customer.id"), nullable=False, index=True),
    Column("type", String(16), nullable=False),  # card | bank_account | crypto_wallet | other
    Column("institution", String(200)),
    Column("country", String(2)),
    Column("display", String(64)),  # cards: first six + last four only (PCI DSS)
    Column("number_sealed", LargeBinary),
    Column("number_index", String(40), index=True),
    Column("detail_sealed", LargeBinary),  # expiry, holder, currency, source of funds
)

contact = Table(
    "contact",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customer.id"), nullable=False, index=True),
    Column("kind", String(8), nullable=False),  # email | phone
    Column("value_sealed", LargeBinary, nullable=False),
    Column("value_index", String(40), index=True),
    Column("verification_state", String(16), nullable=False, default="unverified"),
    Column("verified_at", DateTime(timezone=True)),
)

evidence = Table(
    "evidence",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customer.id"), nullable=False, index=True),
    Column("beneficial_owner_id", String(ID), ForeignKey("beneficial_owner.id")),
    Column("application_id", String(ID), index=True),
    Column("subject", String(64)),  # "customer" or "beneficial_owner:<position>"
    Column("method", String(32), nullable=False),  # passport | email_otp | vendor_idv | ...
    Column("result", String(16), nullable=False),  # verified | failed | inconclusive
    Column("vendor_reference", String(128)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("detail_sealed", LargeBinary),
)

api_key = Table(
    "api_key",
    metadata,
    Column("id", String(16), primary_key=True),  # the public prefix of the key
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("expires_at", DateTime(timezone=True)),  # null: no expiry
    Column("last_used_at", DateTime(timezone=True)),  # written at most once a minute per key and process
)
