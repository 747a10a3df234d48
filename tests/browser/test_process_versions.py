"""A process owner's candidate in the browser: what changed is marked on the diagram, and the pages are accessible."""

from __future__ import annotations

from typing import Any

from flask import Flask

from rapidreview.config import PROJECT_ROOT
from rapidreview.services.people.demo import DEMO_PASSWORD
from tests.browser.conftest import axe_violations

CALLED = PROJECT_ROOT / "bpmn" / "information_sharing.bpmn"


def test_a_changed_deadline_is_marked_on_the_diagram_and_activation_asks_first(
        app: Flask, live_server: str, new_page: Any, tmp_path: Any) -> None:
    app.config.update(PROCESS_LINT=False, PROCESS_SCENARIOS=str(PROJECT_ROOT / "tests" / "fixtures" / "quick_scenarios"))
    changed = tmp_path / "information_sharing (1).bpmn"
    changed.write_bytes(CALLED.read_bytes().replace(b"day(7, ", b"day(6, "))
    page = new_page()
    page.goto(f"{live_server}/sign-in")
    page.fill("#email", "owner@demo.example")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/tasks")
    page.goto(f"{live_server}/process/deploy")
    page.set_input_files("input[type=file]", str(changed))
    page.fill("#note", "Information sharing due on Day 6")
    page.click("button:has-text('Check and store as a candidate')")
    page.wait_for_url("**/process/versions/2")
    page.wait_for_selector("#diagrams[data-rendered='true']", timeout=15000)
    marked = page.locator(".djs-element.app-changed").evaluate_all("els => els.map(e => e.dataset.elementId)")
    assert sorted(set(marked)) == ["complete_information_sharing_form", "information_sharing_escalation",
                                   "quality_assure_information_sharing_form"]
    assert axe_violations(page) == []

    page.click("a:has-text('Make version 2 active')")
    page.wait_for_url("**/process/versions/2/activate")
    assert "cannot go live until every scenario has passed" in page.content()
    assert axe_violations(page) == []
    page.goto(f"{live_server}/process/versions/2")
    page.click("button:has-text('Try every scenario')")
    page.wait_for_url("**/process/versions/2*")
    page.click("a:has-text('Make version 2 active')")
    page.click("button:has-text('Yes, make version 2 active')")
    page.wait_for_url("**/process")
    assert "Version 2 is now active" in page.content()
