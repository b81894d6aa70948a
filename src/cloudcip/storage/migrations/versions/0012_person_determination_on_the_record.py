"""the current U.S./foreign determination on the customer and beneficial-owner records (A2, D1)

Revision ID: 0012
Revises: 0005
Create Date: 2026-11-29 10:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('customer', 'beneficial_owner'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('person_status', sa.String(length=16), nullable=True))
            batch_op.add_column(sa.Column('person_basis', sa.String(length=24), nullable=True))


def downgrade() -> None:
    for table in ('beneficial_owner', 'customer'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('person_basis')
            batch_op.drop_column('person_status')
