"""The register of productions made under legal processes (B5).

``production``: one row per package handed over: the process, when and by whom, the SHA-256 of its
signed manifest, the tree head its proofs lead to, and what it holds (counts). The package itself
is the provider's to keep; the row and its ledger entry (a ``disclose``) say it was made.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, String, Table

from cloudcip.storage.metadata import metadata

production = Table(
    "production",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("process_id", String(36), ForeignKey("legal_process.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("files", Integer, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("accounts", Integer, nullable=False),
    Column("ledger_entries", Integer, nullable=False),
)
