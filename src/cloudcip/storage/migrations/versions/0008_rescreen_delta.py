"""delta re-screening: what a run screened against; hits whose list entry was removed or changed

Revision ID: 0008
Revises: 0004
Create Date: 2026-11-28 15:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rescreen_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mode', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('basis_json', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('records_as_of', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('counts_json', sa.Text(), nullable=True))
    with op.batch_alter_table('screening_hit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('list_entry_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('list_entry_status_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('screening_hit', schema=None) as batch_op:
        batch_op.drop_column('list_entry_status_at')
        batch_op.drop_column('list_entry_status')
    with op.batch_alter_table('rescreen_run', schema=None) as batch_op:
        batch_op.drop_column('counts_json')
        batch_op.drop_column('records_as_of')
        batch_op.drop_column('basis_json')
        batch_op.drop_column('mode')
