"""Tables of the reporting to Commerce (H1, H2, H3).

- ``cip_contact``: the CIP contact named in the certification, one row per change (the newest is in
  force); a change flags an out-of-cycle update (H2).
- ``certification_filing``: each filed certification, attestation or out-of-cycle update: its
  document (JSON), the SHA-256 of that document, when and by whom; each filing is also a ledger entry.
- ``cip_copy_request``: a request for copies of the written CIP, its due date and the hashed answer.
- ``reporting_reminder``: the reminders the daily job already sent (one per item and day).
- ``report_figure_stamp``: one counter per cached report (``certification``), bumped by database
  triggers (migration 0077) on every change to the tables the report counts, so a process may keep
  the figures it computed until the counter moves.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, DateTime, Integer, String, Table, Text

from cloudcip.storage.metadata import metadata

cip_contact = Table(
    "cip_contact",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("title", String(200)),
    Column("email", String(254), nullable=False),
    Column("phone", String(40)),
    Column("set_at", DateTime(timezone=True), nullable=False),
    Column("set_by", String(64), nullable=False),
)

certification_filing = Table(
    "certification_filing",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(24), nullable=False),  # certification | attestation | out_of_cycle_update
    Column("as_of", Date, nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("filed_by", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("document_json", Text, nullable=False),
)

# H3: requests for copies of the written CIP, each with its clock (the profile's days) and its answer
cip_copy_request = Table(
    "cip_copy_request",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("requester", String(300), nullable=False),
    Column("received_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("logged_at", DateTime(timezone=True), nullable=False),
    Column("logged_by", String(64), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("documents_json", Text),  # [{"name", "sha256", "bytes"}] of what was sent
)

# H2, H3: the reminders already sent, one per item and day, so the daily job sends each once
reporting_reminder = Table(
    "reporting_reminder",
    metadata,
    Column("item", String(80), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)

report_figure_stamp = Table(
    "report_figure_stamp",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("version", BigInteger, nullable=False),
)
