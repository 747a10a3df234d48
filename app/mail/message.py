"""Build RFC 5322 messages (with attachments and calendar invitations) from outbox rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from app.mail.invitation import Invitation, to_ics


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str
    content: bytes


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str
    sender: str
    to: list[str]
    subject: str
    body: str
    cc: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    invitation: Invitation | None = None


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
    msg["Subject"] = mail.subject
    msg.set_content(mail.body)
    if mail.invitation is not None:
        # An inline text/calendar part is what Outlook and others treat as a meeting request.
        msg.add_alternative(to_ics(mail.invitation), subtype="calendar", params={"method": "REQUEST"})
        msg.add_attachment(to_ics(mail.invitation).encode(), maintype="text", subtype="calendar",
                           filename="invite.ics", params={"method": "REQUEST"})
    for attachment in mail.attachments:
        maintype, _, subtype = attachment.media_type.partition("/")
        msg.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return msg
