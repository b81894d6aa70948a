"""account: who closed it (B1)

A closure the provider reports (API, CLI, an ``account.closed`` event) is a fact about the account
that no later decision of cloudcip may undo or move: ``closed_by`` is ``provider`` for those, and
``verification`` or ``special_measure`` for closures cloudcip itself made (which redress may undo).
Existing provider closures are found on the ledger (``close`` entries of the account).

Revision ID: 0018
Revises: 0024
Create Date: 2026-12-04 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.add_column(sa.Column("closed_by", sa.String(length=24), nullable=True))
    op.execute("UPDATE account SET closed_by = 'provider' WHERE closed_at IS NOT NULL AND id IN "
               "(SELECT record_id FROM ledger_entry WHERE record_type = 'account' AND action = 'close')")
    op.execute("UPDATE account SET closed_by = 'verification' WHERE closed_at IS NOT NULL AND closed_by IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.drop_column("closed_by")
