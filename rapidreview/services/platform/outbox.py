"""The transactional outbox: messages are queued in the step's transaction and delivered after it.

Delivering a message takes three short steps, so a slow or dead mail server never holds a database lock
and a crash neither loses a message nor quietly sends it twice:

1. claim (own transaction): the oldest due message, locked ``FOR UPDATE SKIP LOCKED`` so any number of
   senders (scheduler processes, web workers) take different ones. It becomes ``sending`` with one more
   attempt and a lease: ``next_attempt_at`` is now + ``LEASE``.
2. send, outside any transaction. Just before the step after which the server may have the message (SMTP
   DATA, Graph ``sendMail`` or ``send``, EWS ``CreateItem``) the transport calls ``handing_over``: in its own
   transaction that confirms this attempt still holds the claim (else it stops, sending nothing: a sender
   whose lease lapsed never sends a message another sender has taken), renews the lease, and records
   ``handed_over_at``.
3. record (own transaction): ``sent`` with the provider's id and the time it was accepted, only when the
   server accepted it (SMTP: a 2xx answer to the body); ``pending`` again after a temporary failure
   (4xx), backing off exponentially; ``failed`` after a permanent failure (5xx, or about a day of temporary
   ones), which waits for a person: :func:`failed_messages`, then :func:`retry_message` or
   :func:`cancel_message`. A refusal clears ``handed_over_at``: the server has not got it.

A message is *in doubt* when ``handed_over_at`` is set on a message not yet sent: its sender died after the
hand-over, or the connection broke before the server's answer came back. Only then may it have gone out,
and before it is sent again the transport is asked (``find_sent``: Graph and EWS search Sent Items for our
Message-ID, the file transport looks for its file) and the message recorded as sent if found. An SMTP server
cannot be asked, so an in-doubt SMTP message is sent again, with the same Message-ID, and its ``email_sent``
event says ``possible_duplicate``: at least once, never lost. The window for that is the time between the
server's answer to the body and our commit of it (milliseconds), or a connection lost in that same moment.
A sender dying any earlier leaves a message that is simply sent again: it never reached the server.

A service task may wait for its message (:func:`await_delivery`): the National Panel submission completes
when the Panel's server accepted the e-mail. The sender then completes that task at once; should that
step fail, the case is left due (``wake_at``) and the scheduler retries it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from rapidreview import clock
from rapidreview.engine.scripting import Awaiting
from rapidreview.errors import Conflict, Invalid, NotFound
from rapidreview.mail.interface import (
    ClaimLost,
    PermanentMailError,
    SentItemsLookup,
    TemporaryMailError,
    Transport,
    find_sent,
    reports_handover,
)
from rapidreview.mail.invitation import Invitation
from rapidreview.mail.message import Attachment, OutgoingMail, new_message_id
from rapidreview.retry import doubling_delay
from rapidreview.runtime import Runtime
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, Document, OutboxMessage

log = logging.getLogger(__name__)

NATIONAL_PANEL_SUBMISSION = "national_panel_submission"
# From the claim, and again from the hand-over: transports time out well within it (SMTP 60 s per command,
# Graph 70 s, EWS 120 s), so a live sender is never overtaken after the hand-over; one overtaken before it
# finds out at the hand-over and stands down.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=15)
MAX_ATTEMPTS = 100  # with the back-off above, about 24 hours of temporary failures
AWAIT_PREFIX = "outbox:"
PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"


def queue(session: Session, rt: Runtime, *, case_id: int | None, template: str, to: Sequence[str], subject: str,
          body: str, cc: Sequence[str] = (), attachments: Sequence[int] = (), purpose: str = "notification",
          calendar: dict[str, Any] | None = None, body_html: str | None = None,
          tags: dict[str, Any] | None = None, reply_to: Sequence[str] = ()) -> OutboxMessage:
    message = OutboxMessage(
        case_id=case_id, message_id=new_message_id(rt.settings.mail_from), purpose=purpose, template=template,
        sender=rt.settings.mail_from, to=list(to), cc=list(cc), subject=subject, body_text=body, body_html=body_html,
        attachments=list(attachments), calendar=calendar, status=PENDING, attempts=0,
        next_attempt_at=clock.now(), created_at=clock.now(), tags=tags, reply_to=list(reply_to) or None,
    )
    session.add(message)
    session.flush()
    return message


def await_delivery(message: OutboxMessage, queued: dict[str, Any]) -> Awaiting:
    """Make the service task that queued ``message`` wait until the mail server has accepted it."""
    message.task_waits = True
    return Awaiting(key=f"{AWAIT_PREFIX}{message.id}", queued=queued)


def delivery_outcome(session: Session, key: str) -> dict[str, Any] | None:
    """What a waiting task completes with once its message was accepted; None until then."""
    if not key.startswith(AWAIT_PREFIX):
        raise Invalid(f"not an outbox wait: {key!r}")
    row = session.get(OutboxMessage, int(key[len(AWAIT_PREFIX):]))
    if row is None:
        raise NotFound(f"the task waits for outbox message {key}, which does not exist")
    if row.status != SENT or row.sent_at is None:
        return None
    return {"outbox_message_id": row.id, "message_id": row.message_id, "provider_id": row.provider_id,
            "accepted_at": row.sent_at.isoformat()}


def accepted_at(session: Session, case_id: int, purpose: str) -> datetime | None:
    """When the mail server accepted the case's latest message of ``purpose`` (None: none was accepted)."""
    return session.scalar(select(func.max(OutboxMessage.sent_at)).where(
        OutboxMessage.case_id == case_id, OutboxMessage.purpose == purpose, OutboxMessage.status == SENT))


# -- sending -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    message_id: int
    status: str
    error: str | None = None
    # A case with a service task waiting for this message, which may now step: the caller steps it (the
    # outbox records deliveries; it never runs a case's process).
    woken_case_id: int | None = None


class _Attempt:
    """The outbox side of one attempt (mail.message.DeliveryProgress): each call is its own short transaction
    on the message's row, made only while this attempt still holds the claim."""

    def __init__(self, rt: Runtime, message_id: int, attempt: int, draft_id: str | None) -> None:
        self.rt, self.message_id, self.attempt = rt, message_id, attempt
        self._draft_id = draft_id
        self.handed_over_at: datetime | None = None

    @property
    def draft_id(self) -> str | None:
        return self._draft_id

    def keep_draft(self, draft_id: str | None) -> None:
        self._update(provider_draft_id=draft_id)
        self._draft_id = draft_id

    def handing_over(self) -> None:
        now = clock.now()
        self._update(handed_over_at=now, next_attempt_at=now + LEASE)
        self.handed_over_at = now

    def _update(self, **values: Any) -> None:
        with transaction(self.rt.sessions) as session:
            done = session.execute(update(OutboxMessage).where(
                OutboxMessage.id == self.message_id, OutboxMessage.status == SENDING,
                OutboxMessage.attempts == self.attempt).values(**values))
            if done.rowcount != 1:  # type: ignore[attr-defined]
                raise ClaimLost(f"outbox message {self.message_id}: the lease of attempt {self.attempt} lapsed and "
                                "another sender took the message over")


@dataclass(frozen=True)
class _Claim:
    id: int
    attempt: int
    mail: OutgoingMail
    in_doubt: bool  # an earlier attempt may have reached the server
    earlier_doubt: datetime | None  # when that attempt handed it over (None: the transport does not say)
    previous_attempt_at: datetime | None
    progress: _Attempt
    handover_known: bool  # the transport marks its hand-overs


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def deliver_due(rt: Runtime, transport: Transport, *, worker: str | None = None,
                stop: threading.Event | None = None) -> list[Delivery]:
    """Send every message due now, oldest first, one at a time; return what happened to each."""
    worker = worker or default_worker()
    deliveries: list[Delivery] = []
    while stop is None or not stop.is_set():
        delivery = deliver_next(rt, transport, worker=worker)
        if delivery is None:
            break
        deliveries.append(delivery)
    return deliveries


def deliver_next(rt: Runtime, transport: Transport, *, worker: str) -> Delivery | None:
    """Claim, send and record the oldest due message; None when no message is due."""
    claim = _claim(rt, clock.now(), worker, handover_known=reports_handover(transport))
    if claim is None:
        return None
    if isinstance(claim, Delivery):
        return claim
    can_tell = isinstance(transport, SentItemsLookup)
    doubt = claim.earlier_doubt  # what handed_over_at says after this attempt, unless it ends in doubt itself
    try:
        found = find_sent(transport, claim.mail.message_id) if claim.in_doubt and can_tell else None
        if found is not None:
            log.info("outbox message %s was already sent (%s); not sending it again", claim.id, found)
            delivery = _record_sent(rt, claim, found, claim.earlier_doubt or claim.previous_attempt_at or clock.now(),
                                    recovered=True)
        else:
            if claim.in_doubt and can_tell:
                doubt = None  # the provider says it never went
            provider_id = transport.send(claim.mail, clock.now())
            delivery = _record_sent(rt, claim, provider_id, clock.now(), recovered=False,
                                    possible_duplicate=claim.in_doubt and not can_tell)
    except ClaimLost as exc:
        log.warning("%s; this sender stood down without sending it", exc)
        return Delivery(claim.id, SENDING, str(exc))
    except TemporaryMailError as exc:
        return _record_failure(rt, claim, str(exc), permanent=False, retry_after=exc.retry_after,
                               doubt=_doubt_after(claim, doubt, in_doubt=exc.in_doubt))
    except PermanentMailError as exc:
        return _record_failure(rt, claim, str(exc), permanent=True, doubt=doubt)
    except Exception as exc:  # a transport bug or an unforeseen error: retried like a temporary one
        log.exception("outbox message %s: unexpected error from the %s transport", claim.id, transport.name)
        return _record_failure(rt, claim, f"{type(exc).__name__}: {exc}", permanent=False,
                               doubt=_doubt_after(claim, doubt, in_doubt=True))
    return delivery


def _doubt_after(claim: _Claim, earlier: datetime | None, *, in_doubt: bool) -> datetime | None:
    """handed_over_at after an attempt that failed: its own hand-over when the server may have the message
    (a transport that does not mark hand-overs is taken at its word), else what it was before."""
    if in_doubt and (claim.progress.handed_over_at is not None or not claim.handover_known):
        return claim.progress.handed_over_at or clock.now()
    return earlier


def _claim(rt: Runtime, now: datetime, worker: str, *, handover_known: bool) -> _Claim | Delivery | None:
    for _ in range(10):  # only SQLite, where two senders can read the same row, ever goes round again
        with transaction(rt.sessions) as session:
            candidate = session.execute(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts)
                .where(OutboxMessage.status.in_((PENDING, SENDING)), OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1).with_for_update(skip_locked=True)
            ).first()
            if candidate is None:
                return None
            # The row is locked on PostgreSQL; on SQLite this conditional update is what makes the claim ours.
            taken = session.execute(
                update(OutboxMessage).where(OutboxMessage.id == candidate.id, OutboxMessage.status == candidate.status,
                                            OutboxMessage.attempts == candidate.attempts)
                .values(status=SENDING, attempts=candidate.attempts + 1, claimed_by=worker, next_attempt_at=now + LEASE)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                # A message still "sending" here lost its sender: if that sender cannot have said whether it
                # handed the message over, it may have.
                lapsed_blind = candidate.status == SENDING and not handover_known
                return _claimed(session, rt, candidate.id, now, lapsed_blind=lapsed_blind,
                                handover_known=handover_known)
    return None


def _claimed(session: Session, rt: Runtime, message_id: int, now: datetime, *, lapsed_blind: bool,
             handover_known: bool) -> _Claim | Delivery:
    row = session.get(OutboxMessage, message_id)
    assert row is not None
    previous_attempt_at, row.last_attempt_at = row.last_attempt_at, now
    progress = _Attempt(rt, row.id, row.attempts, row.provider_draft_id)
    try:
        mail = replace(_outgoing(session, rt, row), progress=progress)
    except (PermanentMailError, OSError, KeyError, ValueError) as exc:  # it can never be built: a person must look
        _fail(session, row, f"cannot build the message: {exc}", permanent=True)
        return Delivery(row.id, FAILED, row.last_error)
    return _Claim(row.id, row.attempts, mail, row.handed_over_at is not None or lapsed_blind, row.handed_over_at,
                  previous_attempt_at, progress, handover_known)


def _outgoing(session: Session, rt: Runtime, row: OutboxMessage) -> OutgoingMail:
    attachments = []
    for doc_id in row.attachments or []:
        doc = session.get(Document, doc_id)
        if doc is None:
            raise PermanentMailError(f"attachment document {doc_id} no longer exists")
        attachments.append(Attachment(doc.filename, doc.media_type, (rt.settings.documents_dir / doc.path).read_bytes()))
    invitation = None
    if row.calendar:
        invitation = Invitation.from_calendar(row.calendar, organizer=row.sender, attendees=list(row.to),
                                              stamp=row.created_at)
    return OutgoingMail(message_id=row.message_id, sender=row.sender, to=list(row.to), cc=list(row.cc or []),
                        subject=row.subject, body=row.body_text, attachments=attachments, invitation=invitation,
                        html=row.body_html, reply_to=list(row.reply_to or []))


def _record(rt: Runtime, apply: Any) -> Delivery:
    """Run ``apply(session)`` in a transaction; on SQLite a case written meanwhile just means try again."""
    for attempt in range(5):
        try:
            with transaction(rt.sessions) as session:
                result: Delivery = apply(session)
                return result
        except StaleDataError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _record_sent(rt: Runtime, claim: _Claim, provider_id: str, accepted_at: datetime, *, recovered: bool,
                 possible_duplicate: bool = False) -> Delivery:
    def apply(session: Session) -> Delivery:
        row = session.get(OutboxMessage, claim.id, with_for_update=True)
        assert row is not None
        if row.status == SENT:  # another sender recorded it after our lease lapsed
            return Delivery(row.id, SENT, woken_case_id=row.case_id if row.task_waits else None)
        row.status, row.sent_at, row.provider_id, row.last_error = SENT, accepted_at, provider_id, None
        names = [doc.filename for d in row.attachments or [] if (doc := session.get(Document, d)) is not None]
        audit.record(session, row.case_id, "email_sent", to=list(row.to), cc=list(row.cc or []) or None,
                     subject=row.subject, attachments=names, purpose=row.purpose, template=row.template,
                     message_id=row.message_id, invitation=bool(row.calendar) or None, attempts=row.attempts,
                     found_already_sent=recovered or None, possible_duplicate=possible_duplicate or None,
                     **(row.tags or {}))
        woken = None
        if row.case_id is not None and row.task_waits:
            case = session.get(Case, row.case_id, with_for_update=True)
            assert case is not None
            if case.wake_at is None or case.wake_at > clock.now():
                # The waiting task can complete: due now, so a scheduler steps it even if our caller dies first.
                case.wake_at = clock.now()
            woken = case.id
        return Delivery(row.id, SENT, woken_case_id=woken)

    return _record(rt, apply)


def _record_failure(rt: Runtime, claim: _Claim, error: str, *, permanent: bool, doubt: datetime | None,
                    retry_after: float | None = None) -> Delivery:
    def apply(session: Session) -> Delivery:
        row = session.get(OutboxMessage, claim.id, with_for_update=True)
        assert row is not None
        if row.status != SENDING or row.attempts != claim.attempt:  # our lease lapsed; another sender has it
            return Delivery(row.id, row.status, error)
        row.handed_over_at = doubt
        _fail(session, row, error, permanent=permanent, retry_after=retry_after)
        return Delivery(row.id, row.status, error)

    return _record(rt, apply)


def _fail(session: Session, row: OutboxMessage, error: str, *, permanent: bool, retry_after: float | None = None) -> None:
    now = clock.now()
    if permanent:
        row.status, row.last_error = FAILED, error
    elif row.attempts >= MAX_ATTEMPTS:
        row.status, row.last_error = FAILED, f"gave up after {row.attempts} attempts: {error}"
    else:
        row.status, row.last_error = PENDING, error
        row.next_attempt_at = now + backoff(row.attempts, retry_after)
    audit.record(session, row.case_id, "email_failed", message_id=row.message_id, subject=row.subject, error=error,
                 attempts=row.attempts, permanent=row.status == FAILED,
                 retry_at=row.next_attempt_at.isoformat() if row.status == PENDING else None,
                 may_have_been_sent=row.handed_over_at is not None or None)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """5 s, 10 s, 20 s ... up to 15 minutes; never sooner than the server asked."""
    return max(doubling_delay(attempts, FIRST_RETRY, LONGEST_RETRY), timedelta(seconds=retry_after or 0))


def next_attempt_after(rt: Runtime, moment: datetime) -> datetime | None:
    """When the sender next has work after ``moment``: a retry, a newly queued message or a lapsing lease."""
    with transaction(rt.sessions) as session:
        return session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status.in_((PENDING, SENDING)), OutboxMessage.next_attempt_at > moment))


# -- for people: what did not go out, and sending it again -----------------------------------------------

@dataclass(frozen=True)
class UndeliveredMessage:
    id: int
    case_id: int | None
    case_reference: str | None
    subject: str
    to: list[str]
    purpose: str
    status: str  # failed (a person must act) or pending (being retried)
    reason: str | None
    attempts: int
    queued_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None  # None when failed
    handed_over_at: datetime | None = None  # set: an attempt handed it over and no answer came, so it may have gone


def failed_messages(session: Session, case_id: int | None = None, scope: Any = None) -> list[UndeliveredMessage]:
    """Messages that will not be sent unless a person acts, with the reason, newest first. ``scope``: a condition
    on OutboxMessage and its (outer-joined) Case, e.g. one partnership's (case_views.outbox_scope)."""
    return _undelivered(session, case_id, OutboxMessage.status == FAILED, scope)


def retrying_messages(session: Session, case_id: int | None = None, scope: Any = None) -> list[UndeliveredMessage]:
    """Messages whose last attempt failed for a reason that may pass (server down), still being retried."""
    return _undelivered(session, case_id, (OutboxMessage.status.in_((PENDING, SENDING)))
                        & OutboxMessage.last_error.is_not(None), scope)


def _undelivered(session: Session, case_id: int | None, condition: Any, scope: Any = None) -> list[UndeliveredMessage]:
    if scope is not None:
        condition = condition & scope
    query = (select(OutboxMessage, Case.reference).outerjoin(Case, Case.id == OutboxMessage.case_id)
             .where(condition).order_by(OutboxMessage.id.desc()))
    if case_id is not None:
        query = query.where(OutboxMessage.case_id == case_id)
    return [UndeliveredMessage(
        id=m.id, case_id=m.case_id, case_reference=reference, subject=m.subject, to=list(m.to), purpose=m.purpose,
        status=m.status, reason=m.last_error, attempts=m.attempts, queued_at=m.created_at,
        last_attempt_at=m.last_attempt_at, next_attempt_at=None if m.status == FAILED else m.next_attempt_at,
        handed_over_at=m.handed_over_at,
    ) for m, reference in session.execute(query)]


def retry_message(rt: Runtime, message_id: int, *, actor: str) -> None:
    """Send a failed message again (after someone fixed the address or the mail settings)."""
    with transaction(rt.sessions) as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.status != FAILED:
            raise Conflict(f"outbox message {message_id} has not failed, so there is nothing to retry")
        row.status, row.attempts, row.next_attempt_at = PENDING, 0, clock.now()
        audit.record(session, row.case_id, "email_retried", actor=actor, message_id=row.message_id, subject=row.subject)


def cancel_message(rt: Runtime, message_id: int, *, actor: str, reason: str) -> None:
    """Give up on a failed message for good (say, a reminder overtaken by events), on the record."""
    with transaction(rt.sessions) as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.status != FAILED:
            raise Conflict(f"outbox message {message_id} has not failed, so there is nothing to cancel")
        if row.task_waits:
            raise Conflict(f"a task of the case waits for outbox message {message_id}: send it again instead")
        row.status = CANCELLED
        audit.record(session, row.case_id, "email_cancelled", actor=actor, message_id=row.message_id,
                     subject=row.subject, reason=reason)


@dataclass(frozen=True)
class Backlog:
    pending: int  # waiting for their first attempt or a retry
    sending: int
    retrying: int  # of pending: an attempt failed already
    failed: int
    oldest_queued_at: datetime | None  # of pending and sending

    @property
    def waiting(self) -> int:
        return self.pending + self.sending


def backlog(session: Session, scope: Any = None) -> Backlog:
    """Counts of the outbox (of one scope, as in failed_messages, when given)."""
    def among(query: Any) -> Any:
        query = query.select_from(OutboxMessage)
        return query if scope is None else query.outerjoin(Case, Case.id == OutboxMessage.case_id).where(scope)

    counts = dict(session.execute(among(select(OutboxMessage.status, func.count())).where(
        OutboxMessage.status.in_((PENDING, SENDING, FAILED))).group_by(OutboxMessage.status)).all())
    retrying = session.scalar(among(select(func.count())).where(OutboxMessage.status == PENDING,
                                                                OutboxMessage.last_error.is_not(None)))
    oldest = session.scalar(among(select(func.min(OutboxMessage.created_at))).where(
        OutboxMessage.status.in_((PENDING, SENDING))))
    return Backlog(pending=counts.get(PENDING, 0), sending=counts.get(SENDING, 0), retrying=retrying or 0,
                   failed=counts.get(FAILED, 0), oldest_queued_at=oldest)
