"""link_identifier, link_cluster: the shared-identifier graph and its clusters (G1)

Revision ID: 0038
Revises: 0001
Create Date: 2026-12-04 19:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_identifier",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_type", sa.String(length=24), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("display", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_link_identifier")),
        sa.UniqueConstraint("subject_type", "subject_id", "kind", "token", name="uq_link_identifier_subject_token"),
    )
    op.create_index("ix_link_identifier_token", "link_identifier", ["token", "kind"])
    op.create_index("ix_link_identifier_customer", "link_identifier", ["customer_id"])
    op.create_table(
        "link_cluster",
        sa.Column("subject_type", sa.String(length=24), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("cluster_id", sa.String(length=36), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_type", "subject_id", name=op.f("pk_link_cluster")),
    )
    op.create_index("ix_link_cluster_cluster", "link_cluster", ["cluster_id"])
    op.create_index("ix_link_cluster_customer", "link_cluster", ["customer_id"])


def downgrade() -> None:
    op.drop_table("link_cluster")
    op.drop_table("link_identifier")
