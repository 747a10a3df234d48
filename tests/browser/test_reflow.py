"""Reflow (WCAG 1.4.10): at 320 CSS pixels wide no page scrolls sideways; only a wide table scrolls, inside
its own focusable, labelled box. Every page each role reaches is visited, with a case under way."""

from __future__ import annotations

from typing import Any

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.store.db import transaction
from rapidreview.store.models import Case
from tests.browser.conftest import AXE, AXE_PATH, axe_violations
from tests.web.test_access import agency_task, start_case_with_two_agencies

PHONE = {"width": 320, "height": 700}

# What measures the page: how far it scrolls sideways, and the widest elements outside scrolling boxes.
OVERFLOW = """() => {
  const root = document.documentElement
  const wide = []
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.app-table-scroll, .app-diagram, dialog:not([open])')) continue
    const box = el.getBoundingClientRect()
    if (box.right > root.clientWidth + 1 && box.width > 0) {
      wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className + ' ' + Math.round(box.right))
    }
  }
  return {scroll: root.scrollWidth, client: root.clientWidth, wide: wide.slice(-5)}
}"""

PAGES = {
    None: ["/sign-in", "/accessibility", "/status"],
    "pm@demo.example": [
        "/tasks",
        "/tasks/{task}",
        "/cases",
        "/cases/{reference}",
        "/cases/new",
        "/dashboard",
        "/outbox",
        "/account",
        "/account/password",
    ],
    "la.lead@demo.example": ["/tasks", "/cases/{reference}"],
    "school.practitioner@demo.example": ["/tasks", "/tasks/{task}", "/cases/{reference}"],
    "owner@demo.example": [
        "/process",
        "/process/deploy",
        "/process/versions/1",
        "/process/versions/1/moves",
        "/process/versions/1/forms/complete_information_sharing_form.schema.json",
        "/process/versions/1/forms/record_meeting_outcomes.schema.json",
    ],
    "admin@demo.example": [
        "/admin/users",
        "/admin/users/new",
        "/admin/users/1",
        "/admin/agencies",
        "/admin/meeting-contacts",
        "/dashboard",
        "/status",
    ],
}


def phone_context(browser: Any, width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 700})
    context.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    return context


def sign_in(page: Any, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/tasks")


def test_no_page_scrolls_sideways_at_320_pixels(
    live_server: str, browser: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id = start_case_with_two_agencies(runtime)
    task = agency_task(runtime, case_id, "school")
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        reference = case.reference
    too_wide: dict[str, Any] = {}
    for email, paths in PAGES.items():
        context = phone_context(browser, PHONE["width"])
        try:
            page = context.new_page()
            if email:
                sign_in(page, live_server, email)
            for path in paths:
                url = live_server + path.format(task=task.id, reference=reference)
                response = page.goto(url)
                assert response is not None and response.status == 200, url
                measured = page.evaluate(OVERFLOW)
                if measured["scroll"] > measured["client"]:
                    too_wide[f"{email} {path}"] = measured
                # Each scrolling box can be reached and scrolled from the keyboard, and says what it holds.
                for box in page.locator(".app-table-scroll").all():
                    assert box.get_attribute("tabindex") == "0" and box.get_attribute("role") == "region", url
                    assert box.get_attribute("aria-label"), url
                assert axe_violations(page) == [], url
        finally:
            context.close()
    assert too_wide == {}, "\n".join(f"{k}: {v}" for k, v in too_wide.items())


def test_the_worklist_is_summary_cards_on_a_phone_with_the_claim_button_on_screen(
    live_server: str, browser: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    start_case_with_two_agencies(runtime)
    for width, email in ((320, "school.practitioner@demo.example"), (375, "gp.practitioner@demo.example")):
        context = phone_context(browser, width)
        try:
            page = context.new_page()
            sign_in(page, live_server, email)
            assert not page.locator(".app-task-table").first.is_visible()
            card = page.locator(".app-task-cards .govuk-summary-card").first
            assert "Complete the Information Sharing Form" in card.inner_text()
            claim = card.get_by_role("button", name="Claim")
            box = claim.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
            with page.expect_navigation():
                claim.click()
            assert page.locator("h1").inner_text() == "Complete the Information Sharing Form"
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            context.close()
