"""notifications: people hear when a task is theirs (at once or in a daily digest) and when it is overdue;
e-mails carry what they are about

Revision ID: 0016
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("human_tasks") as batch:
        batch.add_column(sa.Column("overdue_alerted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("notify_by", sa.String(20), nullable=False, server_default="immediate"))
    op.create_table(
        "digest_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("human_tasks.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False, server_default="your_turn"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_digest_items_unsent", "digest_items", ["sent_at", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_digest_items_unsent", table_name="digest_items")
    op.drop_table("digest_items")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notify_by")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("tags")
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_column("overdue_alerted_at")
