"""Signing in with an organisation's account in a real browser: Chromium goes from the sign-in page to a real
OpenID provider on loopback (tests/oidc/provider.mjs), signs in there, comes back signed in, and signing out
ends the provider's session too, all under the app's Content-Security-Policy."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from rapidreview.config import Settings
from rapidreview.runtime import build_runtime
from rapidreview.services.people.demo import seed_demo
from rapidreview.web import create_app
from tests.browser.conftest import axe_violations
from tests.oidc import local_provider
from tests.oidc.local_provider import requires_provider

pytestmark = requires_provider


class LateApp:
    """The server needs its address before the app exists: the app's settings and the provider's client
    registration both name it."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture
def served(settings: Settings, database: tuple[str, str | None], tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(the app's address, the provider's issuer): both running, the app registered at the provider."""
    late = LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    provider = local_provider.start(
        tmp_path, [local_provider.client("rapidreview", base)],
        {"pm": {"sub": "sub-pm", "email": "pm@demo.example", "email_verified": True, "amr": ["pwd", "mfa"]}})
    rt = build_runtime(settings.with_(base_url=base, oidc_providers=(provider.settings(),)), schema=database[1])
    seed_demo(rt)
    late.app = create_app("test", runtime=rt)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, provider.issuer
    finally:
        server.shutdown()
        thread.join(timeout=5)
        provider.stop()
        rt.close()


def test_oidc_sign_in_and_out_through_the_provider_in_chromium(served: tuple[str, str], new_page: Any) -> None:
    base, issuer = served
    page = new_page()
    page.goto(f"{base}/sign-in")
    assert axe_violations(page) == []
    page.click("text=Sign in with Test Council")
    page.wait_for_url(f"{issuer}/interaction/**")
    page.fill("#login", "pm")
    page.click("button:has-text('Continue')")
    page.wait_for_url(f"{base}/tasks")
    assert "Signed in as Pat Manager" in page.locator(".app-user-bar").inner_text()

    page.click("button:has-text('Sign out')")
    page.wait_for_url(f"{issuer}/session/end**")
    page.click("button:has-text('Yes, sign me out')")
    page.wait_for_url(f"{base}/sign-in**")
    assert page.locator("h1").inner_text() == "Sign in to Rapid Review"
    page.goto(f"{base}/tasks")
    page.wait_for_url(f"{base}/sign-in**")
    # The provider's session ended too: signing in again asks who you are.
    page.click("text=Sign in with Test Council")
    page.wait_for_url(f"{issuer}/interaction/**")
    assert page.locator("#login").is_visible()
