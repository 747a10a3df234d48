"""A fake Microsoft Entra ID and Graph for the mail tests (no tests here): a small threaded HTTPS server on
127.0.0.1 that the real msal and requests talk to. It refuses what Graph v1.0 refuses, as Microsoft documents it:

- each request needs one of the application permissions Microsoft lists for its endpoint, read from the
  ``roles`` claim of the token it issued or assigned with RBAC for Applications (403 ErrorAccessDenied
  otherwise), and the mailbox must be inside the application access policy when one is set;
- a request over 4 MB is refused (413); an upload session is refused for a file under 3 MB
  (ErrorAttachmentSizeShouldNotBeLessThanMinimumSize); an upload chunk must not carry a token;
- a message or event has a regular id, which changes when the item is moved (Drafts to Sent Items, or in
  Outlook), and an immutable id; responses carry the immutable one only with ``Prefer: IdType="ImmutableId"``,
  and either finds the item while it is there.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.test_mail_support import TlsFiles

MAILBOX = "rapid.review@partnership.example"
USER = f"/v1.0/users/{MAILBOX}"
REQUEST_LIMIT = 4 * 1024 * 1024  # "4 MB"
UPLOAD_MINIMUM = 3_000_000  # "between 3 MB and 150 MB"

# The application permissions Microsoft documents per endpoint (any one will do).
READ_MAIL = {"Mail.ReadBasic.All", "Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite"}
WRITE_MAIL = {"Mail.ReadWrite"}
SEND_MAIL = {"Mail.Send"}
READ_CALENDAR = {"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"}
WRITE_CALENDAR = {"Calendars.ReadWrite"}
ROUTES: list[tuple[str, re.Pattern[str], set[str], str]] = [
    (method, re.compile(f"^{pattern}$"), roles, name) for method, pattern, roles, name in (
        ("POST", "/sendMail", SEND_MAIL, "send_mail"),
        ("POST", "/messages", WRITE_MAIL, "create_draft"),
        ("GET", "/messages/(?P<id>[^/]+)", READ_MAIL, "get_message"),
        ("DELETE", "/messages/(?P<id>[^/]+)", WRITE_MAIL, "delete_item"),
        ("POST", "/messages/(?P<id>[^/]+)/attachments", WRITE_MAIL, "add_attachment"),
        ("POST", "/messages/(?P<id>[^/]+)/attachments/createUploadSession", WRITE_MAIL, "upload_session"),
        ("POST", "/messages/(?P<id>[^/]+)/send", SEND_MAIL, "send_draft"),
        ("GET", "/mailFolders/sentitems/messages", READ_MAIL, "list_sent"),
        ("POST", "/events", WRITE_CALENDAR, "create_event"),
        ("GET", "/events", READ_CALENDAR, "list_events"),
        ("PATCH", "/events/(?P<id>[^/]+)", WRITE_CALENDAR, "update_event"),
        ("DELETE", "/events/(?P<id>[^/]+)", WRITE_CALENDAR, "delete_item"),
        ("POST", "/events/(?P<id>[^/]+)/cancel", WRITE_CALENDAR, "cancel_event"),
    )]
ACCESS_DENIED = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again."}}
POLICY_DENIED = {"error": {"code": "ErrorAccessDenied", "message": "Access to OData is disabled: [RAOP] : Blocked by "
                           "tenant configured AppOnly AccessPolicy settings."}}


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    size: int  # the whole request: request line, headers and body

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Item:
    """A message or an event in the mailbox."""

    kind: str  # message, event
    number: int
    folder: str  # drafts, sentitems, calendar
    data: dict[str, Any]
    attachments: list[dict[str, Any]] = field(default_factory=list)
    moves: int = 0
    cancelled: bool = False

    @property
    def immutable_id(self) -> str:
        return f"AAkALgAA{self.kind}{self.number}"

    @property
    def regular_id(self) -> str:
        return f"AAMkAGI2{self.kind}{self.number}-{self.folder}-{self.moves}"

    @property
    def ical_uid(self) -> str:
        return f"040000008200E00074C5B7101A82E008{self.number:016X}"

    def move(self, folder: str | None = None) -> None:
        self.folder, self.moves = folder or self.folder, self.moves + 1


@dataclass
class FakeMicrosoft:
    base: str = ""
    roles: list[str] = field(default_factory=lambda: ["Mail.Send", "Mail.ReadWrite", "Calendars.ReadWrite"])
    policy_mailboxes: set[str] | None = None  # an application access policy: only these mailboxes
    exchange_roles: list[str] = field(default_factory=list)  # RBAC for Applications: granted in Exchange, not the token
    calls: list[Call] = field(default_factory=list)
    fail: list[tuple[str, str, int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    uploads: dict[int, dict[str, Any]] = field(default_factory=dict)
    numbered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        self.calls.clear()
        self.fail.clear()
        self.items.clear()
        self.uploads.clear()
        self.numbered = 0
        self.roles = ["Mail.Send", "Mail.ReadWrite", "Calendars.ReadWrite"]
        self.policy_mailboxes = None
        self.exchange_roles = []

    # -- for the tests ---------------------------------------------------------------------------------
    def of(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == path]

    def graph_calls(self) -> list[str]:
        """Each Graph request as "METHOD /path-below-the-mailbox", ids shortened to {id}."""
        return [f"{c.method} {re.sub('/AA[^/]+', '/{id}', c.path[len(USER):])}" for c in self.calls
                if c.path.startswith(USER)]

    def events(self) -> list[Item]:
        return [i for i in self.items if i.kind == "event"]

    def messages(self, folder: str) -> list[Item]:
        return [i for i in self.items if i.kind == "message" and i.folder == folder]

    # -- answering ---------------------------------------------------------------------------------------
    def answer(self, call: Call) -> tuple[int, dict[str, str], Any]:
        for i, (method, prefix, status, headers, body) in enumerate(self.fail):
            if call.method == method and call.path.startswith(prefix):
                del self.fail[i]
                return status, headers, body
        if call.size > REQUEST_LIMIT:
            return 413, {}, {"error": {"code": "RequestEntityTooLarge",
                                       "message": f"The request is {call.size} bytes; the limit is 4 MB."}}
        if call.path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant = call.path.split("/")[1]
            return 200, {}, {"issuer": f"{self.base}/{tenant}/v2.0",
                             "token_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/token",
                             "authorization_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/authorize"}
        if call.path.endswith("/oauth2/v2.0/token"):
            return 200, {}, {"access_token": self.token(), "token_type": "Bearer", "expires_in": 3599}
        if call.method == "PUT" and call.path.startswith("/upload/"):
            return self.upload_chunk(call)
        if not call.path.startswith(USER):
            return 404, {}, {"error": {"code": "ErrorInvalidUser", "message": "The requested user is invalid."}}
        below = call.path[len(USER):]
        for method, pattern, allowed, name in ROUTES:
            match = pattern.match(below)
            if call.method == method and match:
                if self.policy_mailboxes is not None and MAILBOX not in self.policy_mailboxes:
                    return 403, {}, POLICY_DENIED
                if not allowed & {*self.roles_of(call), *self.exchange_roles}:
                    return 403, {}, ACCESS_DENIED
                handler = getattr(self, name)
                return handler(call, *match.groups())  # type: ignore[no-any-return]
        return 400, {}, {"error": {"code": "BadRequest", "message": f"the fake does not know {call.method} {call.path}"}}

    def token(self) -> str:
        def part(value: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

        claims = {"aud": "https://graph.microsoft.com", "iss": f"{self.base}/contoso-tenant/", "roles": list(self.roles)}
        return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"

    @staticmethod
    def roles_of(call: Call) -> list[str]:
        token = call.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            payload = token.split(".")[1]
            return list(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["roles"])
        except (IndexError, ValueError, KeyError):
            return []

    def find(self, item_id: str, kind: str) -> Item | None:
        return next((i for i in self.items if i.kind == kind and item_id in (i.immutable_id, i.regular_id)), None)

    def new(self, kind: str, folder: str, data: dict[str, Any]) -> Item:
        self.numbered += 1
        item = Item(kind, self.numbered, folder, data)
        self.items.append(item)
        return item

    @staticmethod
    def id_for(call: Call, item: Item) -> str:
        return item.immutable_id if call.headers.get("Prefer") == 'IdType="ImmutableId"' else item.regular_id

    def not_found(self) -> tuple[int, dict[str, str], Any]:
        return 404, {}, {"error": {"code": "ErrorItemNotFound",
                                   "message": "The specified object was not found in the store."}}

    # -- mail ----------------------------------------------------------------------------------------------
    def send_mail(self, call: Call) -> tuple[int, dict[str, str], Any]:
        message = call.json()["message"]
        item = self.new("message", "sentitems", message)
        item.attachments = list(message.get("attachments", []))
        return 202, {}, None

    def create_draft(self, call: Call) -> tuple[int, dict[str, str], Any]:
        item = self.new("message", "drafts", call.json())
        return 201, {}, {"id": self.id_for(call, item), "isDraft": True}

    def get_message(self, call: Call, item_id: str) -> tuple[int, dict[str, str], Any]:
        item = self.find(item_id, "message")
        if item is None:
            return self.not_found()
        return 200, {}, {"id": self.id_for(call, item), "isDraft": item.folder == "drafts",
                         "internetMessageId": item.data.get("internetMessageId"),
                         "attachments": [{"name": a["name"]} for a in item.attachments]}

    def add_attachment(self, call: Call, item_id: str) -> tuple[int, dict[str, str], Any]:
        item = self.find(item_id, "message")
        if item is None:
            return self.not_found()
        item.attachments.append(call.json())
        return 201, {}, {"id": f"AAMkAttachment{len(item.attachments)}"}

    def upload_session(self, call: Call, item_id: str) -> tuple[int, dict[str, str], Any]:
        item = self.find(item_id, "message")
        if item is None:
            return self.not_found()
        wanted = call.json()["AttachmentItem"]
        if wanted["size"] < UPLOAD_MINIMUM:
            return 400, {}, {"error": {"code": "ErrorAttachmentSizeShouldNotBeLessThanMinimumSize",
                                       "message": "Attachment size should not be less than 3 MB."}}
        number = len(self.uploads) + 1
        self.uploads[number] = {"item": item, "attachment": dict(wanted), "received": b""}
        return 201, {}, {"uploadUrl": f"{self.base}/upload/{number}?authtoken=opaque",
                         "expirationDateTime": "2026-06-01T13:00:00Z", "nextExpectedRanges": ["0-"]}

    def upload_chunk(self, call: Call) -> tuple[int, dict[str, str], Any]:
        if "Authorization" in call.headers:
            return 401, {}, {"error": {"code": "InvalidAuthenticationToken", "message": "Unexpected token."}}
        upload = self.uploads[int(call.path.rsplit("/", 1)[1])]
        start, end, total = map(int, re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", call.headers["Content-Range"]).groups())  # type: ignore[union-attr]
        if start != len(upload["received"]) or end - start + 1 != len(call.body) or total != upload["attachment"]["size"]:
            return 416, {}, {"error": {"code": "InvalidRange", "message": "The range is not the one expected."}}
        upload["received"] += call.body
        if len(upload["received"]) < total:
            return 200, {}, {"nextExpectedRanges": [f"{len(upload['received'])}-"]}
        content = base64.b64encode(upload["received"]).decode()
        upload["item"].attachments.append({**upload["attachment"], "contentBytes": content})
        return 201, {}, None

    def send_draft(self, call: Call, item_id: str) -> tuple[int, dict[str, str], Any]:
        item = self.find(item_id, "message")
        if item is None or item.folder != "drafts":
            return self.not_found()
        item.move("sentitems")  # a new regular id; the immutable id stays
        return 202, {}, None

    def delete_item(self, call: Call, item_id: str) -> tuple[int, dict[str, str], Any]:
        item = self.find(item_id, "event" if "/events/" in call.path else "message")
        if item is None:
            return self.not_found()
        self.items.remove(item)
        return 204, {}, None

    def list_sent(self, call: Call) -> tuple[int, dict[str, str], Any]:
        found = self.messages("sentitems")
        if "$filter" in call.query:
            wanted = re.fullmatch(r"internetMessageId eq '(.*)'", call.query["$filter"][0])
            assert wanted is not None, call.query
            found = [i for i in found if i.data.get("internetMessageId") == wanted.group(1).replace("''", "'")]
        top = int(call.query.get("$top", ["10"])[0])
        return 200, {}, {"value": [{"id": self.id_for(call, i)} for i in found[:top]]}

    # -- calendar ----------------------------------------------------------------------------------------
    def create_event(self, call: Call) -> tuple[int, dict[str, str], Any]:
        data = call.json()
        same = [e for e in self.events() if data.get("transactionId") and e.data.get("transactionId") == data["transactionId"]]
        item = same[0] if same else self.new("event", "calendar", data)
        return 201, {}, {"id": self.id_for(call, item), "iCalUId": item.ical_uid}

    def update_event(self, call: Call, item_id: str) -> tuple[int, dict[str, str], Any]:
        item = self.find(item_id, "event")
        if item is None:
            return self.not_found()
        item.data.update(call.json())
        return 200, {}, {"id": self.id_for(call, item), "iCalUId": item.ical_uid}

    def cancel_event(self, call: Call, item_id: str) -> tuple[int, dict[str, str], Any]:
        item = self.find(item_id, "event")
        if item is None:
            return self.not_found()
        item.cancelled = True
        return 202, {}, None

    def list_events(self, call: Call) -> tuple[int, dict[str, str], Any]:
        wanted = re.fullmatch(r"iCalUId eq '(.*)'", call.query["$filter"][0])
        assert wanted is not None
        found = [e for e in self.events() if e.ical_uid == wanted.group(1)]
        return 200, {}, {"value": [{"id": self.id_for(call, e), "iCalUId": e.ical_uid, "isCancelled": e.cancelled}
                                   for e in found]}


def _handler(fake: FakeMicrosoft) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            size = len(self.requestline) + 2 + len(bytes(self.headers)) + len(body)
            call = Call(self.command, unquote(parts.path), parse_qs(parts.query), dict(self.headers.items()), body, size)
            with fake.lock:
                fake.calls.append(call)
                try:
                    status, headers, answer = fake.answer(call)
                except Exception as exc:  # a request the fake did not expect: say so instead of hanging up
                    status, headers, answer = 500, {}, {"error": {"code": "FakeFailed", "message": repr(exc)}}
            data = b"" if answer is None else json.dumps(answer).encode()
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


@contextmanager
def serve_microsoft(tls: TlsFiles) -> Iterator[FakeMicrosoft]:
    fake = FakeMicrosoft()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.certificate, tls.key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    fake.base = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
