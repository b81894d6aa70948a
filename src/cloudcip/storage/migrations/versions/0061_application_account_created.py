"""an account's cases by time (the certification's and the roster's newest case of each account)

Revision ID: 0061
Revises: 0060
Create Date: 2026-12-05 01:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0061"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0005"


def upgrade() -> None:
    # H1: "open foreign accounts whose newest case is not approved" looks up each account's latest
    # case; with only the state index SQLite read every approved case for each account
    op.create_index("ix_application_account_created", "application", ["account_id", "created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_application_account_created", table_name="application")
