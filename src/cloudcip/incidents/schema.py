"""Tables of incident reports and their disclosures (G4, B1, B3).

- ``incident_report``: one row per report, never updated. ``content_sealed`` is the report (canonical
  JSON) sealed under the subject customer's data key (it holds access IPs and identifiers);
  ``content_sha256`` is the hash of that JSON, also on the ledger entry that recorded the report.
- ``incident_disclosure``: each time a report (or a bundle made from it) left: recipient, channel,
  format, TLP, the SHA-256 of exactly what was sent, when and by whom.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, Index, LargeBinary, String, Table, Text

from cloudcip.storage.metadata import metadata

ID = 36

incident_report = Table(
    "incident_report",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(32), nullable=False),  # malicious_activity | reseller_noncompliance
    Column("account_id", String(ID), nullable=False),  # the account the report is about
    Column("customer_id", String(ID), nullable=False),  # whose data key seals the content
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),  # an API key id or cli:operator, never a person
    Column("content_sealed", LargeBinary, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Index("ix_incident_report_account", "account_id"),
    Index("ix_incident_report_customer", "customer_id"),
)

incident_disclosure = Table(
    "incident_disclosure",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("incident_id", String(ID), ForeignKey("incident_report.id"), nullable=False),
    Column("recipient", String(200), nullable=False),  # an organisation or a peer's name, never a person
    Column("channel", String(32), nullable=False),  # export | taxii | email | portal | other
    Column("format", String(32), nullable=False),  # stix-bundle | document
    Column("tlp", String(16)),
    Column("content_sha256", String(64), nullable=False),
    Column("disclosed_at", DateTime(timezone=True), nullable=False),
    Column("disclosed_by", String(64), nullable=False),
    Column("note", Text),
    Index("ix_incident_disclosure_incident", "incident_id"),
)
