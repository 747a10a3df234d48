"""documents: origin, stored report context, agency and task of uploads

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("origin", sa.String(20), nullable=False, server_default="generated"))
        batch.add_column(sa.Column("content", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("agency_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("task_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("original_filename", sa.String(300), nullable=True))
        batch.create_foreign_key("fk_documents_task_id", "human_tasks", ["task_id"], ["id"])
        batch.create_index("ix_documents_task_id", ["task_id"])


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_index("ix_documents_task_id")
        batch.drop_constraint("fk_documents_task_id", type_="foreignkey")
        for column in ("original_filename", "task_id", "agency_id", "content", "origin"):
            batch.drop_column(column)
