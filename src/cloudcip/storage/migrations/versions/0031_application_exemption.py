"""application.exemption_id, application.exempted_steps: the exemption a decision applied (F1)

Revision ID: 0031
Revises: 0005
Create Date: 2026-12-04 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exemption_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("exempted_steps", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("exempted_steps")
        batch_op.drop_column("exemption_id")
