"""risk_score: the last risk score of each account with its factors (G2)

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-04 20:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_score",
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("factors_json", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_risk_score")),
    )
    op.create_index("ix_risk_score_computed", "risk_score", ["computed_at"])


def downgrade() -> None:
    op.drop_table("risk_score")
