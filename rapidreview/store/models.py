"""SQLAlchemy models. Every datetime column is timezone-aware and holds UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from rapidreview import clock


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which drops offsets) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: every time must carry its offset")
        return value.astimezone(UTC) if dialect.name != "sqlite" else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return clock.now()


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Partnership(Base):
    """A safeguarding partnership. One deployment serves many; staff, agencies and cases each belong to one,
    and every query a person's request makes is scoped to theirs (docs/security.md). Process versions are
    deployment-wide."""

    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # short and stable: `--partnership CODE`
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # {"contact_name": ..., "mailboxes": {role: address}}: where its e-mails go (0010). The default
    # partnership's come from the deployment's settings instead.
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)


_DEFAULT_PARTNERSHIP = select(Partnership.id).where(Partnership.code == "default").scalar_subquery()


class ProcessVersion(Base):
    __tablename__ = "process_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    process_id: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column(default=_now)
    note: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    # When it first went live; None for a candidate that never did (only such a one may be discarded).
    activated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    files: Mapped[list[ProcessFile]] = relationship(back_populates="version", cascade="all, delete-orphan")
    trials: Mapped[list[VersionTrial]] = relationship(back_populates="version", cascade="all, delete-orphan",
                                                      order_by="VersionTrial.id")


class VersionTrial(Base):
    """One bundled scenario run on a version before it goes live: whether it ran to its end, and what it did."""

    __tablename__ = "process_version_trials"
    __table_args__ = (Index("ix_process_version_trials_version", "version_id", "scenario"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id", ondelete="CASCADE"))
    scenario: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool] = mapped_column(Boolean)
    summary: Mapped[str] = mapped_column(Text, default="")
    tried_by: Mapped[str] = mapped_column(String(200))
    tried_at: Mapped[datetime] = mapped_column(default=_now)
    version: Mapped[ProcessVersion] = relationship(back_populates="trials")


class ProcessFile(Base):
    """BPMN, DMN and form files of a version, stored whole so a version can be re-read and compared."""

    __tablename__ = "process_files"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[ProcessVersion] = relationship(back_populates="files")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_notified_at", "notified_at"),  # newest first, deployment-wide (retention) (0007)
        Index("ix_cases_partnership", "partnership_id", "notified_at"),  # a partnership's case list (0008)
        Index("ix_cases_chair", "chair_email"),  # the worklist's "cases I chair" (0008)
        Index("ix_cases_outcomes", "notified_at", "partnership_id", "status", "deadline", "submitted_at",
              "lcspr_recommended"),  # the administrator's counts, from the index alone (0014)
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(50), unique=True)
    # The partnership of the person who started the case; callers naming none (the simulator, scripts) get the
    # default partnership, looked up in the INSERT itself.
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), default=_DEFAULT_PARTNERSHIP)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    status: Mapped[str] = mapped_column(String(30), default="open", index=True)
    notified_at: Mapped[datetime]
    day_one: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    notification: Mapped[dict[str, Any]] = mapped_column(JSON)
    workflow_json: Mapped[str] = mapped_column(Text)
    next_timer_due: Mapped[datetime | None] = mapped_column(index=True)
    submitted_at: Mapped[datetime | None]
    lcspr_recommended: Mapped[bool | None] = mapped_column(Boolean)
    engine_error: Mapped[str | None] = mapped_column(Text)
    chair_email: Mapped[str | None] = mapped_column(String(300))  # the chair appointed for this case
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # When the scheduler must next step the case: its next timer, the retry of a failed step, or "now"
    # when work a task waits for has finished (the National Panel e-mail was accepted). Null: nothing to do.
    wake_at: Mapped[datetime | None] = mapped_column(index=True)
    engine_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # failed steps in a row
    engine_failed_since: Mapped[datetime | None]
    # A legal hold keeps the case (and its documents) past its retention period: purge skips it.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # A demonstration case runs this many seconds ahead of the real clock (moved on from its page; 0021).
    clock_offset_s: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """A user task as people see it: the engine has no assignee or claim, so they live here."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        UniqueConstraint("case_id", "engine_task_id"),
        Index("ix_human_tasks_open", "state", "role"),
        Index("ix_human_tasks_assignee", "assignee", "state"),
        # The worklist reads its partnership's ready tasks only, by role and due date (migrations 0007 and
        # 0008, docs/performance.md): its cost follows one partnership's open work, not the deployment's.
        Index("ix_human_tasks_ready", "partnership_id", "role", "due_at", postgresql_where=text("state = 'ready'"),
              sqlite_where=text("state = 'ready'")),
        Index("ix_human_tasks_agency", "agency_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # The case's partnership, copied so the worklist's index can lead with it (a task never changes case).
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"))
    engine_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))
    process_id: Mapped[str] = mapped_column(String(100))
    lane: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str | None] = mapped_column(String(50))
    form: Mapped[str | None] = mapped_column(String(200))
    partner: Mapped[str | None] = mapped_column(String(10))
    agency_id: Mapped[str | None] = mapped_column(String(40))
    agency_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="ready")  # ready, completed, cancelled
    assignee: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=_now)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Its holder and the Partnership Manager were told it is overdue (once; 0016).
    overdue_alerted_at: Mapped[datetime | None]


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("case_id", "kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(500))  # relative to the documents folder
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # generated (rendered from a template) or uploaded (a person's .docx, checked: docs/documents.md)
    origin: Mapped[str] = mapped_column(String(20), default="generated", server_default="generated")
    # The report context a generated version was rendered from, so two versions can be compared field by field.
    content: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    agency_id: Mapped[str | None] = mapped_column(String(40))  # an agency's uploaded information sharing form
    task_id: Mapped[int | None] = mapped_column(ForeignKey("human_tasks.id"), index=True)  # the task it is attached to
    original_filename: Mapped[str | None] = mapped_column(String(300))  # as the uploader named it


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)  # RFC 5322 Message-ID, our idempotency key
    purpose: Mapped[str] = mapped_column(String(50), default="notification")
    template: Mapped[str] = mapped_column(String(100))
    sender: Mapped[str] = mapped_column(String(300))
    to: Mapped[list[Any]] = mapped_column(JSON)
    cc: Mapped[list[Any]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)  # the HTML alternative, when the template has one
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)  # document ids
    calendar: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # meeting invitation details
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending, sending, sent, failed, cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # pending: when to try next; sending: when the claim lapses (the sender died or hangs) and the message is
    # in doubt, so the next sender asks the transport whether it went out before sending it again.
    next_attempt_at: Mapped[datetime] = mapped_column(default=_now)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    sent_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # the worker sending (or last sending) it
    task_waits: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")  # a service task waits for it
    # What the message is about, copied to its e-mail events: {"task": element id, "task_id": row id} (0016).
    tags: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # When an attempt handed the message to the server without a verdict coming back (yet): set, the message
    # may have gone out. Cleared by a refusal; kept once sent.
    handed_over_at: Mapped[datetime | None]
    provider_draft_id: Mapped[str | None] = mapped_column(String(1000))  # Graph: the draft an earlier attempt built
    reply_to: Mapped[list[Any] | None] = mapped_column(JSON)  # where replies go, when not to the sender (0021)


class SchedulerHeartbeat(Base):
    """One row per running scheduler (a ``rapidreview scheduler`` process or a web worker's jobs)."""

    __tablename__ = "scheduler_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    mode: Mapped[str] = mapped_column(String(20))  # process, in-process
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime]
    next_wake_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append only: the application inserts, never updates or deletes (rapidreview.services.platform.audit refuses both).

    Hash-chained: ``hash`` is SHA-256 of ``prev_hash`` and this event's canonical JSON, so a changed,
    removed or inserted row shows in ``rapidreview audit verify``. ``case_id`` has no foreign key: the
    trail outlives a case purged at the end of its retention period.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_case_at", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=_now)
    type: Mapped[str] = mapped_column(String(50))
    actor: Mapped[str] = mapped_column(String(200), default="system")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row (id 1): the newest event's hash. Writers lock it (SELECT ... FOR UPDATE) to append in turn."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int | None] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer, default=0)


class SignInThrottle(Base):
    """Failed sign-ins per key ("ip:203.0.113.9"): too many in a window lock the key for a while."""

    __tablename__ = "sign_in_throttle"
    __table_args__ = (Index("ix_sign_in_throttle_window", "window_started_at"),)  # pruning (0012)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
    refused: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # attempts refused while locked


class Agency(Base):
    """An organisation that shares information in reviews: a school, a GP practice, a housing service."""

    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # unique in the deployment
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(300))
    manager_email: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str | None] = mapped_column(String(40))  # school, gp_practice ... (services.agency_register; 0017)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(300), unique=True)  # stored lower-case; one account per person
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(50), index=True)
    agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_sign_in_at: Mapped[datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))  # base32; set at enrolment
    totp_confirmed_at: Mapped[datetime | None]  # the first correct code: enrolment done
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # the last accepted code's time step: no replay
    # Set by an administrator's temporary password: the person chooses their own before anything else (0009).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # A new password or a reset authenticator: sessions signed in before this time end (0009).
    credentials_changed_at: Mapped[datetime | None]
    # How the person hears that a task is theirs: "immediate" e-mails, or one "digest" at 08:00 (0016).
    notify_by: Mapped[str] = mapped_column(String(20), default="immediate", server_default="immediate")
    # An account made by inviting a person an agency list named (services.invitations; 0017): who invited
    # them and when, when they accepted (set their password or signed in with their organisation's account),
    # and when the account lapsed because no case needed it any more.
    invited_by: Mapped[str | None] = mapped_column(String(200))
    invited_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    lapsed_at: Mapped[datetime | None]

    @property
    def awaiting_acceptance(self) -> bool:
        return self.invited_at is not None and self.accepted_at is None


class Invitation(Base):
    """A single-use link that lets an invited person set their password (0017). Only the SHA-256 of the link's
    token is stored; a newer invitation to the same person withdraws the older one."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_user", "user_id", "created_at"),
                      Index("ix_invitations_open", "used_at", "withdrawn_at", "expires_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    partnership_id: Mapped[int] = mapped_column(ForeignKey("partnerships.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))  # the case that needed them, if any
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    wrong_addresses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The link lapsed unused while the agency's task was still open: the Partnership Manager was told, once.
    lapse_reported_at: Mapped[datetime | None]


class DigestItem(Base):
    """A task someone who chose the daily digest will hear about at 08:00 (``sent_at`` once it went; 0016)."""

    __tablename__ = "digest_items"
    __table_args__ = (Index("ix_digest_items_unsent", "sent_at", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("human_tasks.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    kind: Mapped[str] = mapped_column(String(20), default="your_turn")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class DraftComment(Base):
    """A comment on the final draft, made in the app while the comment window is open (or late, after it; 0021).
    The author's name and role are copied: the comment reads the same if the account changes later."""

    __tablename__ = "draft_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(200))
    author_role: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))  # the draft commented on
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class WebSession(Base):
    """A signed-in browser session, held on the server: the cookie carries only a random token, whose SHA-256
    is this row's id. Signing out, an expired limit or an administrator ends the row, and a copy of the cookie
    replayed afterwards opens nothing (docs/security.md)."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id", "ended_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie's token, hex
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute limit, fixed at sign-in
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(50))  # signed_out, idle, expired, ended_by_admin ...
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    # A sign-in through an organisation's identity provider: which one, and its ID token while the session is
    # open, sent back as the hint when signing out ends the provider's session too (0015). Cleared when it ends.
    identity_provider: Mapped[str | None] = mapped_column(String(20))
    id_token_hint: Mapped[str | None] = mapped_column(Text)


class UserIdentity(Base):
    """An account's identity at an organisation's identity provider (OpenID Connect): the provider's
    never-reused subject, linked at the first sign-in that matched the account by verified e-mail. Afterwards
    the subject signs in the account, and a different person later given the same e-mail address does not
    (docs/security.md)."""

    __tablename__ = "user_identities"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_user_identities_subject"),
                      UniqueConstraint("user_id", "issuer", name="uq_user_identities_user_issuer"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))  # the provider's id in the settings, for people to read
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class MailMeetingItem(Base):
    """The provider's calendar item (EWS item id, Graph event id) for one meeting, keyed by our iCalendar UID,
    so a rescheduling or cancellation changes the meeting people already have instead of sending a second one.
    """

    __tablename__ = "mail_meeting_items"

    uid: Mapped[str] = mapped_column(String(300), primary_key=True)
    transport: Mapped[str] = mapped_column(String(20))
    mailbox: Mapped[str] = mapped_column(String(300))
    item_id: Mapped[str] = mapped_column(String(1000))
    sequence: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    message_id: Mapped[str] = mapped_column(String(200), index=True)  # the outbox message last applied
    provider_uid: Mapped[str | None] = mapped_column(String(1000))  # Graph: the event's iCalUId, to find it again
    updated_at: Mapped[datetime] = mapped_column(default=_now, onupdate=_now)
