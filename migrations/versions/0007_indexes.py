"""indexes the benchmark asked for (docs/performance.md)

- human_tasks (role, due_at) WHERE state = 'ready': the worklist reads only ready tasks, in due order, out of
  millions of completed ones.
- human_tasks (agency_id, case_id): agency staff's case list and may-see-case check.
- cases (notified_at): the case list, newest first.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

READY = sa.text("state = 'ready'")


def upgrade() -> None:
    op.create_index("ix_human_tasks_ready", "human_tasks", ["role", "due_at"], postgresql_where=READY,
                    sqlite_where=READY)
    op.create_index("ix_human_tasks_agency", "human_tasks", ["agency_id", "case_id"])
    op.create_index("ix_cases_notified_at", "cases", ["notified_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_notified_at", table_name="cases")
    op.drop_index("ix_human_tasks_agency", table_name="human_tasks")
    op.drop_index("ix_human_tasks_ready", table_name="human_tasks")
