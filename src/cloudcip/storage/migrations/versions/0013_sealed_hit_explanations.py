"""screening_hit: the explanation sealed (B2, B4, D5)

A hit's explanation speaks of the screened person (name parts, date of birth): it is stored sealed in
``explanation_sealed``, and ``explanation_json`` keeps only its masked form (the listed name, the
numeric features). Rows stored before this revision are sealed by ``cloudcip init``, which holds the
keyring (``screening.hits.seal_clear_explanations``); a migration never sees a key.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("screening_hit") as batch:
        batch.add_column(sa.Column("explanation_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("screening_hit") as batch:
        batch.drop_column("explanation_sealed")
