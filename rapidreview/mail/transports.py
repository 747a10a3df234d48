"""Mail transports behind one interface, chosen by RAPIDREVIEW_MAIL_TRANSPORT (docs/mail.md).

``file`` writes .eml files; ``smtp`` talks to a mail server; ``ews`` uses Exchange Web Services on
on-premises Exchange (exchangelib); ``graph`` uses Microsoft Graph for Exchange Online. smtp, ews and
graph live in their own modules and are imported only when chosen: exchangelib takes a second to import.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rapidreview.mail.interface import (  # noqa: F401 - the interface, re-exported for callers of this module
    ClaimLost,
    PermanentMailError,
    SentItemsLookup,
    TemporaryMailError,
    Transport,
    find_sent,
    reports_handover,
)
from rapidreview.mail.message import OutgoingMail, to_email_message

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from rapidreview.config import Settings
    from rapidreview.mail.meetings import MeetingItems


class FileTransport:
    """Writes each message as an ``.eml`` file: the default, and what the simulator shows users."""

    name = "file"
    reports_handover = True

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @staticmethod
    def _stem(message_id: str) -> str:
        return re.sub(r"[^A-Za-z0-9.-]+", "_", message_id.strip("<>"))

    def send(self, mail: OutgoingMail, sent_at: datetime) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{sent_at.strftime('%Y%m%dT%H%M%SZ')}-{self._stem(mail.message_id)}.eml"
        data = to_email_message(mail, sent_at).as_bytes()
        tmp = path.with_suffix(".tmp")
        mail.handing_over()
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)  # a reader never sees half a message
        except OSError as exc:
            raise TemporaryMailError(f"cannot write {path}: {exc}") from exc
        return str(path)

    def find_sent(self, message_id: str) -> str | None:
        found = sorted(self.directory.glob(f"*-{self._stem(message_id)}.eml"))
        return str(found[0]) if found else None


def make_transport(settings: Settings | str, outbox_dir: Path | None = None, *,
                   sessions: sessionmaker[Session] | None = None,
                   meetings: MeetingItems | None = None) -> Transport:
    """The transport ``settings`` choose.

    ``sessions`` (or an explicit ``meetings`` store) lets ews and graph find the calendar item of a meeting
    they sent before, to update or cancel it; without it they refuse meeting mail. The old form
    ``make_transport(name, outbox_dir)`` still works for ``file`` only.
    """
    if isinstance(settings, str):
        if settings == "file" and outbox_dir is not None:
            return FileTransport(outbox_dir)
        raise PermanentMailError(f"mail transport {settings!r} needs the settings: call make_transport(settings)")
    from rapidreview.mail.meetings import SqlMeetingItems, UnavailableMeetingItems

    store = meetings or (SqlMeetingItems(sessions) if sessions is not None else UnavailableMeetingItems())
    name = settings.mail_transport
    if name == "file":
        return FileTransport(outbox_dir or settings.outbox_dir)
    if name == "smtp":
        from rapidreview.mail.smtp import SmtpTransport

        return SmtpTransport(settings.smtp)
    if name == "ews":
        from rapidreview.mail.ews import EwsTransport

        return EwsTransport(settings.ews, mailbox=settings.ews.mailbox or settings.mail_from, meetings=store)
    if name == "graph":
        from rapidreview.mail.graph import GraphTransport

        return GraphTransport(settings.graph, mailbox=settings.graph.mailbox or settings.mail_from, meetings=store)
    raise PermanentMailError(f"unknown mail transport {name!r}: use file, smtp, ews or graph")
