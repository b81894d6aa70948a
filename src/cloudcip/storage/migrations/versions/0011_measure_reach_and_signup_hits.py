"""who a measure reaches and why (D1, D2), signup hits in the register with the decision they caused (D5)

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-29 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('screening_hit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('decision', sa.String(length=24), nullable=True))
        batch_op.create_index('ix_screening_hit_application', ['application_id'], unique=False)
    with op.batch_alter_table('special_measure_effect', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basis_json', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('special_measure_effect', schema=None) as batch_op:
        batch_op.drop_column('basis_json')
    with op.batch_alter_table('screening_hit', schema=None) as batch_op:
        batch_op.drop_index('ix_screening_hit_application')
        batch_op.drop_column('decision')
        batch_op.drop_column('application_id')
