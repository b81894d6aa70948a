"""application (account_id) dropped: ix_application_account_created (account_id, created_at) serves
every look-up by account

Revision ID: 0100
Revises: 0090
Create Date: 2026-12-06 03:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0100"
down_revision: str | None = "0090"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # 0090 follows 0061 and 0005 (application and its indexes)


def upgrade() -> None:
    # issue 11, B3: every signup inserts into each of the application's indexes in its commit; this one
    # repeats the first column of ix_application_account_created (0061), which SQLite's planner already
    # chose for every statement reading cases by account (the newest case, the roster, the exemptions,
    # the certification), and which serves an equality on account_id on PostgreSQL as well
    op.drop_index("ix_application_account_id", table_name="application")


def downgrade() -> None:
    op.create_index("ix_application_account_id", "application", ["account_id"], unique=False)
