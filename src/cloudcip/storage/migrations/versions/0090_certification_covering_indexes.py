"""the certification's recount read from indexes: customers by status, beneficial owners by country,
determinations by (application, subject, status)

Revision ID: 0090
Revises: 0077
Create Date: 2026-12-05 22:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0090"
down_revision: str | None = "0077"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # 0077 follows 0061 and 0005 (customer, beneficial_owner, person_determination)


def upgrade() -> None:
    # H1: the counts of foreign beneficial owners and unverified foreign accounts leave out purged
    # customers by the (few) purged ids, read from this index, instead of reading each owner's customer row
    op.create_index("ix_customer_status_id", "customer", ["status", "id"], unique=False)
    # H1: the owners by country counted from an index holding what the count reads, not the wide rows
    op.create_index("ix_beneficial_owner_country", "beneficial_owner",
                    ["residence_country", "customer_id", "position"], unique=False)
    # H1, A2: "some determination says U.S. person" answered from the index alone
    op.create_index("ix_person_determination_subject", "person_determination",
                    ["application_id", "subject", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_person_determination_subject", table_name="person_determination")
    op.drop_index("ix_beneficial_owner_country", table_name="beneficial_owner")
    op.drop_index("ix_customer_status_id", table_name="customer")
