"""mail delivery state: hand-over time and Graph draft of outbox messages; Graph iCalUId of meetings;
SMTP refusals that were recorded as sent become failed

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Before this revision the SMTP transport stored the server's answer to the message body as the provider id
# without looking at its code, so a refusal ("554 5.7.1 ...", "451 4.3.0 ...") was recorded as sent. Those rows
# become failed, for a person to send again or cancel from the Outbox page; nothing is sent by this upgrade.
# No other transport stores an id that starts with a three-digit code and a space.
REFUSED_AS_SENT = ("status = 'sent' AND (provider_id LIKE '4__ %' OR provider_id LIKE '5__ %') "
                   "AND substr(provider_id, 2, 1) BETWEEN '0' AND '9' AND substr(provider_id, 3, 1) BETWEEN '0' AND '9'")


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("provider_draft_id", sa.String(length=1000), nullable=True))
    with op.batch_alter_table("mail_meeting_items") as batch:
        batch.add_column(sa.Column("provider_uid", sa.String(length=1000), nullable=True))
    op.execute(
        "UPDATE outbox_messages SET status = 'failed', "
        "last_error = 'the SMTP server refused this message (' || provider_id || '); it was recorded as sent by "
        "mistake and has not been delivered' "
        f"WHERE {REFUSED_AS_SENT}")


def downgrade() -> None:
    with op.batch_alter_table("mail_meeting_items") as batch:
        batch.drop_column("provider_uid")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("provider_draft_id")
        batch.drop_column("handed_over_at")
