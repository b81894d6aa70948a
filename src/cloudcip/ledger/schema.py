"""Tables of the tamper-evident ledger (B3): entries, signed tree heads, the append state."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, String, Table, Text

from cloudcip.storage.metadata import metadata

# SQLite: INTEGER, so the key is the table's rowid rather than a unique index beside it (migration 0105);
# PostgreSQL: BIGINT
LEDGER_INDEX = BigInteger().with_variant(Integer(), "sqlite")

ledger_entry = Table(
    "ledger_entry",
    metadata,
    Column("idx", LEDGER_INDEX, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(48), nullable=False),
    Column("record_type", String(32), nullable=False),
    Column("record_id", String(64), nullable=False, index=True),
    Column("purpose", Text),
    Column("legal_basis", Text),
    Column("leaf_input", Text, nullable=False),  # canonical JSON of the entry: what is hashed
    Column("leaf_hash", LargeBinary(32), nullable=False),
)

ledger_tree_head = Table(
    "ledger_tree_head",
    metadata,
    Column("tree_size", LEDGER_INDEX, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
)

ledger_state = Table(
    "ledger_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("last_leaf_hash", LargeBinary(32)),
    Column("compact_state", Text, nullable=False),  # JSON of the compact Merkle range
    Column("key_id", String(64)),
)
