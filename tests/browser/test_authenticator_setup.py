"""Setting up the authenticator app on a 320 px phone: a QR code with a text alternative, the key in groups of
four that wrap, nothing wider than the screen, and the code accepted."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from flask import Flask

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT
from rapidreview.runtime import Runtime
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.services.people.demo import DEMO_PASSWORD, seed_demo
from rapidreview.web import create_app
from tests.browser.conftest import AXE, AXE_PATH, axe_violations
from tests.test_security_sign_in import TotpConfig


@pytest.fixture
def app(runtime: Runtime, virtual_clock: clock.VirtualClock) -> Flask:
    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    seed_demo(runtime)
    return create_app(TotpConfig, runtime=runtime)


def test_the_set_up_page_has_a_qr_code_and_fits_a_phone(live_server: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 320, "height": 700})
    context.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    try:
        page = context.new_page()
        page.goto(f"{live_server}/sign-in")
        page.fill("#email", "pm@demo.example")
        page.fill("#password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("button:has-text('Sign in')")
        assert page.locator("h1").inner_text() == "Set up your authenticator app"
        qr = page.get_by_role(
            "img", name="QR code that adds Rapid Review to your authenticator app", exact=False
        )
        assert qr.is_visible()
        box = qr.bounding_box()
        assert box is not None and box["width"] >= 150 and box["x"] + box["width"] <= 320
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        key = page.locator("#totp-key")
        assert len(key.inner_text().split()) == 8  # 32 characters in groups of four
        assert axe_violations(page) == []
        page.fill("#code", pyotp.TOTP(key.inner_text().replace(" ", "")).at(clock.now()))
        with page.expect_navigation():
            page.click("button:has-text('Continue')")
        assert page.url.endswith("/tasks")
    finally:
        context.close()
