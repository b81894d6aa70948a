"""access_signal_cursor: where the signal follower stands in the event log

Signals are raised by a follower that reads the events by id (``cloudcip.access.follower``) instead
of by a thread of each API worker handed the batches it stored, so a crash loses no evaluation. The
cursor starts at the newest event already stored: those were evaluated at intake before this
revision.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 01:10:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    cursor = op.create_table(
        "access_signal_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_access_signal_cursor")),
    )
    newest = op.get_bind().execute(sa.text("SELECT max(id) FROM access_event")).scalar()
    op.bulk_insert(cursor, [{"name": "signals", "last_event_id": int(newest or 0), "updated_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("access_signal_cursor")
