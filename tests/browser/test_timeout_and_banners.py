"""Nobody loses work to the idle limit, and refusals are announced: in Chromium, with the keyboard.

The server's clock is the tests' virtual clock and the page's is Playwright's, moved together, so a two-minute
idle limit (the setting, shortened) passes in no time.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from rapidreview import clock
from rapidreview.config import Settings
from rapidreview.runtime import Runtime
from rapidreview.services.people.demo import DEMO_PASSWORD
from tests.browser.conftest import axe_violations
from tests.web.test_tasks import criteria_task

RATIONALE = "The health visitor saw a bruise in March and another in April; the school knew. " * 22


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, session_idle_minutes=2)


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/tasks")


def open_claimed_task(page: Any, base: str, task_id: int) -> None:
    page.goto(f"{base}/tasks/{task_id}")
    with page.expect_navigation():
        page.click("button:has-text('Claim this task')")
    page.fill("textarea[name='rationale']", RATIONALE)
    page.check("input[name='criteria_met'][value='yes']")
    page.focus("textarea[name='rationale']")


def let_time_pass(page: Any, virtual: clock.VirtualClock, seconds: int) -> None:
    page.wait_for_load_state("networkidle")  # the page's timers are set before its clock moves
    virtual.set(virtual.now() + timedelta(seconds=seconds))
    page.clock.run_for(seconds * 1000)


def wait_until(page: Any, expression: str, seconds: float = 10) -> None:
    """Poll from here: Playwright's own waiting runs on the page's timers, which its fake clock holds still."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still not true after {seconds} s: {expression}"
        time.sleep(0.05)


def dialog_open(page: Any) -> bool:
    return bool(page.evaluate("document.getElementById('timeout-warning').open"))


def test_the_warning_comes_before_the_limit_takes_focus_and_stay_signed_in_works_from_the_keyboard(
    live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    task = criteria_task(runtime)
    page = new_page()
    page.clock.install()
    sign_in(page, live_server, "la.lead@demo.example")
    open_claimed_task(page, live_server, task.id)

    let_time_pass(page, virtual_clock, 50)  # two-minute limit: the warning opens a minute before
    assert not dialog_open(page)
    let_time_pass(page, virtual_clock, 15)
    wait_until(page, "document.getElementById('timeout-warning').open")
    dialog = page.get_by_role("dialog", name="You are about to be signed out")
    assert dialog.is_visible()
    assert "we will sign you out in" in dialog.inner_text()
    assert page.evaluate("document.activeElement.id") == "timeout-warning-title"  # read out on opening
    assert axe_violations(page) == []

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Stay signed in"
    page.keyboard.press("Enter")
    wait_until(page, "!document.getElementById('timeout-warning').open")
    assert page.evaluate("document.activeElement.name") == "rationale"  # focus goes back where it was

    let_time_pass(page, virtual_clock, 100)  # past the first limit: "Stay signed in" started it again
    assert not dialog_open(page)
    page.reload()
    assert "/tasks/" in page.url and page.locator("h1").inner_text().startswith("Record the partner")


def test_escape_means_stay_signed_in(
    live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    page = new_page()
    page.clock.install()
    sign_in(page, live_server, "pm@demo.example")
    let_time_pass(page, virtual_clock, 65)
    wait_until(page, "document.getElementById('timeout-warning').open")
    page.keyboard.press("Escape")
    wait_until(page, "!document.getElementById('timeout-warning').open")
    let_time_pass(page, virtual_clock, 100)
    page.goto(f"{live_server}/cases")
    assert page.url.endswith("/cases")


def test_after_the_limit_the_answers_on_the_page_are_kept_and_the_task_comes_back(
    live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    task = criteria_task(runtime)
    page = new_page()
    page.clock.install()
    sign_in(page, live_server, "la.lead@demo.example")
    open_claimed_task(page, live_server, task.id)

    let_time_pass(page, virtual_clock, 65)
    wait_until(page, "document.getElementById('timeout-warning').open")
    let_time_pass(page, virtual_clock, 60)  # nobody answered
    wait_until(page, "document.getElementById('timeout-warning-title').textContent.includes('signed out')")
    dialog = page.get_by_role("dialog", name="You have been signed out")
    assert "Your answers on this page are not lost" in dialog.inner_text()
    assert page.evaluate("document.activeElement.id") == "timeout-warning-title"
    with page.expect_navigation():
        dialog.get_by_role("button", name="Keep my answers and sign in").click()
    assert "/sign-in" in page.url
    assert "has been kept as a draft" in page.locator("main").inner_text()

    page.fill("#email", "la.lead@demo.example")
    page.fill("#password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button:has-text('Sign in')")
    assert f"/tasks/{task.id}" in page.url
    assert "Your answers were kept" in page.locator("main").inner_text()
    assert page.input_value("textarea[name='rationale']") == RATIONALE.strip()
    assert page.is_checked("input[name='criteria_met'][value='yes']")


def test_without_javascript_a_form_sent_after_the_limit_is_kept_too(
    live_server: str, browser: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    """The lead who pressed Submit after a long call: signed in again, they are back on the task with the text."""
    task = criteria_task(runtime)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        sign_in(page, live_server, "la.lead@demo.example")
        open_claimed_task(page, live_server, task.id)
        page.check("input[name='immediate_action_needed'][value='no']")
        virtual_clock.set(virtual_clock.now() + timedelta(minutes=40))
        with page.expect_navigation():
            page.click("button[value='submit']")
        assert (
            "/sign-in" in page.url
            and "had not done anything for a while" in page.locator("main").inner_text()
        )
        page.fill("#email", "la.lead@demo.example")
        page.fill("#password", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("button:has-text('Sign in')")
        assert f"/tasks/{task.id}" in page.url
        assert page.input_value("textarea[name='rationale']") == RATIONALE.strip()
    finally:
        context.close()


def test_a_refused_claim_is_announced_and_takes_focus(
    live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    task = criteria_task(runtime)
    first, second = new_page(), new_page()
    sign_in(first, live_server, "la.lead@demo.example")
    sign_in(second, live_server, "la.lead@demo.example")
    claim = second.locator(f".app-task-table form[action='/tasks/{task.id}/claim'] button")
    assert claim.is_visible()
    first.goto(f"{live_server}/tasks/{task.id}")
    with first.expect_navigation():
        first.click("button:has-text('Claim this task')")
    with second.expect_navigation():
        claim.click()
    banner = second.get_by_role("alert")
    assert "There is a problem" in banner.inner_text() and "already been claimed" in banner.inner_text()
    expect(banner).to_be_focused()
    assert axe_violations(second) == []
