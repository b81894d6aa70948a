"""shared_indicator, shared_indicator_match, sharing_pull_state: indicators taken in from peers (G3)

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shared_indicator",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=True),
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.Column("valid_from_ms", sa.BigInteger(), nullable=False),
        sa.Column("valid_until_ms", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", "source", name=op.f("pk_shared_indicator")),
    )
    op.create_table(
        "shared_indicator_match",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("indicator_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=True),
        sa.Column("subject_type", sa.String(length=24), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("matched_on", sa.String(length=24), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shared_indicator_match")),
        sa.UniqueConstraint("indicator_id", "source", "subject_type", "subject_id", "matched_on",
                            name="uq_shared_indicator_match_subject"),
    )
    op.create_index("ix_shared_indicator_match_state", "shared_indicator_match", ["state", "created_at"])
    op.create_index("ix_shared_indicator_match_subject", "shared_indicator_match", ["subject_type", "subject_id"])
    op.create_table(
        "sharing_pull_state",
        sa.Column("collection_url", sa.String(length=500), nullable=False),
        sa.Column("peer", sa.String(length=200), nullable=False),
        sa.Column("added_after", sa.String(length=32), nullable=True),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("collection_url", name=op.f("pk_sharing_pull_state")),
    )


def downgrade() -> None:
    for table in ("sharing_pull_state", "shared_indicator_match", "shared_indicator"):
        op.drop_table(table)
