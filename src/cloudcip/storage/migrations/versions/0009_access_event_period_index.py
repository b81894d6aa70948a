"""access_event on SQLite: one index led by the 30-day period

The account-led index ``(account_id, time_ms, ip)`` and the unique ``event_id`` index give way to
one unique index ``(bucket, account_id, time_ms, ip, event_id)``, where ``bucket`` is a virtual
column (``time_ms / 2592000000``, 30 days). Inserts then land in the current period's part of the
index, which stays in the page cache however many events are stored; an account's window is read
with one seek per period (C1, C3; issue 5, docs/benchmarks.md). The dedupe key becomes the event's
account, time, address and id: a redelivered event carries all four. PostgreSQL is unchanged (its
monthly partitions already bound the part of each index that intake touches).

Existing rows satisfy the new unique index: their event ids were unique, and rows without an id
never conflict.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-28 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKET_MS = 2_592_000_000  # cloudcip.access.schema.BUCKET_MS, fixed here as it was at this revision


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"ALTER TABLE access_event ADD COLUMN bucket INTEGER GENERATED ALWAYS AS (time_ms / {BUCKET_MS}) "
               "VIRTUAL")
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS uq_access_event_period_account "
               "ON access_event (bucket, account_id, time_ms, ip, event_id)")
    op.execute("DROP INDEX IF EXISTS ix_access_event_account_time")
    op.execute("DROP INDEX IF EXISTS uq_access_event_event_id")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS uq_access_event_event_id ON access_event (event_id)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_access_event_account_time ON access_event (account_id, time_ms, ip)")
    op.execute("DROP INDEX IF EXISTS uq_access_event_period_account")
    op.execute("ALTER TABLE access_event DROP COLUMN bucket")
