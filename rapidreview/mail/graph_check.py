"""``rapidreview mail check`` for Microsoft Graph: does each thing the app will need to do, against the
configured mailbox, and says which application permission or policy is missing.

What it leaves behind, on purpose: one message from the mailbox to itself ("Rapid Review mail check", with
a small text attachment), in its Inbox and Sent Items. The calendar event it creates has no attendees, so
nobody is invited, and it is deleted again.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from urllib.parse import quote

from rapidreview import clock
from rapidreview.config import Settings
from rapidreview.mail.finding import Finding
from rapidreview.mail.finding import checked as _step
from rapidreview.mail.finding import failed as _failed
from rapidreview.mail.graph_client import (
    CALENDARS_READWRITE,
    IMMUTABLE_IDS,
    MAIL_READWRITE,
    MAIL_SEND,
    PERMISSIONS,
    GraphClient,
    token_roles,
)
from rapidreview.mail.graph_events import find_event
from rapidreview.mail.interface import PermanentMailError, TemporaryMailError

SUBJECT = "Rapid Review mail check"


def check_graph(settings: Settings, client: GraphClient | None = None) -> list[Finding]:
    client = client or GraphClient(settings.graph, settings.graph.mailbox or settings.mail_from)
    mailbox = client.mailbox
    try:
        token = client.token()
    except (PermanentMailError, TemporaryMailError) as exc:
        return [_failed("a token from Microsoft Entra ID", exc)]
    findings = [Finding(True, "a token from Microsoft Entra ID", _roles_note(token_roles(token)))]

    draft: list[str] = []
    findings.append(_step(f"{MAIL_READWRITE.name}: a draft with an attachment in {mailbox}",
                          lambda: draft.append(_draft(client))))
    if draft:
        findings.append(_step(f"{MAIL_SEND.name}: sending it to {mailbox} itself",
                              lambda: _send_draft(client, draft[0])))
    else:  # without a draft, Mail.Send can still be tried on its own
        findings.append(_step(f"{MAIL_SEND.name}: a message to {mailbox} itself",
                              lambda: _send_mail(client)))
    findings.append(_step(f"{MAIL_READWRITE.name}: looking in Sent Items", lambda: client.call(
        "GET", f"{client.user}/mailFolders/sentitems/messages", headers=IMMUTABLE_IDS,
        params={"$select": "id", "$top": "1"})))
    findings.append(_step(f"{CALENDARS_READWRITE.name}: an event without attendees, found by its iCalUId, "
                          "then deleted", lambda: _event(client)))
    return findings


def _roles_note(roles: list[str] | None) -> str:
    if roles is None:
        return "the token's permissions cannot be read"
    if not roles:
        return ("it carries no application permissions: fine with RBAC for Applications, which grants them in "
                "Exchange Online, scoped to the mailbox")
    needed = {p.name for p in PERMISSIONS}
    note = f"application permissions granted in Entra ID: {', '.join(sorted(roles))}"
    extra = sorted(set(roles) - needed)
    if extra:
        note += f" (not needed: {', '.join(extra)})"
    return note


def _draft(client: GraphClient) -> str:
    message = {"subject": SUBJECT, "toRecipients": [{"emailAddress": {"address": client.mailbox}}],
               "body": {"contentType": "Text", "content": "Checking the permissions of the Rapid Review app."}}
    draft = str(client.call("POST", f"{client.user}/messages", body=message, headers=IMMUTABLE_IDS).json()["id"])
    try:
        client.call("POST", f"{_message_url(client, draft)}/attachments", body={
            "@odata.type": "#microsoft.graph.fileAttachment", "name": "mail-check.txt", "contentType": "text/plain",
            "contentBytes": "UmFwaWQgUmV2aWV3IG1haWwgY2hlY2sK"})
    except (PermanentMailError, TemporaryMailError):
        _delete(client, draft)
        raise
    return draft


def _send_draft(client: GraphClient, draft: str) -> None:
    try:
        client.call("POST", f"{_message_url(client, draft)}/send")
    except (PermanentMailError, TemporaryMailError):
        _delete(client, draft)  # leave no draft behind in the mailbox
        raise


def _send_mail(client: GraphClient) -> None:
    client.call("POST", f"{client.user}/sendMail", body={"message": {
        "subject": SUBJECT, "toRecipients": [{"emailAddress": {"address": client.mailbox}}],
        "body": {"contentType": "Text", "content": "Checking the permissions of the Rapid Review app."}},
        "saveToSentItems": True})


def _event(client: GraphClient) -> None:
    start = (clock.now() + timedelta(days=366)).replace(hour=6, minute=0, second=0, microsecond=0)
    created = client.call("POST", f"{client.user}/events", headers=IMMUTABLE_IDS, body={
        "subject": SUBJECT, "body": {"contentType": "Text", "content": "Created and deleted by rapidreview mail check."},
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(minutes=15)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "attendees": [], "isReminderOn": False, "showAs": "free"}).json()
    event_id = str(created["id"])
    try:
        if created.get("iCalUId") and find_event(client, str(created["iCalUId"])) != event_id:
            raise PermanentMailError("the event just created was not found by its iCalUId")
    finally:
        client.call("DELETE", f"{client.user}/events/{quote(event_id, safe='')}")


def _delete(client: GraphClient, message_id: str) -> None:
    with suppress(PermanentMailError, TemporaryMailError):  # the check's own clean-up is not what is checked
        client.call("DELETE", _message_url(client, message_id))


def _message_url(client: GraphClient, message_id: str) -> str:
    return f"{client.user}/messages/{quote(message_id, safe='')}"


