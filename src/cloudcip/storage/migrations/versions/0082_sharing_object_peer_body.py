"""sharing_object.peer_body: an object from a peer as another peer receives it, scrubbed once when
stored instead of on every page served (G3)

Revision ID: 0082
Revises: 0036
Create Date: 2026-12-05 22:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0082"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sharing_object") as batch:
        batch.add_column(sa.Column("peer_body", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sharing_object") as batch:
        batch.drop_column("peer_body")
