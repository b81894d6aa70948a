"""sharing_collection, sharing_peer, sharing_grant, sharing_object, sharing_status: the TAXII 2.1 server (G3)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sharing_collection",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_collection")),
    )
    op.create_table(
        "sharing_peer",
        sa.Column("api_key_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("api_key_id", name=op.f("pk_sharing_peer")),
    )
    op.create_table(
        "sharing_grant",
        sa.Column("api_key_id", sa.String(length=16), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("can_read", sa.Boolean(), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("api_key_id", "collection_id", name=op.f("pk_sharing_grant")),
    )
    op.create_table(
        "sharing_object",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("spec_version", sa.String(length=8), nullable=False),
        sa.Column("date_added_us", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=True),
        sa.Column("recipient", sa.String(length=200), nullable=True),
        sa.Column("is_first", sa.Boolean(), nullable=False),
        sa.Column("is_latest", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sharing_object")),
        sa.UniqueConstraint("collection_id", "object_id", "version", name="uq_sharing_object_version"),
    )
    op.create_index("ix_sharing_object_added", "sharing_object", ["collection_id", "date_added_us", "seq"])
    op.create_table(
        "sharing_status",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("collection_id", sa.String(length=36), nullable=False),
        sa.Column("api_key_id", sa.String(length=16), nullable=False),
        sa.Column("request_timestamp", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_status")),
    )


def downgrade() -> None:
    for table in ("sharing_status", "sharing_object", "sharing_grant", "sharing_peer", "sharing_collection"):
        op.drop_table(table)
