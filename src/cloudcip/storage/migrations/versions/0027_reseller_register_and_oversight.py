"""reseller register, CIP documents, oversight reviews, findings and termination clocks (E1, E3, G4)

Also indexes the sub-lessees of a Reseller Account by status and id, so a review's sample draws ids
by position without reading rows.

Revision ID: 0027
Revises: 0006
Create Date: 2026-12-04 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reseller",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("foreign_reseller", sa.Boolean(), nullable=False),
        sa.Column("person_status", sa.String(length=16), nullable=False),
        sa.Column("contact_email_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("contract_reference", sa.String(length=128), nullable=True),
        sa.Column("attestation", sa.Boolean(), nullable=False),
        sa.Column("certified_on", sa.Date(), nullable=True),
        sa.Column("certification_due", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id"),
    )
    op.create_index("ix_reseller_status", "reseller", ["status"])
    op.create_table(
        "reseller_cip_document",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reseller_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_type", sa.String(length=8), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["reseller_id"], ["reseller.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reseller_id", "version", name="uq_reseller_cip_version"),
    )
    op.create_table(
        "reseller_review",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reseller_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("scheduled_for", sa.Date(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("sample_requested", sa.Integer(), nullable=True),
        sa.Column("sample_seed", sa.Integer(), nullable=True),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["reseller_id"], ["reseller.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reseller_review_reseller", "reseller_review", ["reseller_id"])
    op.create_table(
        "reseller_review_item",
        sa.Column("review_id", sa.String(length=36), nullable=False),
        sa.Column("sub_lessee_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["review_id"], ["reseller_review.id"]),
        sa.PrimaryKeyConstraint("review_id", "sub_lessee_id"),
    )
    op.create_table(
        "reseller_finding",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reseller_id", sa.String(length=36), nullable=False),
        sa.Column("review_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["reseller_id"], ["reseller.id"]),
        sa.ForeignKeyConstraint(["review_id"], ["reseller_review.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reseller_finding_reseller", "reseller_finding", ["reseller_id"])
    op.create_table(
        "reseller_termination_clock",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("reseller_id", sa.String(length=36), nullable=False),
        sa.Column("finding_id", sa.String(length=36), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("reminders_json", sa.Text(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("stop_evidence_json", sa.Text(), nullable=True),
        sa.Column("terminated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restrictions_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["reseller_id"], ["reseller.id"]),
        sa.ForeignKeyConstraint(["finding_id"], ["reseller_finding.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reseller_clock_state", "reseller_termination_clock", ["state", "ends_on"])
    op.create_index("ix_sub_lessee_reseller_status", "sub_lessee", ["reseller_account_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_sub_lessee_reseller_status", table_name="sub_lessee")
    op.drop_index("ix_reseller_clock_state", table_name="reseller_termination_clock")
    op.drop_table("reseller_termination_clock")
    op.drop_index("ix_reseller_finding_reseller", table_name="reseller_finding")
    op.drop_table("reseller_finding")
    op.drop_table("reseller_review_item")
    op.drop_index("ix_reseller_review_reseller", table_name="reseller_review")
    op.drop_table("reseller_review")
    op.drop_table("reseller_cip_document")
    op.drop_index("ix_reseller_status", table_name="reseller")
    op.drop_table("reseller")
