"""web sessions held on the server (signing out, limits and administrators end them); refused sign-ins
counted per lock, and stale throttle rows pruned by their window

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(50), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
    )
    op.create_index("ix_web_sessions_user", "web_sessions", ["user_id", "ended_at"])
    with op.batch_alter_table("sign_in_throttle") as batch:
        batch.add_column(sa.Column("refused", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_sign_in_throttle_window", "sign_in_throttle", ["window_started_at"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_throttle_window", table_name="sign_in_throttle")
    with op.batch_alter_table("sign_in_throttle") as batch:
        batch.drop_column("refused")
    op.drop_index("ix_web_sessions_user", table_name="web_sessions")
    op.drop_table("web_sessions")
