"""the certification's figures kept until the records they count change: a stamp bumped by triggers

Revision ID: 0077
Revises: 0061
Create Date: 2026-12-05 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0077"
down_revision: str | None = "0061"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # 0061 follows 0005 (application, person_determination)

# H1: the tables (and columns) the certification's counts read; any change to them bumps the stamp
WATCHED: dict[str, tuple[str, ...]] = {
    "customer": ("status", "residence_country"),
    "beneficial_owner": ("customer_id", "position", "residence_country"),
    "person_determination": ("application_id", "subject", "status"),
    "application": ("customer_id", "account_id", "state", "created_at"),
    "account": ("customer_id", "type", "state", "closed_at"),
}
TRIGGERS = {"sqlite": 3 * len(WATCHED), "postgresql": len(WATCHED)}  # reports.certification checks them
BUMP = "UPDATE report_figure_stamp SET version = version + 1 WHERE name = 'certification'"
FUNCTION = "cloudcip_bump_certification_stamp"


def upgrade() -> None:
    op.create_table(
        "report_figure_stamp",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute("INSERT INTO report_figure_stamp (name, version) VALUES ('certification', 0)")
    # the certification's customers by country, read from this index alone
    op.create_index("ix_customer_country_status", "customer", ["residence_country", "status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   f"BEGIN {BUMP}; RETURN NULL; END $$")
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER certification_stamp_{table} AFTER INSERT OR DELETE OR UPDATE OF "
                       f"{', '.join(columns)} ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()")
        return
    for table, columns in WATCHED.items():  # SQLite: row triggers only
        for event in ("INSERT", "DELETE", f"UPDATE OF {', '.join(columns)}"):
            name = f"certification_stamp_{table}_{event.split()[0].lower()}"
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS certification_stamp_{table} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    else:
        for table in WATCHED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS certification_stamp_{table}_{event}")
    op.drop_index("ix_customer_country_status", table_name="customer")
    op.drop_table("report_figure_stamp")
