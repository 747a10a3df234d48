"""dashboard: cases by notification time with the columns the counts across partnerships read

The administrator's counts aggregate every case notified in a period (a year of a deployment serving 150
partnerships: tens of thousands). With these columns in the index PostgreSQL answers from the index alone
(an index-only scan) instead of reading each case's wide row (docs/performance.md).

Revision ID: 0014
Revises: 0012
"""

from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = ["notified_at", "partnership_id", "status", "deadline", "submitted_at", "lcspr_recommended"]


def upgrade() -> None:
    op.create_index("ix_cases_outcomes", "cases", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_cases_outcomes", table_name="cases")
