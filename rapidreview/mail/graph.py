"""Microsoft Graph for Exchange Online: app-only tokens from msal (client credentials), mail by
``sendMail`` (attachments over 3 MB through a draft and upload sessions), meetings as calendar events
that Exchange Online sends the invitations, updates and cancellations for.

Permissions (application): Mail.Send, Calendars.ReadWrite for meetings and Mail.ReadBasic for
``find_sent``, each scoped to the one mailbox (docs/mail.md).
"""

from __future__ import annotations

import base64
import hashlib
import threading
from contextlib import suppress
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import msal
import requests

from rapidreview.config import GraphSettings
from rapidreview.mail.meetings import MeetingItems, plan_meeting, record_meeting
from rapidreview.mail.message import Attachment, OutgoingMail
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError

INLINE_LIMIT = 3 * 1024 * 1024  # Graph: attachments over 3 MB go through an upload session
CHUNK = 320 * 1024 * 10  # upload sessions take chunks in multiples of 320 KiB (here 3.2 MB)
TEMPORARY_STATUS = {408, 429, 500, 502, 503, 504}

_apps: dict[tuple[Any, ...], msal.ConfidentialClientApplication] = {}
_apps_lock = threading.Lock()


def clear_token_cache() -> None:
    with _apps_lock:
        _apps.clear()


class HttpSession(requests.Session):
    """requests with our CA file and timeout on every call. (``Session.verify`` alone is not enough:
    requests lets REQUESTS_CA_BUNDLE override it. Proxy variables are still honoured.)"""

    def __init__(self, verify: str | bool, timeout_s: float) -> None:
        super().__init__()
        self.ca, self.timeout_s = verify, timeout_s

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self.ca)
        kwargs.setdefault("timeout", (10, self.timeout_s))
        return super().request(method, url, *args, **kwargs)


class GraphTransport:
    name = "graph"

    def __init__(self, config: GraphSettings, *, mailbox: str, meetings: MeetingItems,
                 http: requests.Session | None = None) -> None:
        self.config, self.mailbox, self.meetings = config, mailbox, meetings
        self.http = http or HttpSession(str(config.ca_file) if config.ca_file else True, config.timeout_s)
        self.user = f"{config.endpoint}/users/{quote(mailbox, safe='@')}"

    # -- tokens: one msal application per process and credentials, so its cache keeps the token an hour
    def _token(self) -> str:
        c = self.config
        credential: Any = c.client_secret
        if c.certificate_file is not None:
            credential = {"private_key": c.certificate_file.read_text(), "thumbprint": c.certificate_thumbprint}
        fingerprint = hashlib.sha256(repr(credential).encode()).hexdigest()  # the key holds no secret
        key = (c.authority_host, c.tenant_id, c.client_id, str(c.ca_file), fingerprint)
        try:
            with _apps_lock:
                if key not in _apps:
                    _apps[key] = msal.ConfidentialClientApplication(
                        c.client_id, client_credential=credential, authority=f"{c.authority_host}/{c.tenant_id}",
                        instance_discovery=False, http_client=self.http)
                app = _apps[key]
            result = app.acquire_token_for_client(scopes=[f"{_origin(c.endpoint)}/.default"])
        except requests.exceptions.SSLError as exc:
            raise PermanentMailError(f"TLS to {c.authority_host} failed (RAPIDREVIEW_GRAPH_CA_FILE?): {exc}") from exc
        except requests.exceptions.RequestException as exc:
            raise TemporaryMailError(f"cannot reach {c.authority_host} for a token: {exc}") from exc
        except ValueError as exc:  # msal: the tenant or authority is wrong
            raise PermanentMailError(f"Microsoft Entra ID refused the tenant {c.tenant_id!r}: {exc}") from exc
        except RuntimeError as exc:  # msal: discovery answered 5xx
            raise TemporaryMailError(f"Microsoft Entra ID is unavailable: {exc}") from exc
        if "access_token" in result:
            return str(result["access_token"])
        error, text = result.get("error", "unknown_error"), result.get("error_description", "")
        message = f"no token from Microsoft Entra ID for client {c.client_id}: {error}: {text}".strip()
        if error in ("temporarily_unavailable", "server_error"):
            raise TemporaryMailError(message)
        raise PermanentMailError(message)

    def _call(self, method: str, url: str, *, json: Any = None, data: bytes | None = None,
              params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
              auth: bool = True) -> requests.Response:
        sent_headers = dict(headers or {})
        if auth:
            sent_headers["Authorization"] = f"Bearer {self._token()}"
        try:
            response = self.http.request(method, url, json=json, data=data, params=params, headers=sent_headers)
        except requests.exceptions.SSLError as exc:
            raise PermanentMailError(f"TLS to Microsoft Graph failed (RAPIDREVIEW_GRAPH_CA_FILE?): {exc}") from exc
        except requests.exceptions.RequestException as exc:
            raise TemporaryMailError(f"cannot reach Microsoft Graph: {exc}") from exc
        if response.status_code < 400:
            return response
        raise _error(method, url, response, self.mailbox)

    # -- Transport ---------------------------------------------------------------------------------------
    def send(self, mail: OutgoingMail, sent_at: datetime) -> str:
        if mail.invitation is not None:
            return self._meeting(mail)
        if sum(len(a.content) for a in mail.attachments) < INLINE_LIMIT:
            message = _message_json(mail)
            message["attachments"] = [_file_attachment(a) for a in mail.attachments]
            self._call("POST", f"{self.user}/sendMail", json={"message": message, "saveToSentItems": True})
        else:
            self._send_large(mail)
        return mail.message_id

    def find_sent(self, message_id: str) -> str | None:
        meeting = self.meetings.by_message_id(message_id)
        if meeting is not None and meeting.transport == self.name:
            return meeting.item_id
        quoted = message_id.replace("'", "''")  # OData doubles quotes inside a string literal
        response = self._call("GET", f"{self.user}/mailFolders/sentitems/messages", params={
            "$filter": f"internetMessageId eq '{quoted}'", "$select": "id", "$top": "1"})
        found = response.json().get("value", [])
        return str(found[0]["id"]) if found else None

    # -- large attachments: a draft, an upload session per big file, then send ---------------------------
    def _send_large(self, mail: OutgoingMail) -> None:
        draft = self._call("POST", f"{self.user}/messages", json=_message_json(mail)).json()["id"]
        url = f"{self.user}/messages/{quote(draft, safe='')}"
        try:
            for attachment in mail.attachments:
                if len(attachment.content) < INLINE_LIMIT:
                    self._call("POST", f"{url}/attachments", json=_file_attachment(attachment))
                else:
                    self._upload(url, attachment)
        except Exception:
            with suppress(PermanentMailError, TemporaryMailError):  # leave no half-built draft behind
                self._call("DELETE", url)
            raise
        # Not inside the clean-up above: if this times out, the message may have gone, and find_sent will say.
        self._call("POST", f"{url}/send")

    def _upload(self, message_url: str, attachment: Attachment) -> None:
        size = len(attachment.content)
        session = self._call("POST", f"{message_url}/attachments/createUploadSession", json={"AttachmentItem": {
            "attachmentType": "file", "name": attachment.filename, "size": size, "contentType": attachment.media_type,
        }}).json()
        for start in range(0, size, CHUNK):
            chunk = attachment.content[start:start + CHUNK]
            # The upload URL carries its own token: an Authorization header makes Graph refuse the chunk.
            span = f"bytes {start}-{start + len(chunk) - 1}/{size}"
            self._call("PUT", session["uploadUrl"], data=chunk, auth=False,
                       headers={"Content-Type": "application/octet-stream", "Content-Range": span})

    # -- meetings ------------------------------------------------------------------------------------------
    def _meeting(self, mail: OutgoingMail) -> str:
        plan = plan_meeting(self.meetings, self.name, self.mailbox, mail)
        inv = plan.invitation
        if plan.action == "skip":
            return plan.skipped_id
        if plan.action == "cancel":
            assert plan.existing is not None
            with suppress(_ItemNotFound):  # deleted in Outlook already, which told the attendees
                self._call("POST", f"{self.user}/events/{quote(plan.existing.item_id, safe='')}/cancel",
                           json={"comment": mail.body})
            record_meeting(self.meetings, self.name, self.mailbox, mail, plan.existing.item_id)
            return plan.existing.item_id
        event: dict[str, Any] = {
            "subject": inv.summary,
            "body": _body(mail),
            "start": {"dateTime": _graph_time(inv.starts_at), "timeZone": "UTC"},
            "end": {"dateTime": _graph_time(inv.ends_at), "timeZone": "UTC"},
            "location": {"displayName": inv.location},
            "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in inv.attendees],
            "allowNewTimeProposals": False,
        }
        if plan.action == "update":
            assert plan.existing is not None
            try:
                # Exchange Online sends the update to the attendees, and a cancellation to any dropped.
                self._call("PATCH", f"{self.user}/events/{quote(plan.existing.item_id, safe='')}", json=event)
                record_meeting(self.meetings, self.name, self.mailbox, mail, plan.existing.item_id)
                return plan.existing.item_id
            except _ItemNotFound:
                pass  # someone deleted it from the calendar: invite afresh
        # transactionId makes Graph ignore a second create of the same meeting after a lost response.
        event["transactionId"] = hashlib.sha256(f"{inv.uid}:{mail.message_id}".encode()).hexdigest()[:36]
        created = self._call("POST", f"{self.user}/events", json=event).json()
        record_meeting(self.meetings, self.name, self.mailbox, mail, str(created["id"]))
        return str(created["id"])


class _ItemNotFound(PermanentMailError):
    """The event or message is not there (the mailbox is: a missing mailbox is a different error code)."""


def _error(method: str, url: str, response: requests.Response, mailbox: str) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code = str(detail.get("code", ""))
        text = f"{code}: {detail.get('message', '')}".strip(": ")
    else:
        code, text = "", response.text[:300]
    where = f"Microsoft Graph {method} {urlsplit(url).path} answered {response.status_code}"
    status = response.status_code
    if status in TEMPORARY_STATUS:
        return TemporaryMailError(f"{where} {text}".strip(), retry_after=_retry_after(response))
    if status == 404 and code == "ErrorItemNotFound":
        return _ItemNotFound(f"{where} {text}")
    if status == 404:
        return PermanentMailError(f"{where} {text} (is {mailbox} the right mailbox?)")
    if status in (401, 403):
        return PermanentMailError(f"{where} {text}: the app needs Mail.Send (and Calendars.ReadWrite for meetings) "
                                  f"with access to {mailbox}; see docs/mail.md")
    return PermanentMailError(f"{where} {text}".strip())


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def _graph_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _body(mail: OutgoingMail) -> dict[str, str]:
    if mail.html is not None:
        return {"contentType": "HTML", "content": mail.html}
    return {"contentType": "Text", "content": mail.body}


def _recipients(addresses: list[str]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": a}} for a in addresses]


def _message_json(mail: OutgoingMail) -> dict[str, Any]:
    message: dict[str, Any] = {"subject": mail.subject, "body": _body(mail), "toRecipients": _recipients(mail.to),
                               "internetMessageId": mail.message_id}
    if mail.cc:
        message["ccRecipients"] = _recipients(mail.cc)
    return message


def _file_attachment(attachment: Attachment) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.fileAttachment", "name": attachment.filename,
            "contentType": attachment.media_type, "contentBytes": base64.b64encode(attachment.content).decode()}
