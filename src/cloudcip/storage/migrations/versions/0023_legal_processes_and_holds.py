"""legal processes, their scope, preservation holds (B1, B4, B5)

Replaces the per-account ``legal_hold`` table of 0002, which nothing wrote, with holds placed under
a registered legal process and the customers and accounts each one froze.

Revision ID: 0023
Revises: 0001
Depends on: 0002 (it drops the table 0002 created)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0002"


def upgrade() -> None:
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_hold_account_id"))
    op.drop_table("legal_hold")
    op.create_table(
        "legal_process",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("authority", sa.String(length=300), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("handler", sa.String(length=200), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("window_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unmask", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_tree_size", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_process")),
    )
    op.create_table(
        "legal_process_scope",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("process_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=True),
        sa.Column("identifier_kind", sa.String(length=16), nullable=True),
        sa.Column("identifier_index", sa.String(length=40), nullable=True),
        sa.Column("network_low", sa.LargeBinary(length=16), nullable=True),
        sa.Column("network_high", sa.LargeBinary(length=16), nullable=True),
        sa.ForeignKeyConstraint(["process_id"], ["legal_process.id"],
                                name=op.f("fk_legal_process_scope_process_id_legal_process")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_process_scope")),
    )
    with op.batch_alter_table("legal_process_scope", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_process_scope_process_id"), ["process_id"], unique=False)
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("process_id", sa.String(length=36), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["process_id"], ["legal_process.id"],
                                name=op.f("fk_legal_hold_process_id_legal_process")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_hold_process_id"), ["process_id"], unique=False)
    op.create_table(
        "legal_hold_subject",
        sa.Column("hold_id", sa.String(length=36), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["hold_id"], ["legal_hold.id"], name=op.f("fk_legal_hold_subject_hold_id_legal_hold")),
        sa.PrimaryKeyConstraint("hold_id", "subject_type", "subject_id", name=op.f("pk_legal_hold_subject")),
    )
    with op.batch_alter_table("legal_hold_subject", schema=None) as batch_op:
        batch_op.create_index("ix_legal_hold_subject_subject", ["subject_type", "subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("legal_hold_subject", schema=None) as batch_op:
        batch_op.drop_index("ix_legal_hold_subject_subject")
    op.drop_table("legal_hold_subject")
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_hold_process_id"))
    op.drop_table("legal_hold")
    with op.batch_alter_table("legal_process_scope", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_legal_process_scope_process_id"))
    op.drop_table("legal_process_scope")
    op.drop_table("legal_process")
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=128), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_hold")),
    )
    with op.batch_alter_table("legal_hold", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_hold_account_id"), ["account_id"], unique=False)
