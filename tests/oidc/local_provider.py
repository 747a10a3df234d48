"""A real OpenID provider on the loopback interface (tests/oidc/provider.mjs: the oidc-provider package under
Node), and a person's browser at it, driven with requests."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey

from rapidreview.config import PROJECT_ROOT
from rapidreview.oidc_settings import OidcProvider

SCRIPT = Path(__file__).with_name("provider.mjs")
NODE = shutil.which("node")
PACKAGE = PROJECT_ROOT / "node_modules" / "oidc-provider"
START_TIMEOUT_S = 20
CLIENT_SECRET = "test-client-secret-that-is-long-enough-for-hs256"

# CI installs both (make setup: npm ci); elsewhere a missing Node or node_modules skips, saying why.
requires_provider = pytest.mark.skipif(
    (NODE is None or not PACKAGE.is_dir()) and os.environ.get("CI") != "true",
    reason="needs Node and node_modules/oidc-provider (make setup runs npm ci)",
)


@dataclass
class LocalProvider:
    """One running provider: its issuer URL and the process behind it."""

    issuer: str
    process: subprocess.Popen[str]
    stderr: list[str] = field(default_factory=list)

    def settings(self, client_id: str = "rapidreview", **changes: Any) -> OidcProvider:
        """The app's settings for this provider and one of its clients."""
        values: dict[str, Any] = dict(id="test", issuer=self.issuer, client_id=client_id, client_secret=CLIENT_SECRET,
                                      domains=("demo.example",),
                                      label="Test Council")
        values.update(changes)
        return OidcProvider(**values)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def port(self) -> int:
        return int(urlsplit(self.issuer).port or 0)


def client(client_id: str, redirect_base: str, *, tamper: str | None = None, provider_id: str = "test") -> dict[str, Any]:
    """A client registration for the app at ``redirect_base`` (its RAPIDREVIEW_BASE_URL)."""
    entry: dict[str, Any] = {
        "client_id": client_id, "client_secret": CLIENT_SECRET, "grant_types": ["authorization_code"],
        "response_types": ["code"], "redirect_uris": [f"{redirect_base}/sign-in/with/{provider_id}/callback"],
        "post_logout_redirect_uris": [f"{redirect_base}/sign-in"],
    }
    if tamper:
        entry["tamper"] = tamper
    return entry


def start(tmp_path: Path, clients: list[dict[str, Any]], accounts: dict[str, dict[str, Any]], *,
          port: int = 0, key_id: str = "key-1") -> LocalProvider:
    assert NODE is not None, "Node is needed for the test OpenID provider"
    config = tmp_path / f"oidc-provider-{key_id}.json"
    config.write_text(json.dumps({"port": port, "keyId": key_id, "clients": clients, "accounts": accounts}))
    process = subprocess.Popen([NODE, str(SCRIPT), str(config)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    stderr: list[str] = []
    threading.Thread(target=_drain, args=(process, stderr), daemon=True).start()
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline() if process.stdout else ""),
                              daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    if not line or not line[0].strip():
        process.kill()
        process.wait()
        raise RuntimeError("the test OpenID provider did not start:\n" + "".join(stderr))
    return LocalProvider(json.loads(line[0])["issuer"], process, stderr)


def _drain(process: subprocess.Popen[str], sink: list[str]) -> None:
    if process.stderr:
        for text in process.stderr:
            sink.append(text)


@pytest.fixture
def running_providers() -> Iterator[list[LocalProvider]]:
    """Providers a test starts (append them); each is stopped afterwards."""
    started: list[LocalProvider] = []
    yield started
    for provider in started:
        provider.stop()


class ProviderBrowser:
    """A person's browser at the provider: follows its redirects and fills in its sign-in form. Stops at the
    first redirect back to the app and returns it, for the app's test client to follow."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.http = requests.Session()

    def sign_in(self, authorization_url: str, login: str) -> str:
        response = self._follow(authorization_url)
        form = _form(response.text)
        assert form is not None, f"no sign-in form at the provider: {response.text[:500]}"
        action, _fields = form
        response = self._follow(urljoin(response.url, action), data={"login": login})
        assert response.is_redirect, f"the provider did not send the browser back: {response.status_code} {response.text[:500]}"
        return str(response.headers["Location"])

    def sign_out(self, end_session_url: str) -> str:
        """Confirm the provider's sign-out page; returns where the provider sends the browser afterwards."""
        response = self._follow(end_session_url)
        form = _form(response.text)
        assert form is not None, f"no sign-out form at the provider: {response.text[:500]}"
        action, fields = form
        response = self._follow(urljoin(response.url, action), data={**fields, "logout": "yes"})
        assert response.is_redirect, f"the provider did not send the browser back: {response.text[:500]}"
        return str(response.headers["Location"])

    def _follow(self, url: str, data: dict[str, str] | None = None) -> requests.Response:
        """Request ``url`` and follow redirects while they stay at the provider."""
        response = self.http.post(url, data=data, allow_redirects=False, timeout=10) if data is not None else \
            self.http.get(url, allow_redirects=False, timeout=10)
        for _ in range(10):
            if not response.is_redirect:
                return response
            target = urljoin(response.url, response.headers["Location"])
            if not target.startswith(self.issuer + "/"):
                return response
            response = self.http.get(target, allow_redirects=False, timeout=10)
        raise AssertionError("too many redirects at the provider")


def _form(html: str) -> tuple[str, dict[str, str]] | None:
    """The page's first form: its action and its hidden fields."""
    match = re.search(r'<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>', html, re.S)
    if match is None:
        return None
    fields = {unescape(name): unescape(value) for name, value in
              re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', match.group(2))}
    return unescape(match.group(1)), fields


def certificate_file(folder: Path, name: str) -> tuple[Path, dict[str, Any]]:
    """A PEM file with a new RSA key and its self-signed certificate, and the key's public JWK."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
                   .sign(key, hashes.SHA256()))
    path = folder / f"{name}.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
                     + certificate.public_bytes(serialization.Encoding.PEM))
    return path, RSAKey.import_key(key.public_key()).as_dict(private=False)
