"""scheduler: case wake-ups and step retries, outbox claims, heartbeats, wake-up notifications

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# On PostgreSQL every scheduler LISTENs on rapidreview_<schema>. These triggers NOTIFY it whenever a case's
# wake-up time or a pending message's attempt time is set, whoever wrote it (a step, the web app, a person
# with psql), so a new earlier timer is picked up at once. NOTIFY is delivered on commit, never on rollback.
WAKE_FUNCTIONS = """
CREATE FUNCTION rapidreview_wake_case() RETURNS trigger AS $$
BEGIN
    IF NEW.wake_at IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.wake_at IS DISTINCT FROM OLD.wake_at) THEN
        PERFORM pg_notify('rapidreview_' || TG_TABLE_SCHEMA, 'cases ' || extract(epoch FROM NEW.wake_at));
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE FUNCTION rapidreview_wake_outbox() RETURNS trigger AS $$
BEGIN
    IF NEW.status = 'pending' AND (TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status
                                   OR NEW.next_attempt_at IS DISTINCT FROM OLD.next_attempt_at) THEN
        PERFORM pg_notify('rapidreview_' || TG_TABLE_SCHEMA, 'outbox ' || extract(epoch FROM NEW.next_attempt_at));
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER cases_wake AFTER INSERT OR UPDATE OF wake_at ON cases
    FOR EACH ROW EXECUTE FUNCTION rapidreview_wake_case();
CREATE TRIGGER outbox_messages_wake AFTER INSERT OR UPDATE OF status, next_attempt_at ON outbox_messages
    FOR EACH ROW EXECUTE FUNCTION rapidreview_wake_outbox();
"""


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wake_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("engine_attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("engine_failed_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_wake_at"), ["wake_at"], unique=False)
    op.execute("UPDATE cases SET wake_at = next_timer_due")

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("task_waits", sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table(
        "scheduler_heartbeats",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_wake_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(WAKE_FUNCTIONS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_messages_wake ON outbox_messages")
        op.execute("DROP TRIGGER IF EXISTS cases_wake ON cases")
        op.execute("DROP FUNCTION IF EXISTS rapidreview_wake_outbox()")
        op.execute("DROP FUNCTION IF EXISTS rapidreview_wake_case()")
    op.drop_table("scheduler_heartbeats")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("task_waits")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("last_attempt_at")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_wake_at"))
        batch_op.drop_column("engine_failed_since")
        batch_op.drop_column("engine_attempts")
        batch_op.drop_column("wake_at")
