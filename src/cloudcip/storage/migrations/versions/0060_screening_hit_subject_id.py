"""screening hits found by subject id alone (the roster counts a customer's and its owners' hits)

Revision ID: 0060
Revises: 0045
Create Date: 2026-12-05 01:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0060"
down_revision: str | None = "0045"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0004"


def upgrade() -> None:
    # H3: the examiner's roster counts each account's hits by the customer's and its beneficial owners'
    # ids; the (subject_type, subject_id) index does not serve a lookup by id alone
    op.create_index("ix_screening_hit_subject_id", "screening_hit", ["subject_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_screening_hit_subject_id", table_name="screening_hit")
