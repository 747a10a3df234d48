"""Build RFC 5322 messages (with attachments and calendar invitations) from outbox rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

from rapidreview.mail.invitation import Invitation, to_ics


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str
    content: bytes


class DeliveryProgress(Protocol):
    """What one attempt at a message tells the outbox as it goes, and what earlier attempts left behind.

    The outbox gives each attempt its own; ``rapidreview mail test`` and other one-off sends give none.
    """

    @property
    def draft_id(self) -> str | None:
        """The provider's draft of this message from an earlier attempt (Graph), which may be sent as it is."""
        ...

    def keep_draft(self, draft_id: str | None) -> None:
        """Remember (or, with None, forget) the provider's draft of this message for the next attempt."""
        ...

    def handing_over(self) -> None:
        """Called just before the step after which the server may have the message (SMTP DATA, Graph send).

        Raises ``ClaimLost`` when this attempt no longer holds the message: another sender took it over.
        """
        ...


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str  # our RFC 5322 Message-ID: the idempotency key transports look for in Sent Items
    sender: str
    to: list[str]
    subject: str
    body: str  # plain text
    cc: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    invitation: Invitation | None = None
    html: str | None = None  # the HTML alternative of ``body``, already escaped by its template
    reply_to: list[str] = field(default_factory=list)  # where replies go, when not to ``sender``
    progress: DeliveryProgress | None = field(default=None, compare=False, repr=False)

    def handing_over(self) -> None:
        """Tell the outbox this attempt is about to hand the message to the server (see DeliveryProgress)."""
        if self.progress is not None:
            self.progress.handing_over()

    @property
    def cancel(self) -> bool:
        """True when this mail withdraws a meeting (for everyone, or for the attendees it names)."""
        return self.invitation is not None and self.invitation.cancel is not None

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *(a for a in self.cc if a not in self.to)]


def new_message_id(domain: str) -> str:
    return make_msgid(idstring="rapidreview", domain=domain.split("@")[-1])


def to_email_message(mail: OutgoingMail, sent_at: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["Message-ID"] = mail.message_id
    msg["Date"] = format_datetime(sent_at)
    msg["From"] = mail.sender
    msg["To"] = ", ".join(mail.to)
    if mail.cc:
        msg["Cc"] = ", ".join(mail.cc)
    if mail.reply_to:
        msg["Reply-To"] = ", ".join(mail.reply_to)
    msg["Subject"] = mail.subject
    msg.set_content(mail.body)
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html")
    if mail.invitation is not None:
        # An inline text/calendar part is what Outlook and others treat as a meeting request (or cancellation);
        # the .ics attachment is for clients that only look at attachments.
        method = mail.invitation.method
        ics = to_ics(mail.invitation)
        msg.add_alternative(ics, subtype="calendar", params={"method": method})
        msg.add_attachment(ics.encode(), maintype="text", subtype="calendar",
                           filename="cancel.ics" if mail.cancel else "invite.ics", params={"method": method})
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        msg.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return msg
