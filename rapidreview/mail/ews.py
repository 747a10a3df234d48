"""Exchange Web Services through exchangelib: on-premises Exchange Server (and Exchange Online until
Microsoft switches EWS off there: blocked from October 2026, gone April 2027; use ``graph`` for it).

Mail is sent from one mailbox, usually a shared one, opened with delegate access (the service account
needs Full Access and Send As on it) or, with OAuth2 app-only credentials, by impersonation. Messages
carry our Message-ID as their InternetMessageId, so ``find_sent`` can look for them in Sent Items.
Meetings are calendar items in that mailbox: Exchange sends the requests, updates and cancellations.

exchangelib retries by sleeping; we make it fail fast and let the outbox back off instead, so one busy
server never blocks the scheduler.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    Account,
    Attendee,
    Body,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    FileAttachment,
    HTMLBody,
    Identity,
    Mailbox,
    Message,
    OAuth2Credentials,
)
from exchangelib import (
    UTC as EWS_UTC,
)
from exchangelib import errors as ews_errors
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from exchangelib.protocol import BaseProtocol, FailFast

from rapidreview.config import EwsSettings
from rapidreview.mail.interface import PermanentMailError, TemporaryMailError
from rapidreview.mail.meetings import MeetingItems, plan_meeting, record_meeting
from rapidreview.mail.message import OutgoingMail

MEETING_FIELDS = ["subject", "body", "start", "end", "location", "required_attendees"]

# Errors worth retrying: Exchange is busy, restarting, moving the mailbox, or the network dropped.
TEMPORARY = (
    ews_errors.ErrorServerBusy, ews_errors.ErrorTimeoutExpired, ews_errors.ErrorInternalServerTransientError,
    ews_errors.ErrorTooManyObjectsOpened, ews_errors.ErrorExceededConnectionCount,
    ews_errors.ErrorMailboxStoreUnavailable, ews_errors.ErrorMailboxMoveInProgress, ews_errors.ErrorConnectionFailed,
    ews_errors.ErrorInternalServerError, ews_errors.ErrorBatchProcessingStopped, ews_errors.RateLimitError,
    ews_errors.MalformedResponseError,
)

_accounts: dict[tuple[Any, ...], Account] = {}
_accounts_lock = threading.Lock()


def clear_account_cache() -> None:
    with _accounts_lock:
        _accounts.clear()


class EwsTransport:
    name = "ews"
    reports_handover = True

    def __init__(self, config: EwsSettings, *, mailbox: str, meetings: MeetingItems) -> None:
        self.config, self.mailbox, self.meetings = config, mailbox, meetings

    # -- the account: built on first use and kept for the process (version and folder look-ups are cached in it)
    def account(self) -> Account:
        c = self.config
        key = (c.url, c.auth, c.username, c.password, c.client_id, c.client_secret, c.tenant_id, self.mailbox.lower())
        with _accounts_lock:
            if key not in _accounts:
                _accounts[key] = self._new_account()
            return _accounts[key]

    def _new_account(self) -> Account:
        c = self.config
        BaseProtocol.TIMEOUT = int(c.timeout_s)
        if c.auth == "oauth2":
            # App-only OAuth (Microsoft Entra ID): EWS then needs impersonation of the mailbox.
            credentials: Any = OAuth2Credentials(client_id=c.client_id, client_secret=c.client_secret,
                                                 tenant_id=c.tenant_id, identity=Identity(primary_smtp_address=self.mailbox))
            config = Configuration(service_endpoint=c.url, credentials=credentials, retry_policy=FailFast())
            access = IMPERSONATION
        else:
            credentials = Credentials(c.username, c.password)
            config = Configuration(service_endpoint=c.url, credentials=credentials,
                                   auth_type=NTLM if c.auth == "ntlm" else BASIC, retry_policy=FailFast())
            access = DELEGATE
        return Account(self.mailbox, config=config, credentials=credentials, autodiscover=False, access_type=access,
                       default_timezone=EWS_UTC)

    # -- Transport -----------------------------------------------------------------------------------------
    def send(self, mail: OutgoingMail, sent_at: datetime) -> str:
        handed_over = _HandOver(mail)
        with translated_errors(self.config.url, handed_over):
            if mail.invitation is not None:
                return self._meeting(mail, handed_over)
            return self._message(mail, handed_over)

    def find_sent(self, message_id: str) -> str | None:
        meeting = self.meetings.by_message_id(message_id)
        if meeting is not None and meeting.transport == self.name:
            return meeting.item_id
        with translated_errors(self.config.url):
            found = list(self.account().sent.filter(message_id=message_id).only("id")[:1])
        return found[0].id if found else None

    # -- messages and meetings ---------------------------------------------------------------------------
    def _message(self, mail: OutgoingMail, hand_over: _HandOver) -> str:
        account = self.account()
        message = Message(account=account, folder=account.sent, author=Mailbox(email_address=self.mailbox),
                          subject=mail.subject, body=_body(mail), to_recipients=list(mail.to),
                          cc_recipients=list(mail.cc) or None, message_id=mail.message_id,
                          reply_to=list(mail.reply_to) or None)
        for attachment in mail.attachments:
            message.attach(FileAttachment(name=attachment.filename, content=attachment.content,
                                          content_type=attachment.media_type))
        hand_over()
        message.send_and_save()  # one CreateItem: sent, and a copy kept in the mailbox's Sent Items
        return mail.message_id

    def _meeting(self, mail: OutgoingMail, hand_over: _HandOver) -> str:
        plan = plan_meeting(self.meetings, self.name, self.mailbox, mail)
        inv, account = plan.invitation, self.account()
        if plan.action == "skip":
            return plan.skipped_id
        current = self._current_item(plan.existing.item_id) if plan.existing else None
        hand_over()
        if plan.action == "cancel":
            assert plan.existing is not None
            if current is not None:  # else deleted in Outlook already, which told the attendees
                current.cancel(new_body=_body(mail))
            record_meeting(self.meetings, self.name, self.mailbox, mail, plan.existing.item_id)
            return plan.existing.item_id
        fields: dict[str, Any] = dict(
            subject=inv.summary, body=_body(mail), location=inv.location or None,
            start=EWSDateTime.from_datetime(inv.starts_at.astimezone(UTC)),
            end=EWSDateTime.from_datetime(inv.ends_at.astimezone(UTC)),
            required_attendees=[Attendee(mailbox=Mailbox(email_address=a), response_type="Unknown") for a in inv.attendees],
        )
        if plan.action == "update" and current is not None:
            for name, value in fields.items():
                setattr(current, name, value)
            # Exchange sends the update to the attendees, and a cancellation to any no longer invited.
            current.save(update_fields=MEETING_FIELDS, send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
            record_meeting(self.meetings, self.name, self.mailbox, mail, current.id)
            return str(current.id)
        # New, or deleted from the calendar by someone: invite afresh, with the same UID.
        item = CalendarItem(account=account, folder=account.calendar, uid=inv.uid, **fields)
        item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        record_meeting(self.meetings, self.name, self.mailbox, mail, item.id)
        return str(item.id)

    def _current_item(self, item_id: str) -> CalendarItem | None:
        """The calendar item as it is now (its change key moves on with every reply), or None if deleted."""
        account = self.account()
        found = next(iter(account.fetch(ids=[(item_id, None)], folder=account.calendar, only_fields=["subject"])))
        if isinstance(found, ews_errors.ErrorItemNotFound):
            return None
        if isinstance(found, Exception):
            raise found
        return found


def _body(mail: OutgoingMail) -> Body:
    return HTMLBody(mail.html) if mail.html is not None else Body(mail.body)


class _HandOver:
    """Marks the hand-over of ``mail`` and remembers that it happened: an error after it that is no answer
    from Exchange (the connection broke, the response was garbled) leaves the message in doubt."""

    def __init__(self, mail: OutgoingMail) -> None:
        self.mail, self.done = mail, False

    def __call__(self) -> None:
        self.mail.handing_over()
        self.done = True


@contextmanager
def translated_errors(url: str, hand_over: _HandOver | None = None) -> Iterator[None]:
    """exchangelib's exceptions as TemporaryMailError (retry, with the back-off Exchange asked for) or
    PermanentMailError (a person must look)."""
    try:
        yield
    except (PermanentMailError, TemporaryMailError):
        raise
    except Exception as exc:
        translated = _translate(exc, f"Exchange ({url})")
        # Exchange's own answer is a verdict; a broken connection is not, and exchangelib reports one as
        # ErrorTimeoutExpired ("Reraised from ConnectionError").
        answered = isinstance(exc, ews_errors.ResponseMessageError) and not isinstance(exc, ews_errors.ErrorTimeoutExpired)
        if isinstance(translated, TemporaryMailError) and hand_over is not None and hand_over.done and not answered:
            translated.in_doubt = True
        raise translated from exc


def _translate(exc: Exception, where: str) -> Exception:
    if isinstance(exc, ews_errors.ErrorServerBusy):
        return TemporaryMailError(f"{where} is busy: {exc}", retry_after=exc.back_off)
    if isinstance(exc, TEMPORARY):
        return TemporaryMailError(f"{where}: {type(exc).__name__}: {exc}")
    if isinstance(exc, ews_errors.ErrorAccessDenied | ews_errors.ErrorSendAsDenied
                  | ews_errors.ErrorImpersonateUserDenied | ews_errors.ErrorNonExistentMailbox):
        return PermanentMailError(f"{where}: {type(exc).__name__}: {exc} (check the service account's Full Access "
                                  "and Send As rights on the mailbox: docs/mail.md)")
    if isinstance(exc, ews_errors.ResponseMessageError):  # Exchange understood and said no
        return PermanentMailError(f"{where}: {type(exc).__name__}: {exc}")
    if isinstance(exc, ews_errors.UnauthorizedError):
        return PermanentMailError(f"{where} refused our credentials: {exc}")
    if isinstance(exc, ews_errors.TransportError) and isinstance(exc.__context__, requests.exceptions.SSLError):
        return PermanentMailError(f"{where}: TLS failed (is its certificate trusted? see REQUESTS_CA_BUNDLE): {exc}")
    if isinstance(exc, ews_errors.TransportError | requests.exceptions.RequestException):
        return TemporaryMailError(f"{where}: {type(exc).__name__}: {exc}")
    return PermanentMailError(f"{where}: {type(exc).__name__}: {exc}")
