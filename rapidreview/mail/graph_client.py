"""Talking to Microsoft Graph as an application: tokens from msal (client credentials), requests with our
CA file and timeout, Graph's 4 MB request limit, and Graph's errors as TemporaryMailError or
PermanentMailError, naming the application permission a refused request needs.

Which permission each request needs is Microsoft's per-endpoint table (learn.microsoft.com/graph/api/...,
"Permissions"), narrowed to the three this app is granted (docs/mail.md):

- ``Mail.Send``: ``POST /users/{id}/sendMail`` and ``POST /users/{id}/messages/{id}/send``, and nothing else;
- ``Mail.ReadWrite``: a draft (``POST /users/{id}/messages``), its attachments and upload sessions, deleting
  or reading it, and looking in Sent Items (which ``Mail.ReadBasic.All`` alone would also allow);
- ``Calendars.ReadWrite``: creating, changing, cancelling and finding events.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import msal
import requests

from rapidreview.config import GraphSettings
from rapidreview.mail.interface import PermanentMailError, TemporaryMailError

# Graph refuses a request over 4 MB (413). We decide on the bytes we actually send (base64 makes a file a third
# larger) and keep a margin for the headers, the bearer token among them (1-3 KB).
REQUEST_LIMIT = 4 * 1024 * 1024
MAX_BODY = REQUEST_LIMIT - 64 * 1024
# Ids that survive the item being moved (to another folder or calendar, or from Drafts to Sent Items).
IMMUTABLE_IDS = {"Prefer": 'IdType="ImmutableId"'}
TEMPORARY_STATUS = {408, 429, 500, 502, 503, 504}
GATEWAY_STATUS = {502, 504}  # a gateway answered, not Exchange: the request may still have been carried out

_apps: dict[tuple[Any, ...], msal.ConfidentialClientApplication] = {}
_apps_lock = threading.Lock()


def clear_token_cache() -> None:
    with _apps_lock:
        _apps.clear()


@dataclass(frozen=True)
class Permission:
    name: str  # the Microsoft Graph application permission; RBAC for Applications calls its role "Application <name>"
    needed_for: str


MAIL_SEND = Permission("Mail.Send", "sending mail")
MAIL_READWRITE = Permission("Mail.ReadWrite", "a draft with attachments (any message over Graph's 4 MB request "
                                              "limit) and looking in Sent Items")
CALENDARS_READWRITE = Permission("Calendars.ReadWrite", "the Rapid Review Meeting's event")
PERMISSIONS = (MAIL_SEND, MAIL_READWRITE, CALENDARS_READWRITE)


def permission_for(method: str, path: str) -> Permission:
    """The permission a request to ``path`` (under /users/{mailbox}) needs, of the three we are granted."""
    if path.startswith("/events"):
        return CALENDARS_READWRITE
    if method == "POST" and (path == "/sendMail" or path.endswith("/send")):
        return MAIL_SEND
    return MAIL_READWRITE


def to_json(body: Any) -> bytes:
    """The request body exactly as sent, so its size is the size Graph sees."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def token_roles(token: str) -> list[str] | None:
    """The ``roles`` claim of an access token (the application permissions granted in Entra ID), or None when
    the token cannot be read. Only for telling an administrator what was granted: nothing relies on it."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    roles = claims.get("roles", []) if isinstance(claims, dict) else None
    return [str(r) for r in roles] if isinstance(roles, list) else None


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


class GraphClient:
    """One mailbox through Graph, as the application of ``config``."""

    def __init__(self, config: GraphSettings, mailbox: str, http: requests.Session | None = None) -> None:
        self.config, self.mailbox = config, mailbox
        self.http = http or HttpSession(str(config.ca_file) if config.ca_file else True, config.timeout_s)
        self.user = f"{config.endpoint}/users/{quote(mailbox, safe='@')}"

    # -- tokens: one msal application per process and credentials, so its cache keeps the token an hour
    def token(self) -> str:
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

    def call(self, method: str, url: str, *, body: Any = None, data: bytes | None = None,
             params: dict[str, str] | None = None, headers: dict[str, str] | None = None, auth: bool = True,
             handed_over: bool = False) -> requests.Response:
        """One request; ``body`` is sent as JSON. ``handed_over``: the request may deliver the message, so an
        answer that is no verdict (a timeout, a lost connection, a gateway's 502/504) leaves it in doubt."""
        sent_headers = dict(headers or {})
        if body is not None:
            data = to_json(body)
            sent_headers["Content-Type"] = "application/json"
            if len(data) > MAX_BODY:
                raise PermanentMailError(f"the request to Microsoft Graph {method} {urlsplit(url).path} would be "
                                         f"{len(data):,} bytes, over Graph's 4 MB limit")
        if auth:
            sent_headers["Authorization"] = f"Bearer {self.token()}"
        try:
            response = self.http.request(method, url, data=data, params=params, headers=sent_headers)
        except requests.exceptions.SSLError as exc:
            raise PermanentMailError(f"TLS to Microsoft Graph failed (RAPIDREVIEW_GRAPH_CA_FILE?): {exc}") from exc
        except requests.exceptions.ConnectTimeout as exc:  # never connected: nothing was sent
            raise TemporaryMailError(f"cannot reach Microsoft Graph: {exc}") from exc
        except requests.exceptions.RequestException as exc:
            raise TemporaryMailError(f"cannot reach Microsoft Graph: {exc}", in_doubt=handed_over) from exc
        if response.status_code < 400:
            return response
        raise graph_error(method, url, response, self.mailbox, self.user, in_doubt=handed_over)


class ItemNotFound(PermanentMailError):
    """The message or event is not there (the mailbox is: a missing mailbox is a different error code)."""


def graph_error(method: str, url: str, response: requests.Response, mailbox: str, user_url: str, *,
                in_doubt: bool = False) -> Exception:
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code, message = str(detail.get("code", "")), str(detail.get("message", ""))
        text = f"{code}: {message}".strip(": ")
    else:
        code, message, text = "", "", response.text[:300]
    path = urlsplit(url).path
    where = f"Microsoft Graph {method} {path} answered {response.status_code}"
    status = response.status_code
    if status in TEMPORARY_STATUS:
        return TemporaryMailError(f"{where} {text}".strip(), retry_after=_retry_after(response),
                                  in_doubt=in_doubt and status in GATEWAY_STATUS)
    if status == 404 and code == "ErrorItemNotFound":
        return ItemNotFound(f"{where} {text}")
    if status == 404:
        return PermanentMailError(f"{where} {text} (is {mailbox} the right mailbox?)")
    if status == 413:
        return PermanentMailError(f"{where} {text}: the request was over Graph's 4 MB limit")
    if status in (401, 403):
        return PermanentMailError(f"{where} {text}: {access_advice(method, url, message, mailbox, user_url)}")
    return PermanentMailError(f"{where} {text}".strip())


def access_advice(method: str, url: str, message: str, mailbox: str, user_url: str) -> str:
    """What an administrator must grant for this request to succeed, in words they can act on."""
    if "AccessPolicy" in message:  # "[RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
        return (f"an application access policy keeps the app out of {mailbox}: add the mailbox to the policy's "
                "group (Test-ApplicationAccessPolicy shows the verdict); see docs/mail.md")
    path = urlsplit(url).path
    below = path[len(urlsplit(user_url).path):] if path.startswith(urlsplit(user_url).path) else path
    permission = permission_for(method, below)
    return (f"{permission.needed_for} needs the application permission {permission.name} on {mailbox}, which the "
            f"app lacks: grant it with RBAC for Applications (role \"Application {permission.name}\" scoped to the "
            f"mailbox) or in Entra ID with an application access policy; see docs/mail.md")


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
