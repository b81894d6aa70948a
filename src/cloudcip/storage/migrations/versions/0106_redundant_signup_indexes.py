"""indexes whose columns begin another index dropped: person_determination (application_id) and
screening_hit (subject_type, subject_id)

Revision ID: 0106
Revises: 0100
Create Date: 2026-12-06 09:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0106"
down_revision: str | None = "0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None  # 0100 follows 0090 and 0060 (person_determination, screening_hit)


def upgrade() -> None:
    # issue 11, B3: a signup's commit inserts into every index of the rows it adds. ix_person_determination_
    # subject (application_id, subject, status; 0090) serves every look-up by application_id (an
    # application's determinations, read ORDER BY id, are then sorted: a few rows)
    op.drop_index("ix_person_determination_application_id", table_name="person_determination")
    # D5: a hit's (subject_type, subject_id) begins uq_screening_hit_subject_entry, and ix_screening_hit_
    # subject_id (0060) finds a subject's hits by its id alone
    op.drop_index("ix_screening_hit_subject", table_name="screening_hit")


def downgrade() -> None:
    op.create_index("ix_screening_hit_subject", "screening_hit", ["subject_type", "subject_id"], unique=False)
    op.create_index("ix_person_determination_application_id", "person_determination", ["application_id"],
                    unique=False)
