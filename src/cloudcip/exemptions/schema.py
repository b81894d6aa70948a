"""Tables of the exemption register (F1).

- ``exemption``: one row per exemption granted (EO 13984 sec. 1(c)): its scope (``provider``, an
  ``account_type`` or a ``lessee_type`` with its value), the basis (the abuse-deterrence program it
  rests on), the steps it exempts, the conditions, when it took effect and when it expires, and its
  revocation (time, actor, reason). ``ended_flagged_at`` is when the accounts that used it were
  flagged for re-verification after it ended.
- ``exemption_notice``: the notices of significant change the provider sent about an exempted
  program (what changed, when, to whom, when it was sent).
- ``exemption_use``: each signup an exemption applied to (application, account, customer, the steps
  it exempted), and when those accounts were flagged for re-verification after it ended.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from cloudcip.storage.metadata import metadata

ID = 36

exemption = Table(
    "exemption",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("scope_kind", String(16), nullable=False),  # provider | account_type | lessee_type
    Column("scope_value", String(32), nullable=False),  # "*" for the provider as a whole
    Column("basis", Text, nullable=False),
    Column("reference", String(200)),  # Commerce's decision, as the provider files it
    Column("steps_json", Text, nullable=False),  # sorted JSON list of exempted steps
    Column("conditions_json", Text, nullable=False),  # JSON list of conditions (text)
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", String(64)),
    Column("revocation_reason", String(500)),
    Column("ended_flagged_at", DateTime(timezone=True)),
    Index("ix_exemption_scope", "scope_kind", "scope_value"),
)

exemption_notice = Table(
    "exemption_notice",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("exemption_id", String(ID), ForeignKey("exemption.id"), nullable=False, index=True),
    Column("change", Text, nullable=False),  # what changed in the program (no personal data)
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(64), nullable=False),
)

exemption_use = Table(
    "exemption_use",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("exemption_id", String(ID), ForeignKey("exemption.id"), nullable=False),
    Column("application_id", String(ID), nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("customer_id", String(ID), nullable=False),
    Column("steps_json", Text, nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=False),
    Column("flagged_at", DateTime(timezone=True)),  # flagged for re-verification after the exemption ended
    Index("ix_exemption_use_exemption", "exemption_id", "flagged_at"),
    Index("ix_exemption_use_account", "account_id"),
)
