"""Tables of screening: list snapshots and their parties, the special-measures register, screening
hits and their adjudication, re-screening runs (D1, D3, D4, D5).

- ``list_snapshot``: one row per imported publication of a list source, numbered per source
  (``version``); the in-force snapshot of a source is its highest version.
- ``list_party``: the parties of a snapshot as JSON documents (the ``DesignatedParty`` model), each
  with the SHA-256 of its canonical JSON (``document_hash``) so diffs and adjudications can tell
  whether an entry changed.
- ``special_measure``: the D1 register (jurisdiction or person; prohibit or conditions; dates).
- ``special_measure_effect``: what a measure did on its effective date (one row per account, or per
  customer when the customer holds no account yet), so the effective-date step is idempotent.
- ``screening_hit``: one row per (subject, list entry, subject hash, entry hash); a decision holds
  while both hashes are unchanged (D5).
- ``rescreen_run``: the resumable re-screening job (D4): its cursor advances in the same
  transaction as the hits of each batch; it records what it screened against (snapshots, measure
  states, matcher) so the next run can screen only what changed (delta re-screening).

No column holds a subject's personal data: subjects are referred to by id and a keyed hash.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
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

ID = 36  # uuid4 text

list_snapshot = Table(
    "list_snapshot",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("source", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("format", String(32), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("published", String(40)),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("imported_by", String(64), nullable=False),
    Column("parties", Integer, nullable=False),
    Column("files", Text, nullable=False),  # JSON list of file names (no directories)
    UniqueConstraint("source", "version", name="uq_list_snapshot_source_version"),
)

list_party = Table(
    "list_party",
    metadata,
    Column("snapshot_id", String(ID), ForeignKey("list_snapshot.id"), primary_key=True),
    Column("source_id", String(160), primary_key=True),
    Column("schema", String(16), nullable=False),
    Column("document_hash", String(64), nullable=False),
    Column("document_json", Text, nullable=False),
)

special_measure = Table(
    "special_measure",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("kind", String(16), nullable=False),  # jurisdiction | person
    Column("target", Text, nullable=False),
    Column("measure", String(16), nullable=False),  # prohibit | conditions
    Column("conditions_json", Text, nullable=False),
    Column("description", String(500)),
    Column("determination_date", Date, nullable=False),
    Column("effective_date", Date, nullable=False),
    Column("duration_days", Integer, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("extensions_json", Text, nullable=False),
    Column("covers_resellers", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revocation_reason", String(500)),
)

special_measure_effect = Table(
    "special_measure_effect",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("measure_id", String(ID), ForeignKey("special_measure.id"), nullable=False),
    Column("customer_id", String(ID), nullable=False),
    Column("account_id", String(ID)),  # null: the customer holds no account yet
    Column("action", String(16), nullable=False),  # closed | restricted | recorded
    Column("previous_state", String(24)),
    Column("applied_at", DateTime(timezone=True), nullable=False),
    # what the effect rests on: the subject, the jurisdiction and its evidence (names and strengths),
    # the U.S./foreign determination (D1, D2; migration 0011)
    Column("basis_json", Text),
    UniqueConstraint("measure_id", "customer_id", "account_id", name="uq_special_measure_effect"),
    Index("ix_special_measure_effect_customer", "customer_id"),
)

screening_hit = Table(
    "screening_hit",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("subject_type", String(24), nullable=False),  # customer | beneficial_owner | reseller | sub_lessee
    Column("subject_id", String(ID), nullable=False),
    Column("subject_hash", String(64), nullable=False),
    Column("list_source", String(64), nullable=False),
    Column("list_source_id", String(160), nullable=False),
    Column("party_hash", String(64), nullable=False),
    Column("score", Float, nullable=False),
    Column("band", String(8), nullable=False),
    Column("explanation_json", Text, nullable=False),  # the masked explanation (B2, B4; migration 0013)
    Column("state", String(16), nullable=False),  # open | confirmed | false_positive | escalated
    Column("reason", String(500)),
    Column("decided_by", String(64)),
    Column("decided_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # set by re-screening when the list entry left the list ("removed") or changed ("changed") since
    # the hit was found; the hit stays, so reviewers see it (D4, D5)
    Column("list_entry_status", String(16)),
    Column("list_entry_status_at", DateTime(timezone=True)),
    # a hit found at signup: the application, and the decision it caused (D5; migration 0011)
    Column("application_id", String(ID)),
    Column("decision", String(24)),
    # the whole explanation, sealed: it speaks of the screened person (B2, B4; migration 0013)
    Column("explanation_sealed", LargeBinary),
    UniqueConstraint(
        "subject_type", "subject_id", "list_source", "list_source_id", "subject_hash", "party_hash",
        name="uq_screening_hit_subject_entry",
    ),
    Index("ix_screening_hit_state", "state", "created_at"),
    # by (subject_type, subject_id): uq_screening_hit_subject_entry, which begins with them, or the id's
    # index below (ix_screening_hit_subject, the same two columns, dropped by 0106)
    Index("ix_screening_hit_subject_id", "subject_id"),  # H3: the roster, by id alone (migration 0060)
    Index("ix_screening_hit_application", "application_id"),
)

rescreen_run = Table(
    "rescreen_run",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("sequence", Integer, nullable=False),  # runs in the order they started
    Column("reason", String(200), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("cursor", String(ID)),  # the last customer id fully processed
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("hits", Integer, nullable=False),
    Column("state_key", String(64)),  # hash of the in-force snapshots and measure statuses it screened against
    Column("finished_at", DateTime(timezone=True)),
    Column("mode", String(8)),  # full | delta (null: a run from before delta re-screening)
    # what the run screened against: {"snapshots": {source: snapshot id}, "measures": {id: state},
    # "matcher": key}; a delta run also keeps the basis it started from ("from")
    Column("basis_json", Text),
    Column("records_as_of", DateTime(timezone=True)),  # records changed after this were not seen by the run
    Column("counts_json", Text),  # subjects screened, delta parties, customers fully screened, ...
)
