"""process versions are tried before they go live: every bundled scenario's last result per version, and
whether a version was ever active (a candidate that never was may be discarded)

Revision ID: 0019
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_versions") as batch:
        batch.add_column(sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True))
    # Versions already in use, or at or before the active one, count as having been active: only a candidate
    # deployed after the active version, on which no case started, may be discarded.
    op.execute(
        "UPDATE process_versions SET activated_at = deployed_at WHERE active"
        " OR id IN (SELECT process_version_id FROM cases WHERE process_version_id IS NOT NULL)"
        " OR number <= (SELECT max(number) FROM process_versions WHERE active)"
    )
    op.create_table(
        "process_version_trials",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("process_versions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scenario", sa.String(200), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False, server_default=""),
        sa.Column("tried_by", sa.String(200), nullable=False),
        sa.Column("tried_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_process_version_trials_version", "process_version_trials", ["version_id", "scenario"])


def downgrade() -> None:
    op.drop_index("ix_process_version_trials_version", table_name="process_version_trials")
    op.drop_table("process_version_trials")
    with op.batch_alter_table("process_versions") as batch:
        batch.drop_column("activated_at")
