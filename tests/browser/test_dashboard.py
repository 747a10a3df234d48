"""The dashboard in Chromium: no accessibility violations axe can find and nothing the CSP refuses, for the
Partnership Manager (with the period form, wrong and right) and for the administrator's counts."""

from __future__ import annotations

from datetime import date
from typing import Any

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.store.db import transaction
from tests import factories as make
from tests.browser.conftest import axe_violations


def seed(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as s:
        own = make.default_partnership(s)
        for n, day in enumerate((11, 14, 15, 17)):
            case = make.case(s, own, f"RR-B-{n}", date(2026, 1, 5 + 7 * n), submitted_on_day=day, lcspr=n == 1)
            make.task(s, case, "record_criteria_view", partner="LA", ready_at=make.on_day(case.day_one, 1, "10:00"),
                      completed_at=make.on_day(case.day_one, 1, "16:00"), due_at=make.on_day(case.day_one, 1, "17:00"),
                      name="Record your view on the criteria")
            make.task(s, case, "quality_assure_information_sharing_form", agency="school",
                      agency_name="Oak Primary School", ready_at=make.on_day(case.day_one, 5, "10:00"),
                      completed_at=make.on_day(case.day_one, 6 + n % 3, "10:00"),
                      due_at=make.on_day(case.day_one, 7, "17:00"), name="Quality-assure and sign off the form")
        open_case = make.case(s, own, "RR-B-OPEN", date(2026, 5, 18))
        make.task(s, open_case, "record_criteria_view", partner="MPS", ready_at=make.on_day(open_case.day_one, 1, "10:00"),
                  due_at=make.on_day(open_case.day_one, 1, "17:00"), name="Record your view on the criteria")


def signed_in(new_page: Any, base: str, email: str) -> Any:
    page = new_page()
    page.goto(f"{base}/sign-in")
    page.fill("#email", email)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/tasks")
    return page


def test_the_dashboard_has_no_accessibility_violations(
        live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    seed(runtime)
    page = signed_in(new_page, live_server, "pm@demo.example")
    page.click("a.govuk-service-navigation__link:has-text('Dashboard')")
    page.wait_for_url("**/dashboard")
    assert page.locator("svg.app-chart").count() == 4
    assert axe_violations(page) == []
    # The period form, with a mistake: an accessible error summary, then a right one.
    page.click("summary:has-text('Choose other dates')")
    page.fill("#from-day", "31")
    page.fill("#from-month", "2")
    page.click("button:has-text('Show these dates')")
    page.wait_for_selector(".govuk-error-summary")
    assert axe_violations(page) == []
    page.fill("#from-day", "1")
    page.fill("#from-month", "1")
    page.fill("#from-year", "2026")
    page.click("button:has-text('Show these dates')")
    page.wait_for_selector("text=Reviews notified from 1 January 2026")
    assert "75%" in page.locator(".app-headline__figure").inner_text()


def test_the_administrators_counts_have_no_accessibility_violations(
        live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    seed(runtime)
    page = signed_in(new_page, live_server, "admin@demo.example")
    page.goto(f"{live_server}/dashboard")
    assert page.locator("h1").inner_text() == "Rapid Reviews across partnerships"
    assert axe_violations(page) == []
