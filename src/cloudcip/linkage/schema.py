"""Tables of the linkage graph (G1): each record's identifiers as blind-index tokens, and its cluster.

- ``link_identifier``: one row per identifier of a subject (``customer``, ``beneficial_owner``,
  ``sub_lessee``): kind, token (keyed blind index, never the value), a masked display, and the
  customer the subject belongs to (a beneficial owner's entity, a sub-lessee's reseller). Two subjects
  are linked when they share a ``(kind, token)``.
- ``link_cluster``: the connected component of each subject over its **strong** links, maintained as
  records arrive (clusters merge) and rebuilt in full by ``cloudcip links rebuild``.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text, UniqueConstraint

from cloudcip.storage.metadata import metadata

link_identifier = Table(
    "link_identifier",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("subject_type", String(24), nullable=False),
    Column("subject_id", String(36), nullable=False),
    Column("customer_id", String(36), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("token", String(40), nullable=False),
    Column("display", String(80), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("subject_type", "subject_id", "kind", "token", name="uq_link_identifier_subject_token"),
    Index("ix_link_identifier_token", "token", "kind"),
    Index("ix_link_identifier_customer", "customer_id"),
)

link_cluster = Table(
    "link_cluster",
    metadata,
    Column("subject_type", String(24), primary_key=True),
    Column("subject_id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False),
    Column("cluster_id", String(36), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_link_cluster_cluster", "cluster_id"),
    Index("ix_link_cluster_customer", "customer_id"),
)

# G2: the last risk score of each account, with its factors (value, weight, contribution, why)
risk_score = Table(
    "risk_score",
    metadata,
    Column("account_id", String(36), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("tier", String(16), nullable=False),
    Column("factors_json", Text, nullable=False),
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Index("ix_risk_score_computed", "computed_at"),
)
