"""A whole Rapid Review through the browser: each role signs in and does its part, to the Panel e-mail."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from rapidreview import clock
from rapidreview.mail.transports import FileTransport
from rapidreview.runtime import Runtime
from rapidreview.scheduler.jobs import advance_due_cases
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.services.platform import scheduling
from tests.browser.conftest import axe_violations, example_answers
from tests.browser.forms import fill

PANEL = "Mailbox.NationalReviewPanel@education.gov.uk"


class Person:
    """One member of staff in their own browser context, at desktop width or on a phone. Every page they reach
    is checked with axe, and on a phone for sideways scrolling; pages worth showing in the user guide are saved
    as screenshots when RAPIDREVIEW_SCREENSHOTS names a folder."""

    def __init__(self, new_page: Any, base: str, email: str, width: int) -> None:
        self.page, self.base, self.email, self.width = new_page(width), base, email, width
        self.page.goto(f"{base}/sign-in")
        self.sign_in()

    def sign_in(self) -> None:
        self.page.fill("#email", self.email)
        self.page.fill("#password", DEMO_PASSWORD)
        self.page.click("button:has-text('Sign in')")
        self.page.wait_for_url(lambda url: "/sign-in" not in url)  # the worklist, or the page asked for
        self.check()

    def check(self, shot: str | None = None) -> None:
        """The page is axe-clean and, on a phone, never wider than the screen."""
        assert axe_violations(self.page) == [], self.page.url
        if self.width < 640:
            assert self.page.evaluate("document.documentElement.scrollWidth") <= self.width, self.page.url
        folder = os.environ.get("RAPIDREVIEW_SCREENSHOTS")
        if shot and folder:
            suffix = "" if self.width > 640 else "-phone"
            self.page.screenshot(path=str(Path(folder) / f"{shot}{suffix}.png"), full_page=self.width > 640)

    def goto(self, path: str, shot: str | None = None) -> None:
        self.page.goto(f"{self.base}{path}")
        if "/sign-in" in self.page.url:  # idle for days of case time: signed out, as anyone would be
            self.sign_in()
            self.page.goto(f"{self.base}{path}")
        self.check(shot)

    def do(self, task_name: str, answers: dict[str, Any], *, shot: str | None = None) -> None:
        """Claim the task from the worklist (a table on a desktop, cards on a phone), fill it in, submit it."""
        page = self.page
        self.goto("/tasks", "worklist" if shot else None)
        entries = page.locator(".app-task-table tr" if self.width > 640 else ".app-task-cards .govuk-summary-card",
                               has_text=task_name)
        claim = entries.locator("button:has-text('Claim')")
        with page.expect_navigation():
            if claim.count():
                claim.first.click()
            else:
                entries.locator("a", has_text=task_name).first.click()
        assert page.locator("h1").inner_text() == task_name
        self.check(shot)
        fill(page, answers)
        with page.expect_navigation():
            page.click("button[value='submit']")
        page.wait_for_selector(".govuk-notification-banner, .govuk-error-summary")
        banner = page.locator(".govuk-notification-banner")
        assert banner.count() and "is complete" in banner.first.inner_text(), (
            f"{task_name} was not completed:\n" + page.locator("main").inner_text()[:3000])
        self.check()


def advance(runtime: Runtime, virtual: clock.VirtualClock, to: Any) -> None:
    virtual.set(to)
    advance_due_cases(runtime)
    scheduling.deliver_mail(runtime, FileTransport(runtime.settings.outbox_dir))


@pytest.mark.parametrize("width", [1280, 375])
def test_a_whole_case_from_notification_to_the_national_panel(
        live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock, width: int) -> None:
    base = live_server
    pm = Person(new_page, base, "pm@demo.example", width)

    # The Partnership Manager starts the case from the notification.
    pm.goto("/cases/new")
    pm.page.click("button:has-text('Start the Rapid Review')")  # empty: the errors are shown and accessible
    pm.page.wait_for_selector(".govuk-error-summary")
    assert pm.page.locator(".govuk-error-summary").count() == 1
    pm.check()
    fill(pm.page, {"reference": "RR-2026-E2E", "notified_on": "2026-05-22", "notified_time": "09:00",
                   "child_name": "Child E", "child_date_of_birth": "2019-03-02", "child_sex": "female",
                   "incident_date": "2026-05-20", "incident_summary": "Child E was admitted to hospital with injuries."})
    pm.page.click("button:has-text('Start the Rapid Review')")
    pm.page.wait_for_url("**/cases/RR-2026-E2E")
    assert "Case RR-2026-E2E" in pm.page.locator("h1").inner_text()
    assert "Day 1 of 15" in pm.page.locator("main").inner_text()
    pm.check("case-page")

    leads = {p: Person(new_page, base, f"{e}@demo.example", width) for p, e in
             (("LA", "la.lead"), ("MPS", "police.lead"), ("ICB", "icb.lead"))}
    for partner, lead in leads.items():
        lead.do("Record the partner's view on the Rapid Review criteria",
                {**example_answers("record_criteria_view"), "criteria_met": "yes"},
                shot="task-criteria-view" if partner == "LA" else None)
    leads["LA"].do("Commission the Rapid Review and appoint its chair", {**example_answers("commission_rapid_review"),
                                                   "chair_email": "chair@demo.example", "chair_name": "Chris Chair"})

    officer = Person(new_page, base, "la.officer@demo.example", width)
    officer.do("Share the list of agencies involved", {"agencies": [
        {"id": "school", "name": "Oak Primary School", "contact_name": "Sam School", "contact_email": "dsl@oak.example",
         "manager_name": "Jo Head", "manager_email": "head@oak.example"},
        {"id": "gp", "name": "Elm Street Surgery", "contact_name": "Ana Doctor",
         "contact_email": "safeguarding@elmsurgery.example", "manager_name": "Lee Practice",
         "manager_email": "practice.manager@elmsurgery.example"}]})
    pm.do("Schedule the Rapid Review Meeting", {"location": "Microsoft Teams"})

    for agency in ("school", "gp"):
        Person(new_page, base, f"{agency}.practitioner@demo.example", width).do(
            "Complete the Information Sharing Form", example_answers("complete_information_sharing_form"))
        Person(new_page, base, f"{agency}.manager@demo.example", width).do(
            "Quality-assure and sign off the form", {"decision": "approve", "manager_name": "Manager",
                                                     "manager_role": "Designated safeguarding lead"})

    chair = Person(new_page, base, "chair@demo.example", width)
    chair.do("Prepare the draft Rapid Review Report", example_answers("prepare_draft_report"))

    # The meeting is on Day 8 at 14:00 (the form's suggestion); the chair records its outcome after it.
    advance(runtime, virtual_clock, runtime.calendar.day_at(runtime.calendar.day_one(clock.now()), 8, "14:01"))
    outcome = {**example_answers("record_meeting_outcomes"), "lcspr_recommended": True,
               "lcspr_grounds": ["reg11_c_multi_agency_working"],
               "key_lines_of_enquiry": ["How did agencies share information?"]}
    chair.do("Record the outcomes of the Rapid Review Meeting", outcome)
    pm.do("Prepare the revised final draft", {"changes_summary": "Agreed changes from the meeting."})

    # The final draft goes round: a lead comments in the app, from the e-mail's link.
    police = leads["MPS"]
    police.goto("/cases/RR-2026-E2E")
    police.page.click("#draft-comments-link")
    police.page.wait_for_url("**/cases/RR-2026-E2E/comments")
    assert "Comments are open until" in police.page.locator("main").inner_text()
    police.page.fill("#comment", "Paragraph 4: the police referral was made on 19 May, not 20 May.")
    with police.page.expect_navigation():
        police.page.click("button:has-text('Send comment')")
    assert "the police referral was made on 19 May" in police.page.locator("#comments").inner_text()
    police.check("draft-comments")

    # Two working days for comments, then the Partnership Manager incorporates them.
    advance(runtime, virtual_clock, clock.now() + timedelta(days=5))
    pm.do("Incorporate comments into the final report", {"changes_summary": "Accuracy comments from the police added."},
          shot="incorporate-comments")
    for lead in leads.values():
        lead.do("Sign off the final report", {**example_answers("sign_off_final_report"), "decision": "approve"})
    # Signed by all three: the Partnership Manager checks the signed report and sends it.
    pm.do("Submit the signed report to the National Panel", {"report_checked": True})
    advance(runtime, virtual_clock, clock.now() + timedelta(seconds=1))

    # The Panel e-mail is in the outbox with the signed PDF, and the case says so.
    pm.goto("/outbox")
    row = pm.page.locator("tr", has_text=PANEL)
    assert "Sent" in row.inner_text()
    emls = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in runtime.settings.outbox_dir.glob("*.eml")]
    [panel] = [m for m in emls if PANEL in m["To"]]
    [pdf] = list(panel.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content()[:5] == b"%PDF-"

    pm.goto("/cases/RR-2026-E2E")
    main = pm.page.locator("main").inner_text()
    assert "Submitted" in main and re.search(r"signed-report-v1\.pdf", main)
    pm.page.wait_for_selector("#diagrams[data-rendered='true']", timeout=15000)
    assert pm.page.locator(".app-done").count() > 5
    pm.check("case-submitted")
    pm.goto("/cases")
    assert "100%" in pm.page.locator("main").inner_text()


def test_the_sign_in_and_admin_pages_have_no_accessibility_violations(live_server: str, new_page: Any) -> None:
    page = new_page()
    page.goto(f"{live_server}/sign-in")
    assert axe_violations(page) == []
    page.click("button:has-text('Sign in')")  # with errors
    page.wait_for_selector(".govuk-error-summary")
    assert page.locator(".govuk-error-summary").count() == 1
    assert axe_violations(page) == []
    page.fill("#email", "admin@demo.example")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/tasks")
    for path in ("/admin/users", "/admin/users/new", "/admin/users/1", "/admin/agencies", "/admin/invitations",
                 "/account/password", "/accessibility"):
        page.goto(f"{live_server}{path}")
        assert axe_violations(page) == [], path


def test_the_process_owner_pages_have_no_accessibility_violations(live_server: str, new_page: Any) -> None:
    page = new_page()
    page.goto(f"{live_server}/sign-in")
    page.fill("#email", "owner@demo.example")
    page.fill("#password", DEMO_PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url("**/tasks")
    for path in ("/process", "/process/deploy", "/process/versions/1", "/process/versions/1/moves",
                 "/process/versions/1/forms/record_meeting_outcomes.schema.json"):
        page.goto(f"{live_server}{path}")
        assert page.locator("h1").count() == 1, path
        assert axe_violations(page) == [], path
