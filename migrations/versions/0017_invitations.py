"""invitations: agency staff named in a case's agency list who have no account are invited to make one;
agencies carry their type; invited accounts record who invited them, when they accepted and when they lapsed

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agencies") as batch:
        batch.add_column(sa.Column("kind", sa.String(40), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("invited_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("invited_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("lapsed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("partnership_id", sa.Integer(), sa.ForeignKey("partnerships.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("invited_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrong_addresses", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lapse_reported_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_invitations_user", "invitations", ["user_id", "created_at"])
    op.create_index("ix_invitations_open", "invitations", ["used_at", "withdrawn_at", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_invitations_open", table_name="invitations")
    op.drop_index("ix_invitations_user", table_name="invitations")
    op.drop_table("invitations")
    with op.batch_alter_table("users") as batch:
        for column in ("lapsed_at", "accepted_at", "invited_at", "invited_by"):
            batch.drop_column(column)
    with op.batch_alter_table("agencies") as batch:
        batch.drop_column("kind")
