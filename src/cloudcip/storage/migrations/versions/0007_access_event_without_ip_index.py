"""access_event without the (ip, time_ms) index

The accounts seen from an IP or network come from the rollup ``access_ip_seen`` (its
``(ip, account_id)`` index); a pair only partly inside the window is re-counted through
``(account_id, time_ms, ip)``, which covers that query too. Dropping the third index of the event
table is what lets intake reach 100,000 events/s on SQLite (issue 5; docs/benchmarks.md).

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-28 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # on PostgreSQL, dropping the partitioned index drops it from every partition
    op.execute("DROP INDEX IF EXISTS ix_access_event_ip_time")


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_access_event_ip_time ON access_event (ip, time_ms)")
