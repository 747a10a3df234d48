"""security: hash-chained audit trail, sign-in throttling and lockout, TOTP, legal hold

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
# Names the unnamed foreign keys of 0001 so SQLite's batch mode can drop one.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    bind = op.get_bind()
    # The audit trail outlives a purged case: audit_events.case_id keeps the id without a foreign key.
    if bind.dialect.name == "sqlite":
        with op.batch_alter_table("audit_events", naming_convention=NAMING, recreate="always") as batch:
            batch.drop_constraint("fk_audit_events_case_id_cases", type_="foreignkey")
            batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
            batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    else:
        inspector = sa.inspect(bind)
        for fk in inspector.get_foreign_keys("audit_events"):
            if fk["referred_table"] == "cases" and fk.get("name"):
                op.drop_constraint(fk["name"], "audit_events", type_="foreignkey")
        op.add_column("audit_events", sa.Column("prev_hash", sa.String(64), nullable=True))
        op.add_column("audit_events", sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("last_event_id", sa.Integer(), nullable=True),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
    )
    _chain_existing_events(bind)
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()))


def _chain_existing_events(bind: sa.engine.Connection) -> None:
    """Hash the events already there, in id order, so the chain starts at the first event ever recorded."""
    from rapidreview.services.platform.audit import canonical, chain_hash
    from rapidreview.store.models import UTCDateTime

    events = sa.table("audit_events", sa.column("id", sa.Integer()), sa.column("case_id", sa.Integer()),
                      sa.column("at", UTCDateTime()), sa.column("type", sa.String()), sa.column("actor", sa.String()),
                      sa.column("payload", sa.JSON()), sa.column("prev_hash", sa.String()),
                      sa.column("hash", sa.String()))
    prev, count, last = GENESIS, 0, None
    for row in bind.execute(sa.select(events).order_by(events.c.id)).mappings().all():
        digest = chain_hash(prev, canonical(row["case_id"], row["at"], row["type"], row["actor"], row["payload"] or {}))
        bind.execute(events.update().where(events.c.id == row["id"]).values(prev_hash=prev, hash=digest))
        prev, count, last = digest, count + 1, row["id"]
    head = sa.table("audit_chain_head", sa.column("id", sa.Integer()), sa.column("last_event_id", sa.Integer()),
                    sa.column("hash", sa.String()), sa.column("events", sa.Integer()))
    bind.execute(head.insert().values(id=1, last_event_id=last, hash=prev, events=count))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("legal_hold")
    with op.batch_alter_table("users") as batch:
        for column in ("totp_last_step", "totp_confirmed_at", "totp_secret"):
            batch.drop_column(column)
    op.drop_table("sign_in_throttle")
    op.drop_table("audit_chain_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.create_foreign_key("fk_audit_events_case_id_cases", "cases", ["case_id"], ["id"])
