"""Browser tests: the app served on loopback, driven by Playwright in Debian's Chromium (never a download)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from rapidreview.config import PROJECT_ROOT

CHROMIUM = os.environ.get("RAPIDREVIEW_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# The closed network here refuses Chromium's background calls; these flags keep it quiet and quick.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
                                reason="Debian's chromium is not installed (make setup installs it as root)")


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


# axe-core is served to the page from the app's own origin (intercepted by Playwright, never by the app),
# so the tests run under the app's real Content-Security-Policy instead of bypassing it.
AXE_PATH = "/__test__/axe.min.js"


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Pages in fresh browser contexts. Every page is checked for Content-Security-Policy violations: the
    app's pages must work under the policy they send (no inline script or style)."""
    contexts: list[Any] = []
    violations: list[str] = []

    def collect(message: Any) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{message.location.get('url', '')}: {message.text}")

    def make(width: int = 1280) -> Any:
        context = browser.new_context(viewport={"width": width, "height": 900 if width > 640 else 740})
        context.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
        contexts.append(context)
        page = context.new_page()
        page.on("console", collect)
        return page

    yield make
    for context in contexts:
        context.close()
    assert violations == [], "\n".join(violations)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """WCAG 2.2 A and AA violations axe-core finds on the page."""
    origin = "/".join(page.url.split("/", 3)[:3])
    page.add_script_tag(url=f"{origin}{AXE_PATH}")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return list(result)


def example_answers(task: str) -> dict[str, Any]:
    schema = json.loads((PROJECT_ROOT / "forms" / f"{task}.schema.json").read_text())
    return dict(schema["examples"][0])
