"""users and agencies for the web worklist

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact_email", sa.String(300), nullable=False),
        sa.Column("manager_email", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(300), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(50), nullable=False, index=True),
        sa.Column("agency_id", sa.String(40), sa.ForeignKey("agencies.id"), nullable=True),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("human_tasks") as batch:
        batch.create_index("ix_human_tasks_assignee", ["assignee", "state"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("chair_email", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("chair_email")
    with op.batch_alter_table("human_tasks") as batch:
        batch.drop_index("ix_human_tasks_assignee")
    op.drop_table("users")
    op.drop_table("agencies")
