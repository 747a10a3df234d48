"""The graph transport: the real msal and requests, talking HTTPS to a fake Microsoft Entra ID and Graph
(a small threaded server on 127.0.0.1 with a self-signed certificate). The tests read the JSON it sent."""

from __future__ import annotations

import base64
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from rapidreview.config import GraphSettings
from rapidreview.mail.graph import INLINE_LIMIT, GraphTransport, clear_token_cache
from rapidreview.mail.meetings import MemoryMeetingItems
from rapidreview.mail.message import Attachment
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError
from tests.test_mail_support import (
    PANEL,
    PDF,
    START,
    TlsFiles,
    invitation,
    make_certificate,
    meeting_mail,
    outgoing,
)

SHARED = "rapid.review@partnership.example"
USER = f"/v1.0/users/{SHARED}"
SENT_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeMicrosoft:
    base: str = ""
    calls: list[Call] = field(default_factory=list)
    fail: list[tuple[str, str, int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    events: int = 0

    def reset(self) -> None:
        self.calls.clear()
        self.fail.clear()
        self.events = 0

    def answer(self, call: Call) -> tuple[int, dict[str, str], Any]:
        for i, (method, prefix, status, headers, body) in enumerate(self.fail):
            if call.method == method and call.path.startswith(prefix):
                del self.fail[i]
                return status, headers, body
        path, method = call.path, call.method
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = path.split("/")[1]
            return 200, {}, {"issuer": f"{self.base}/{tenant}/v2.0", "token_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/token",
                             "authorization_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/authorize"}
        if path.endswith("/oauth2/v2.0/token"):
            return 200, {}, {"access_token": "graph-token-1", "token_type": "Bearer", "expires_in": 3599}
        if (method, path) == ("POST", f"{USER}/sendMail"):
            return 202, {}, None
        if (method, path) == ("POST", f"{USER}/messages"):
            return 201, {}, {"id": "draft/1"}
        if method == "POST" and path.endswith("/attachments/createUploadSession"):
            return 201, {}, {"uploadUrl": f"{self.base}/upload/1?authtoken=opaque", "nextExpectedRanges": ["0-"]}
        if method == "PUT" and path == "/upload/1":
            return 200, {}, {"nextExpectedRanges": []}
        if method == "POST" and (path.endswith("/attachments") or path.endswith("/send")):
            return 202 if path.endswith("/send") else 201, {}, {}
        if (method, path) == ("POST", f"{USER}/events"):
            self.events += 1
            return 201, {}, {"id": f"AAMkEvent{self.events}", "iCalUId": "040000008200E0"}
        if method == "PATCH" and path.startswith(f"{USER}/events/"):
            return 200, {}, {"id": path.rsplit("/", 1)[1]}
        if method == "POST" and path.endswith("/cancel"):
            return 202, {}, None
        if method == "DELETE":
            return 204, {}, None
        if (method, path) == ("GET", f"{USER}/mailFolders/sentitems/messages"):
            wanted = call.query["$filter"][0]
            found = [{"id": "AAMkSent1"}] if wanted == "internetMessageId eq '<sent@x>'" else []
            return 200, {}, {"value": found}
        return 400, {}, {"error": {"code": "BadRequest", "message": f"the fake does not know {method} {path}"}}

    def of(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]


def _handler(fake: FakeMicrosoft) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            call = Call(self.command, unquote(parts.path), parse_qs(parts.query), dict(self.headers.items()),
                        self.rfile.read(length))
            fake.calls.append(call)
            status, headers, body = fake.answer(call)
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificate(tmp_path_factory.mktemp("graph-tls"))


@pytest.fixture(scope="module")
def server(tls: TlsFiles) -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.certificate, tls.key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    fake.base = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield fake
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def microsoft(server: FakeMicrosoft) -> FakeMicrosoft:
    server.reset()
    clear_token_cache()
    return server


def transport(fake: FakeMicrosoft, tls: TlsFiles, meetings: MemoryMeetingItems | None = None,
              **changes: Any) -> GraphTransport:
    settings = GraphSettings(tenant_id="contoso-tenant", client_id="app-id-1", client_secret="shh",
                             authority_host=fake.base, endpoint=f"{fake.base}/v1.0", ca_file=tls.certificate,
                             timeout_s=10)
    return GraphTransport(replace(settings, **changes), mailbox=SHARED, meetings=meetings or MemoryMeetingItems())


def test_the_national_panel_email_is_one_sendmail_with_a_client_credentials_token(microsoft: FakeMicrosoft,
                                                                                  tls: TlsFiles) -> None:
    mail = outgoing()
    assert transport(microsoft, tls).send(mail, SENT_AT) == mail.message_id
    token = next(c for c in microsoft.calls if c.path.endswith("/oauth2/v2.0/token"))
    form = parse_qs(token.body.decode())
    assert form["grant_type"] == ["client_credentials"] and form["client_id"] == ["app-id-1"]
    assert form["scope"] == [f"{microsoft.base}/.default"]
    assert token.path == "/contoso-tenant/oauth2/v2.0/token"
    [send] = microsoft.of("POST", f"{USER}/sendMail")
    assert send.headers["Authorization"] == "Bearer graph-token-1"
    body = send.json()
    assert body["saveToSentItems"] is True
    message = body["message"]
    assert message["toRecipients"] == [{"emailAddress": {"address": PANEL}}]
    assert message["ccRecipients"] == [{"emailAddress": {"address": "chair@partnership.example"}}]
    assert message["internetMessageId"] == mail.message_id and message["subject"] == mail.subject
    assert message["body"] == {"contentType": "HTML", "content": mail.html}
    [pdf] = message["attachments"]
    assert pdf["@odata.type"] == "#microsoft.graph.fileAttachment" and pdf["contentType"] == "application/pdf"
    assert pdf["name"] == "Rapid Review Report RR-2026-014.pdf" and base64.b64decode(pdf["contentBytes"]) == PDF


def test_a_second_message_reuses_the_cached_token(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    transport(microsoft, tls).send(outgoing(), SENT_AT)
    transport(microsoft, tls).send(outgoing(message_id="<two@x>"), SENT_AT)
    assert sum(c.path.endswith("/token") for c in microsoft.calls) == 1


def test_attachments_over_3_mb_go_through_an_upload_session(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    big = bytes(range(256)) * (INLINE_LIMIT // 256 + 2048)  # a little over 3.5 MB
    mail = outgoing(attachments=[Attachment("report.pdf", "application/pdf", big),
                                 Attachment("agenda.pdf", "application/pdf", PDF)])
    transport(microsoft, tls).send(mail, SENT_AT)
    [draft] = microsoft.of("POST", f"{USER}/messages")
    assert draft.json()["internetMessageId"] == mail.message_id and "attachments" not in draft.json()
    [session] = microsoft.of("POST", f"{USER}/messages/draft/1/attachments/createUploadSession")
    assert session.json()["AttachmentItem"] == {"attachmentType": "file", "name": "report.pdf", "size": len(big),
                                                "contentType": "application/pdf"}
    chunks = microsoft.of("PUT", "/upload/1")
    assert b"".join(c.body for c in chunks) == big
    assert [c.headers["Content-Range"] for c in chunks] == [
        f"bytes 0-3276799/{len(big)}", f"bytes 3276800-{len(big) - 1}/{len(big)}"]
    assert all("Authorization" not in c.headers for c in chunks)  # the upload URL carries its own token
    [small] = microsoft.of("POST", f"{USER}/messages/draft/1/attachments")
    assert base64.b64decode(small.json()["contentBytes"]) == PDF
    assert microsoft.calls[-1].method == "POST" and microsoft.calls[-1].path == f"{USER}/messages/draft/1/send"


def test_a_meeting_is_an_event_with_required_attendees_in_utc_then_moved_then_cancelled(
        microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    meetings = MemoryMeetingItems()
    graph = transport(microsoft, tls, meetings)
    assert graph.send(meeting_mail(), SENT_AT) == "AAMkEvent1"
    [create] = microsoft.of("POST", f"{USER}/events")
    event = create.json()
    assert event["subject"] == "Rapid Review Meeting: RR-2026-014"
    assert event["start"] == {"dateTime": "2026-06-03T09:00:00", "timeZone": "UTC"}
    assert event["end"] == {"dateTime": "2026-06-03T11:00:00", "timeZone": "UTC"}
    assert event["attendees"] == [{"emailAddress": {"address": "dsl@oak-school.example"}, "type": "required"},
                                  {"emailAddress": {"address": "lead@police.example"}, "type": "required"}]
    assert event["location"] == {"displayName": "Civic Centre, Room 2"} and event["transactionId"]

    moved = invitation(sequence=1, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=2))
    assert graph.send(meeting_mail(invitation=moved, message_id="<moved@x>"), SENT_AT) == "AAMkEvent1"
    [patch] = microsoft.of("PATCH", f"{USER}/events/AAMkEvent1")
    assert patch.json()["start"] == {"dateTime": "2026-06-04T09:00:00", "timeZone": "UTC"}
    assert microsoft.events == 1  # the same event, not a second one

    graph.send(meeting_mail(invitation=replace(moved, sequence=2, cancel="meeting"), message_id="<c@x>"), SENT_AT)
    [cancel] = microsoft.of("POST", f"{USER}/events/AAMkEvent1/cancel")
    assert "comment" in cancel.json()
    stored = meetings.get(moved.uid)
    assert stored is not None and stored.cancelled and graph.find_sent("<c@x>") == "AAMkEvent1"


def test_find_sent_filters_sent_items_by_internet_message_id(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    graph = transport(microsoft, tls)
    assert graph.find_sent("<sent@x>") == "AAMkSent1"
    assert graph.find_sent("<never@x>") is None
    call = microsoft.of("GET", f"{USER}/mailFolders/sentitems/messages")[0]
    assert call.query["$filter"] == ["internetMessageId eq '<sent@x>'"] and call.query["$select"] == ["id"]


def test_throttling_is_a_temporary_error_carrying_retry_after(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    microsoft.fail.append(("POST", f"{USER}/sendMail", 429, {"Retry-After": "17"},
                           {"error": {"code": "ApplicationThrottled", "message": "Too many requests"}}))
    with pytest.raises(TemporaryMailError, match="429 ApplicationThrottled") as caught:
        transport(microsoft, tls).send(outgoing(), SENT_AT)
    assert caught.value.retry_after == 17
    transport(microsoft, tls).send(outgoing(), SENT_AT)  # and the retry goes through
    assert len(microsoft.of("POST", f"{USER}/sendMail")) == 2


def test_a_missing_permission_is_permanent_and_names_it(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    microsoft.fail.append(("POST", f"{USER}/sendMail", 403, {},
                           {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}))
    with pytest.raises(PermanentMailError, match="ErrorAccessDenied.*Mail.Send"):
        transport(microsoft, tls).send(outgoing(), SENT_AT)


def test_a_bad_client_secret_is_permanent(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    microsoft.fail.append(("POST", "/contoso-tenant/oauth2/v2.0/token", 401, {},
                           {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}))
    with pytest.raises(PermanentMailError, match="invalid_client: AADSTS7000215"):
        transport(microsoft, tls).send(outgoing(), SENT_AT)
    assert microsoft.of("POST", f"{USER}/sendMail") == []


def test_an_untrusted_certificate_is_permanent(microsoft: FakeMicrosoft, tls: TlsFiles) -> None:
    with pytest.raises(PermanentMailError, match="TLS"):
        transport(microsoft, tls, ca_file=None).send(outgoing(), SENT_AT)
