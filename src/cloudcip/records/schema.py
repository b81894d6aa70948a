"""Tables of the records lifecycle: legal processes and their scope, preservation holds (B1, B4, B5).

- ``legal_process``: the register of legal processes (subpoena, court order, Commerce request,
  law-enforcement request, a deletion the law allows): authority, reference, received and due dates,
  the person handling it, the time window, whether records are disclosed unmasked, and the ledger's
  size when it was registered (consistency proofs of a production start from that tree head).
- ``legal_process_scope``: what a process names, one row each: a customer, an account, an
  identifier (only its keyed blind index is kept, never the value) or an IP network (its inclusive
  16-byte range, as the access ledger keeps addresses).
- ``legal_hold``: a preservation hold placed under a process; released only with a reason.
- ``legal_hold_subject``: the customers and accounts a hold froze when it was placed (quick freeze).
  A customer held covers every account of that customer; an account held covers its access history
  and its customer's record. Overlapping holds each keep their own rows, so each holds on its own.

Migration ``0023`` replaces the earlier per-account ``legal_hold`` table, which nothing wrote.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from cloudcip.storage.metadata import metadata

ID = 36  # uuid4 text
SUBJECT = 128  # an account id as the access ledger accepts it

legal_process = Table(
    "legal_process",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(24), nullable=False),  # subpoena | court_order | commerce_request | ...
    Column("authority", String(300), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("handler", String(200)),
    Column("received_on", Date, nullable=False),
    Column("due_on", Date),
    Column("window_from", DateTime(timezone=True)),
    Column("window_to", DateTime(timezone=True)),
    Column("unmask", Boolean, nullable=False),
    Column("state", String(16), nullable=False),  # open | closed
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("registered_by", String(64), nullable=False),
    Column("registered_tree_size", BigInteger, nullable=False),
    Column("closed_at", DateTime(timezone=True)),
)

legal_process_scope = Table(
    "legal_process_scope",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("process_id", String(ID), ForeignKey("legal_process.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # customer | account | identifier | network
    Column("subject_id", String(SUBJECT)),  # customer or account id
    Column("identifier_kind", String(16)),  # email | phone | national_id | card_number | iban | wallet
    Column("identifier_index", String(40)),  # keyed blind index of the identifier (never the value)
    Column("network_low", LargeBinary(16)),
    Column("network_high", LargeBinary(16)),
)

legal_hold = Table(
    "legal_hold",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("process_id", String(ID), ForeignKey("legal_process.id"), nullable=False, index=True),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("placed_by", String(64), nullable=False),
    Column("released_at", DateTime(timezone=True)),
    Column("released_by", String(64)),
    Column("release_reason", Text),
)

legal_hold_subject = Table(
    "legal_hold_subject",
    metadata,
    Column("hold_id", String(ID), ForeignKey("legal_hold.id"), primary_key=True),
    Column("subject_type", String(16), primary_key=True),  # customer | account
    Column("subject_id", String(SUBJECT), primary_key=True),
    Index("ix_legal_hold_subject_subject", "subject_type", "subject_id"),
)
