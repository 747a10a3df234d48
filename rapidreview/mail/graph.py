"""Microsoft Graph for Exchange Online: mail by ``sendMail`` when the request fits Graph's 4 MB limit, else a
draft, its attachments (an upload session for each one too large to post) and ``send``; meetings as calendar
events that Exchange Online sends the invitations, updates and cancellations for (graph_events.py).

Application permissions, each scoped to the one mailbox (docs/mail.md): ``Mail.Send`` for sending,
``Mail.ReadWrite`` for the draft of a large message and for looking in Sent Items, ``Calendars.ReadWrite``
for meetings.

Drafts are created with immutable ids and the draft's id is kept with the outbox message, so when the final
``send`` fails and is retried, the same draft is sent rather than a second one built and the first left in
Drafts.
"""

from __future__ import annotations

import base64
from collections import Counter
from contextlib import suppress
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from rapidreview.config import GraphSettings
from rapidreview.mail.graph_client import (
    IMMUTABLE_IDS,
    MAX_BODY,
    GraphClient,
    ItemNotFound,
    clear_token_cache,
    to_json,
)
from rapidreview.mail.graph_events import body_json, send_meeting
from rapidreview.mail.interface import PermanentMailError, TemporaryMailError
from rapidreview.mail.meetings import MeetingItems
from rapidreview.mail.message import Attachment, OutgoingMail

__all__ = ["CHUNK", "GraphTransport", "clear_token_cache"]

CHUNK = 320 * 1024 * 10  # upload sessions take chunks in multiples of 320 KiB (here 3.2 MB), each under 4 MB


class GraphTransport:
    name = "graph"
    reports_handover = True

    def __init__(self, config: GraphSettings, *, mailbox: str, meetings: MeetingItems,
                 http: requests.Session | None = None) -> None:
        self.mailbox, self.meetings = mailbox, meetings
        self.client = GraphClient(config, mailbox, http)
        self.user = self.client.user

    # -- Transport ---------------------------------------------------------------------------------------
    def send(self, mail: OutgoingMail, sent_at: datetime) -> str:
        if mail.invitation is not None:
            return send_meeting(self.client, self.meetings, self.name, mail)
        message = _message_json(mail)
        request = {"message": {**message, "attachments": [_file_attachment(a) for a in mail.attachments]},
                   "saveToSentItems": True}
        if len(to_json(request)) <= MAX_BODY:
            mail.handing_over()
            self.client.call("POST", f"{self.user}/sendMail", body=request, handed_over=True)
        else:
            self._send_by_draft(mail, message)
        return mail.message_id

    def find_sent(self, message_id: str) -> str | None:
        meeting = self.meetings.by_message_id(message_id)
        if meeting is not None and meeting.transport == self.name:
            return meeting.item_id
        quoted = message_id.replace("'", "''")  # OData doubles quotes inside a string literal
        response = self.client.call("GET", f"{self.user}/mailFolders/sentitems/messages", headers=IMMUTABLE_IDS,
                                    params={"$filter": f"internetMessageId eq '{quoted}'", "$select": "id",
                                            "$top": "1"})
        found = response.json().get("value", [])
        return str(found[0]["id"]) if found else None

    # -- too large for one request: a draft, its attachments, then send ----------------------------------
    def _send_by_draft(self, mail: OutgoingMail, message: dict[str, Any]) -> None:
        progress = mail.progress
        draft = self._earlier_draft(mail, progress.draft_id) if progress and progress.draft_id else None
        if draft == "":  # the earlier attempt's draft went out after all
            return
        if draft is None:
            draft = self._build_draft(mail, message)
        mail.handing_over()
        try:
            self.client.call("POST", f"{self._message_url(draft)}/send", handed_over=True)
        except (PermanentMailError, TemporaryMailError) as exc:
            # The outbox keeps the complete draft for its next attempt to send; a one-off send (mail test)
            # has no next attempt, so its draft goes, unless it may have been sent.
            if mail.progress is None and not exc.in_doubt:
                self._discard(mail, draft)
            raise

    def _earlier_draft(self, mail: OutgoingMail, draft_id: str) -> str | None:
        """``draft_id`` if that draft is complete and can be sent as it is; "" if it was sent already; None
        (having deleted any half-built remains) if a new one must be built."""
        assert mail.progress is not None
        try:
            found = self.client.call("GET", self._message_url(draft_id), headers=IMMUTABLE_IDS, params={
                "$select": "isDraft,internetMessageId", "$expand": "attachments($select=name)"}).json()
        except ItemNotFound:
            mail.progress.keep_draft(None)  # deleted in Outlook, or never finished: build another
            return None
        if found.get("internetMessageId") != mail.message_id:
            raise PermanentMailError(f"the draft {draft_id} kept for {mail.message_id} holds another message "
                                     f"({found.get('internetMessageId')}); a person must look at the mailbox's Drafts")
        if not found.get("isDraft", True):
            return ""
        names = Counter(str(a.get("name")) for a in found.get("attachments", []))
        if names == Counter(a.filename for a in mail.attachments):
            return draft_id
        self._discard(mail, draft_id)  # the attempt that built it died half way
        return None

    def _build_draft(self, mail: OutgoingMail, message: dict[str, Any]) -> str:
        draft = str(self.client.call("POST", f"{self.user}/messages", body=message, headers=IMMUTABLE_IDS).json()["id"])
        try:
            if mail.progress is not None:
                mail.progress.keep_draft(draft)  # before anything else: a crash from here on leaves it findable
            for attachment in mail.attachments:
                posted = _file_attachment(attachment)
                if len(to_json(posted)) <= MAX_BODY:
                    self.client.call("POST", f"{self._message_url(draft)}/attachments", body=posted)
                else:
                    self._upload(self._message_url(draft), attachment)
        except BaseException:
            self._discard(mail, draft)  # leave no half-built draft behind
            raise
        return draft

    def _discard(self, mail: OutgoingMail, draft: str) -> None:
        with suppress(PermanentMailError, TemporaryMailError):
            self.client.call("DELETE", self._message_url(draft))
            if mail.progress is not None:
                mail.progress.keep_draft(None)

    def _upload(self, message_url: str, attachment: Attachment) -> None:
        size = len(attachment.content)
        session = self.client.call("POST", f"{message_url}/attachments/createUploadSession", body={"AttachmentItem": {
            "attachmentType": "file", "name": attachment.filename, "size": size, "contentType": attachment.media_type,
        }}).json()
        for start in range(0, size, CHUNK):
            chunk = attachment.content[start:start + CHUNK]
            # The upload URL carries its own token: an Authorization header makes Graph refuse the chunk.
            span = f"bytes {start}-{start + len(chunk) - 1}/{size}"
            self.client.call("PUT", session["uploadUrl"], data=chunk, auth=False,
                             headers={"Content-Type": "application/octet-stream", "Content-Range": span})

    def _message_url(self, message_id: str) -> str:
        return f"{self.user}/messages/{quote(message_id, safe='')}"


def _recipients(addresses: list[str]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": a}} for a in addresses]


def _message_json(mail: OutgoingMail) -> dict[str, Any]:
    message: dict[str, Any] = {"subject": mail.subject, "body": body_json(mail), "toRecipients": _recipients(mail.to),
                               "internetMessageId": mail.message_id}
    if mail.cc:
        message["ccRecipients"] = _recipients(mail.cc)
    if mail.reply_to:
        message["replyTo"] = _recipients(mail.reply_to)
    return message


def _file_attachment(attachment: Attachment) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.fileAttachment", "name": attachment.filename,
            "contentType": attachment.media_type, "contentBytes": base64.b64encode(attachment.content).decode()}
