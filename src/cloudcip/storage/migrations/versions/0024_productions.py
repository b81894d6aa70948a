"""productions made under legal processes (B5)

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "production",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("process_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("ledger_entries", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["process_id"], ["legal_process.id"],
                                name=op.f("fk_production_process_id_legal_process")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_production")),
    )
    with op.batch_alter_table("production", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_production_process_id"), ["process_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("production", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_production_process_id"))
    op.drop_table("production")
