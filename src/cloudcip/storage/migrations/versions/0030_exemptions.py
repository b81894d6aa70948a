"""exemption, exemption_notice, exemption_use: the exemption register (F1)

Revision ID: 0030
Revises: 0001
Create Date: 2026-12-04 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exemption",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_value", sa.String(length=32), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("steps_json", sa.Text(), nullable=False),
        sa.Column("conditions_json", sa.Text(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revocation_reason", sa.String(length=500), nullable=True),
        sa.Column("ended_flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exemption")),
    )
    op.create_index("ix_exemption_scope", "exemption", ["scope_kind", "scope_value"])
    op.create_table(
        "exemption_notice",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("exemption_id", sa.String(length=36), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["exemption_id"], ["exemption.id"],
                                name=op.f("fk_exemption_notice_exemption_id_exemption")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exemption_notice")),
    )
    op.create_index(op.f("ix_exemption_notice_exemption_id"), "exemption_notice", ["exemption_id"])
    op.create_table(
        "exemption_use",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("exemption_id", sa.String(length=36), nullable=False),
        sa.Column("application_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("steps_json", sa.Text(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["exemption_id"], ["exemption.id"],
                                name=op.f("fk_exemption_use_exemption_id_exemption")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exemption_use")),
    )
    op.create_index("ix_exemption_use_exemption", "exemption_use", ["exemption_id", "flagged_at"])
    op.create_index("ix_exemption_use_account", "exemption_use", ["account_id"])


def downgrade() -> None:
    op.drop_table("exemption_use")
    op.drop_table("exemption_notice")
    op.drop_table("exemption")
