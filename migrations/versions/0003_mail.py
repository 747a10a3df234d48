"""mail: provider calendar items of meetings; HTML bodies of outbox messages

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_meeting_items",
        sa.Column("uid", sa.String(length=300), nullable=False),
        sa.Column("transport", sa.String(length=20), nullable=False),
        sa.Column("mailbox", sa.String(length=300), nullable=False),
        sa.Column("item_id", sa.String(length=1000), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uid"),
    )
    with op.batch_alter_table("mail_meeting_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mail_meeting_items_message_id"), ["message_id"], unique=False)
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_html", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("body_html")
    with op.batch_alter_table("mail_meeting_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_meeting_items_message_id"))
    op.drop_table("mail_meeting_items")
