"""The transactional outbox: messages are queued in the step's transaction and delivered after it.

Delivery runs one message per transaction, so a crash loses nothing and a message already delivered is
never sent twice by us (the transport's idempotency, e.g. checking Sent Items, comes with issue-level
transports). Temporary failures back off exponentially; permanent ones stop and wait for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.mail.invitation import Invitation
from app.mail.message import Attachment, OutgoingMail, new_message_id
from app.mail.transports import PermanentMailError, TemporaryMailError, Transport
from app.services import audit
from app.services.runtime import Runtime
from app.store.db import transaction
from app.store.models import Case, Document, OutboxMessage

NATIONAL_PANEL_SUBMISSION = "national_panel_submission"
MAX_ATTEMPTS = 12


def queue(session: Session, rt: Runtime, *, case_id: int | None, template: str, to: Sequence[str], subject: str,
          body: str, cc: Sequence[str] = (), attachments: Sequence[int] = (), purpose: str = "notification",
          calendar: dict[str, Any] | None = None) -> OutboxMessage:
    message = OutboxMessage(
        case_id=case_id, message_id=new_message_id(rt.settings.mail_from), purpose=purpose, template=template,
        sender=rt.settings.mail_from, to=list(to), cc=list(cc), subject=subject, body_text=body,
        attachments=list(attachments), calendar=calendar, status="pending", attempts=0,
        next_attempt_at=clock.now(), created_at=clock.now(),
    )
    session.add(message)
    session.flush()
    return message


def pending_messages(session: Session, limit: int = 50) -> list[int]:
    return list(session.scalars(
        select(OutboxMessage.id).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= clock.now())
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    ))


@dataclass(frozen=True)
class Delivery:
    message_id: int
    status: str
    error: str | None = None


def deliver_due(rt: Runtime, transport: Transport) -> list[Delivery]:
    with transaction(rt.sessions) as session:
        ids = pending_messages(session)
    return [deliver_one(rt, transport, message_id) for message_id in ids]


def _outgoing(session: Session, rt: Runtime, row: OutboxMessage) -> OutgoingMail:
    attachments = []
    for doc_id in row.attachments or []:
        doc = session.get(Document, doc_id)
        if doc is None:
            raise PermanentMailError(f"attachment document {doc_id} no longer exists")
        attachments.append(Attachment(doc.filename, doc.media_type, (rt.settings.documents_dir / doc.path).read_bytes()))
    invitation = None
    if row.calendar:
        c = dict(row.calendar)
        invitation = Invitation(uid=c["uid"], sequence=int(c.get("sequence", 0)), summary=c["summary"],
                                description=c.get("description", ""), location=c.get("location", ""),
                                starts_at=_parse(c["starts_at"]), ends_at=_parse(c["ends_at"]),
                                organizer=row.sender, attendees=list(row.to), stamp=row.created_at)
    return OutgoingMail(message_id=row.message_id, sender=row.sender, to=list(row.to), cc=list(row.cc or []),
                        subject=row.subject, body=row.body_text, attachments=attachments, invitation=invitation)


def _parse(value: str) -> Any:
    from datetime import datetime
    return datetime.fromisoformat(value)


def deliver_one(rt: Runtime, transport: Transport, message_id: int) -> Delivery:
    with transaction(rt.sessions) as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.status != "pending":
            return Delivery(message_id, row.status if row else "missing")
        now = clock.now()
        row.attempts += 1
        try:
            provider_id = transport.send(_outgoing(session, rt, row), now)
        except TemporaryMailError as exc:
            if row.attempts >= MAX_ATTEMPTS:
                row.status, row.last_error = "failed", f"gave up after {row.attempts} attempts: {exc}"
            else:
                row.last_error = str(exc)
                row.next_attempt_at = now + timedelta(seconds=min(3600, 30 * 2 ** (row.attempts - 1)))
            audit.record(session, row.case_id, "email_failed", message_id=row.message_id, error=str(exc),
                         attempts=row.attempts, permanent=row.status == "failed")
            return Delivery(message_id, row.status, str(exc))
        except (PermanentMailError, OSError) as exc:
            row.status, row.last_error = "failed", str(exc)
            audit.record(session, row.case_id, "email_failed", message_id=row.message_id, error=str(exc),
                         attempts=row.attempts, permanent=True)
            return Delivery(message_id, "failed", str(exc))
        row.status, row.sent_at, row.provider_id, row.last_error = "sent", now, provider_id, None
        names = [session.get(Document, d).filename for d in row.attachments or []]  # type: ignore[union-attr]
        audit.record(session, row.case_id, "email_sent", to=list(row.to), cc=list(row.cc or []) or None,
                     subject=row.subject, attachments=names, purpose=row.purpose, template=row.template,
                     message_id=row.message_id, invitation=bool(row.calendar) or None)
        if row.purpose == NATIONAL_PANEL_SUBMISSION and row.case_id is not None:
            _mark_submitted(session, row.case_id, now)
        return Delivery(message_id, "sent")


def _mark_submitted(session: Session, case_id: int, at: Any) -> None:
    case = session.get(Case, case_id, with_for_update=True)
    if case is None or case.status == "submitted":
        return
    previous, case.status, case.submitted_at = case.status, "submitted", at
    audit.record(session, case_id, "status_changed", **{"from": previous, "to": "submitted"})
