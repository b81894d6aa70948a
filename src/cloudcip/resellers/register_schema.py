"""Tables of the reseller register, its oversight and the termination clock (E1, E3, G4, B1, B2).

- ``reseller``: one row per reseller relationship, keyed by the reseller's customer record (a
  reseller is a customer of the provider). ``foreign_reseller`` is taken from the customer's U.S./foreign
  determination when the reseller is registered (undetermined counts as foreign, A2) and refreshed on
  each certification. The contact e-mail is sealed under the customer's data key; the contract
  reference, the attestation flag, the certification dates and the status stay in clear.
  ``status``: ``active`` | ``under_review`` | ``terminating`` | ``terminated``.
- ``reseller_cip_document``: each uploaded version of the reseller's own written CIP: its detected
  type, size, SHA-256 and content sealed at rest (AES-GCM under the customer's data key, bound to
  ``reseller_cip_document|content|<id>``). Versions are never replaced.
- ``reseller_review``: a scheduled or ad-hoc review; its sample (size asked, seed, population) once
  drawn; ``reseller_review_item``: each sampled sub-lessee and the result recorded for it
  (``adequate`` | ``deficient`` | ``missing``).
- ``reseller_finding``: a review's findings (``compliant`` | ``non_compliant`` | ``malicious_activity``
  | ``observation``) with the incident report it produced, if any.
- ``reseller_termination_clock``: the calendar-day clock a non-compliance finding starts: its last day,
  the reminders sent, and how it ended (``remediated`` with reason and evidence, or ``terminated``
  with the restrictions applied to the reseller's accounts).
"""

from __future__ import annotations

from sqlalchemy import (
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
    UniqueConstraint,
)

from cloudcip.storage.metadata import metadata

ID = 36

reseller = Table(
    "reseller",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("customer_id", String(ID), ForeignKey("customer.id"), nullable=False, unique=True),
    Column("foreign_reseller", Boolean, nullable=False),
    Column("person_status", String(16), nullable=False),  # us_person | foreign | undetermined
    Column("contact_email_sealed", LargeBinary, nullable=False),
    Column("contract_reference", String(128)),
    Column("attestation", Boolean, nullable=False),  # the contract holds the reseller's CIP attestation
    Column("certified_on", Date),
    Column("certification_due", Date),
    Column("status", String(16), nullable=False),
    Column("status_reason", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_reseller_status", "status"),
)

reseller_cip_document = Table(
    "reseller_cip_document",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("reseller_id", String(ID), ForeignKey("reseller.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("filename", String(200), nullable=False),
    Column("file_type", String(8), nullable=False),  # pdf | docx | txt | html
    Column("media_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content_sealed", LargeBinary, nullable=False),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
    Column("uploaded_by", String(64), nullable=False),
    UniqueConstraint("reseller_id", "version", name="uq_reseller_cip_version"),
)

reseller_review = Table(
    "reseller_review",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("reseller_id", String(ID), ForeignKey("reseller.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # scheduled | ad_hoc
    Column("state", String(16), nullable=False),  # open | closed
    Column("scheduled_for", Date),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("started_by", String(64), nullable=False),
    Column("sample_requested", Integer),
    Column("sample_seed", Integer),
    Column("population", Integer),
    Column("sampled_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Index("ix_reseller_review_reseller", "reseller_id"),
)

reseller_review_item = Table(
    "reseller_review_item",
    metadata,
    Column("review_id", String(ID), ForeignKey("reseller_review.id"), primary_key=True),
    Column("sub_lessee_id", String(ID), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("result", String(16)),  # adequate | deficient | missing (null: not yet recorded)
    Column("note", String(500)),
    Column("recorded_at", DateTime(timezone=True)),
    Column("recorded_by", String(64)),
)

reseller_finding = Table(
    "reseller_finding",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("reseller_id", String(ID), ForeignKey("reseller.id"), nullable=False),
    Column("review_id", String(ID), ForeignKey("reseller_review.id")),
    Column("kind", String(24), nullable=False),  # compliant | non_compliant | malicious_activity | observation
    Column("reason", Text, nullable=False),
    Column("incident_id", String(ID)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Index("ix_reseller_finding_reseller", "reseller_id"),
)

reseller_termination_clock = Table(
    "reseller_termination_clock",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("reseller_id", String(ID), ForeignKey("reseller.id"), nullable=False),
    Column("finding_id", String(ID), ForeignKey("reseller_finding.id")),
    Column("state", String(16), nullable=False),  # running | remediated | terminated
    Column("started_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),  # the last day: the job restricts and terminates on it
    Column("days", Integer, nullable=False),
    Column("reminders_json", Text, nullable=False),  # the days-left marks already reminded
    Column("stopped_at", DateTime(timezone=True)),
    Column("stop_reason", Text),
    Column("stop_evidence_json", Text),
    Column("terminated_at", DateTime(timezone=True)),
    Column("restrictions_json", Text),
    Index("ix_reseller_clock_state", "state", "ends_on"),
)
