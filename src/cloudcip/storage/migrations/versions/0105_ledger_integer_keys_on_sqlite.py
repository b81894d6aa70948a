"""SQLite: the ledger's keys (ledger_entry.idx, ledger_tree_head.tree_size) declared INTEGER, so each is
the table's rowid instead of a BIGINT column with a unique index of its own beside the table

Revision ID: 0105
Revises: 0001
Create Date: 2026-12-06 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0105"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {"ledger_entry": "idx", "ledger_tree_head": "tree_size"}


def upgrade() -> None:
    # issue 11, B3: on SQLite only a column declared exactly INTEGER PRIMARY KEY is the rowid; a BIGINT
    # key is a second, unique B-tree (sqlite_autoindex_*) that every signup's entries and tree head are
    # also inserted into. The tables are rebuilt (batch mode copies every row, values unchanged: the
    # same integers, the same leaves and signatures). PostgreSQL keeps BIGINT: nothing to do there.
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, key in KEYS.items():
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.alter_column(key, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=False,
                                  autoincrement=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, key in KEYS.items():
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.alter_column(key, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=False,
                                  autoincrement=False)
