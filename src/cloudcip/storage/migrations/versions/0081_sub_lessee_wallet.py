"""sub_lessee.wallet_sealed: a sub-lessee's crypto wallet (currency and address), sealed under the
reseller customer's data key like its e-mail; linked by its blind index in the graph (E2, G1, B2)

Revision ID: 0081
Revises: 0006
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0081"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sub_lessee") as batch:
        batch.add_column(sa.Column("wallet_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sub_lessee") as batch:
        batch.drop_column("wallet_sealed")
