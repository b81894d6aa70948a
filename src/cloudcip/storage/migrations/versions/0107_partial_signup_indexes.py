"""account (parent_account_id) and application (reverify_due) indexed only where set

Revision ID: 0107
Revises: 0106
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0107"
down_revision: str | None = "0106"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # 0106 follows 0100, 0005 and 0001 (application, account)

PARTIAL = {"account": ("ix_account_parent_account_id", "parent_account_id"),
           "application": ("ix_application_reverify_due", "reverify_due")}


def upgrade() -> None:
    # issue 11, B3: a signup's commit inserted into each of these a NULL (a direct signup has no parent
    # account; a case has no re-verification date until one is set), every NULL on the same page. Every
    # statement reading them asks for a value (parent_account_id = ?, reverify_due <= ?), which implies
    # IS NOT NULL, so SQLite and PostgreSQL use the partial index for it as they used the whole one.
    for table, (name, column) in PARTIAL.items():
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], unique=False, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for table, (name, column) in PARTIAL.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], unique=False)
