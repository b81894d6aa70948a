"""the CIP policy in force adopted through four eyes

Revision ID: 0045
Revises: 0001
Create Date: 2026-12-04 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0045"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cip_policy_adoption",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("policy_yaml", sa.Text(), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("change_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cip_policy_adoption")),
    )
    op.create_index(op.f("ix_cip_policy_adoption_adopted_at"), "cip_policy_adoption", ["adopted_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_cip_policy_adoption_adopted_at"), table_name="cip_policy_adoption")
    op.drop_table("cip_policy_adoption")
