"""incident_report, incident_disclosure: reports of malicious activity and reseller non-compliance (G4)

A report is kept as made (content sealed under the subject customer's data key, its SHA-256 beside
it and on the ledger); each disclosure is a row of its own.

Revision ID: 0035
Revises: 0001
Create Date: 2026-12-01 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_report",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_report")),
    )
    op.create_index("ix_incident_report_account", "incident_report", ["account_id"])
    op.create_index("ix_incident_report_customer", "incident_report", ["customer_id"])
    op.create_table(
        "incident_disclosure",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disclosed_by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident_report.id"],
                                name=op.f("fk_incident_disclosure_incident_id_incident_report")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_disclosure")),
    )
    op.create_index("ix_incident_disclosure_incident", "incident_disclosure", ["incident_id"])


def downgrade() -> None:
    op.drop_table("incident_disclosure")
    op.drop_table("incident_report")
