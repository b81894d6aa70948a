"""the console's list of shared indicators read in its order from indexes: peers' by (received_at,
source, id) and by source; our own published ones by (object_type, source, date_added_us, object_id)

Revision ID: 0091
Revises: 0065
Create Date: 2026-12-05 22:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0091"
down_revision: str | None = "0065"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # 0065 follows 0037 and 0036 (shared_indicator, sharing_object)


def upgrade() -> None:
    # G3: the list is newest first by (received_at, source, id); a page after a position reads its rows only
    op.create_index("ix_shared_indicator_received", "shared_indicator", ["received_at", "source", "id"],
                    unique=False)
    op.create_index("ix_shared_indicator_source", "shared_indicator", ["source", "received_at"], unique=False)
    op.create_index("ix_sharing_object_kind_added", "sharing_object",
                    ["object_type", "source", "date_added_us", "object_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sharing_object_kind_added", table_name="sharing_object")
    op.drop_index("ix_shared_indicator_source", table_name="shared_indicator")
    op.drop_index("ix_shared_indicator_received", table_name="shared_indicator")
