"""The table of four-eyes changes: proposed, then approved (and carried out) or rejected (B4, D1, A6).

``payload_json`` holds what the change will do, in the terms of the service that carries it out
(measure fields, a case id and a reason); ``summary`` is the one line both people read. Neither holds
a customer's personal data: a case is named by its id.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text

from cloudcip.storage.metadata import metadata

pending_change = Table(
    "pending_change",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),  # measure.record | measure.revoke | case.redress | policy.change
    Column("subject", String(64)),  # what it touches: a measure id, an application id
    Column("summary", String(500), nullable=False),
    Column("payload_json", Text, nullable=False),
    Column("reason", String(500), nullable=False),  # why the maker proposes it
    Column("state", String(16), nullable=False),  # pending | approved | rejected | withdrawn
    Column("proposed_by", String(64), nullable=False),
    Column("proposed_role", String(32), nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    Column("decided_by", String(64)),
    Column("decided_role", String(32)),
    Column("decided_at", DateTime(timezone=True)),
    Column("decision_reason", String(500)),
    Column("result_ref", String(64)),  # what the approved change made (a measure id, a case state)
    Index("ix_pending_change_state", "state", "proposed_at"),
)
