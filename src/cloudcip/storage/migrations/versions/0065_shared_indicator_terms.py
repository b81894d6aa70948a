"""shared_indicator_term: the e-mail and wallet observables of stored indicators as blind-index tokens,
so later subjects are matched against them (G3, G1)

Revision ID: 0065
Revises: 0037
Create Date: 2026-12-05 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0065"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shared_indicator_term",
        sa.Column("indicator_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("indicator_id", "source", "kind", "token", name=op.f("pk_shared_indicator_term")),
    )
    op.create_index("ix_shared_indicator_term_token", "shared_indicator_term", ["token", "kind"])


def downgrade() -> None:
    op.drop_table("shared_indicator_term")
