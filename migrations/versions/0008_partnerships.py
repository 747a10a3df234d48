"""partnerships: one deployment, many safeguarding partnerships, each seeing only its own

- partnerships (id, code, name, active, created_at), with one partnership, code ``default``, holding
  everything already there.
- partnership_id (NOT NULL, foreign key) on users, agencies, cases, and on human_tasks copied from the case,
  so the worklist's index can lead with it.
- human_tasks (partnership_id, role, due_at) WHERE state = 'ready' replaces (role, due_at): the worklist reads
  one partnership's ready tasks; cases (partnership_id, notified_at): a partnership's case list, newest first.
- cases (chair_email): the worklist's "cases this person chairs", which otherwise reads every case of the
  partnership.

The column is added with the default partnership's id as its server default (PostgreSQL 11+ does that
without rewriting the table, which matters for millions of task rows), then the default is dropped.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# The release before this one inserts rows without partnership_id, which is NOT NULL from here on: stop the
# services before upgrading across it (rapidreview.store.schema_revisions, docs/operations.md).
breaks_running_release = True

READY = sa.text("state = 'ready'")
TABLES = ("users", "agencies", "cases", "human_tasks")
INDEXED = ("users", "agencies")  # small tables: admin pages list a partnership's rows


def upgrade() -> None:
    op.create_table(
        "partnerships",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    partnerships = sa.table("partnerships", sa.column("id", sa.Integer()), sa.column("code", sa.String()),
                            sa.column("name", sa.String()), sa.column("active", sa.Boolean()),
                            sa.column("created_at", sa.DateTime(timezone=True)))
    bind = op.get_bind()
    bind.execute(partnerships.insert().values(code="default", name="Default partnership", active=True,
                                              created_at=sa.func.current_timestamp()))
    default_id = bind.scalar(sa.select(partnerships.c.id).where(partnerships.c.code == "default"))
    assert default_id is not None

    op.drop_index("ix_human_tasks_ready", table_name="human_tasks")
    for table in TABLES:
        # Every existing row joins the default partnership as the column appears.
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("partnership_id", sa.Integer(), nullable=False,
                                       server_default=sa.text(str(int(default_id)))))
        with op.batch_alter_table(table) as batch:
            batch.alter_column("partnership_id", existing_type=sa.Integer(), existing_nullable=False,
                               server_default=None)
            batch.create_foreign_key(f"fk_{table}_partnership_id_partnerships", "partnerships",
                                     ["partnership_id"], ["id"])
            if table in INDEXED:
                batch.create_index(f"ix_{table}_partnership_id", ["partnership_id"])
    op.create_index("ix_human_tasks_ready", "human_tasks", ["partnership_id", "role", "due_at"],
                    postgresql_where=READY, sqlite_where=READY)
    op.create_index("ix_cases_partnership", "cases", ["partnership_id", "notified_at"])
    op.create_index("ix_cases_chair", "cases", ["chair_email"])


def downgrade() -> None:
    op.drop_index("ix_cases_chair", table_name="cases")
    op.drop_index("ix_cases_partnership", table_name="cases")
    op.drop_index("ix_human_tasks_ready", table_name="human_tasks")
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            if table in INDEXED:
                batch.drop_index(f"ix_{table}_partnership_id")
            batch.drop_constraint(f"fk_{table}_partnership_id_partnerships", type_="foreignkey")
            batch.drop_column("partnership_id")
    op.create_index("ix_human_tasks_ready", "human_tasks", ["role", "due_at"], postgresql_where=READY,
                    sqlite_where=READY)
    op.drop_table("partnerships")
