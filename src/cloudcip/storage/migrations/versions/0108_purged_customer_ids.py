"""customer: the index of the purged customers' ids holds theirs only (status = 'purged')

Revision ID: 0108
Revises: 0107
Create Date: 2026-12-06 10:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0108"
down_revision: str | None = "0107"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # 0107 follows 0090 (ix_customer_status_id)

PURGED = sa.text("status = 'purged'")


def upgrade() -> None:
    # issue 11, B3, H1: ix_customer_status_id (status, id; 0090) gave the certification's counts the few
    # purged customers' ids, and took an entry for every customer, so every signup's commit wrote a page
    # of it. This one holds the purged customers' ids alone; the certification names 'purged' in the
    # statement (reports.certification.live), which is how both engines match a partial index.
    op.create_index("ix_customer_purged_id", "customer", ["status", "id"], unique=False, sqlite_where=PURGED,
                    postgresql_where=PURGED)
    op.drop_index("ix_customer_status_id", table_name="customer")


def downgrade() -> None:
    op.create_index("ix_customer_status_id", "customer", ["status", "id"], unique=False)
    op.drop_index("ix_customer_purged_id", table_name="customer")
