"""A whole Rapid Review through the browser: each role signs in and does its part, to the Panel e-mail."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

from rapidreview import clock
from rapidreview.mail.transports import FileTransport
from rapidreview.scheduler.jobs import advance_due_cases
from rapidreview.services import scheduling
from rapidreview.services.demo import DEMO_PASSWORD
from rapidreview.services.runtime import Runtime
from tests.browser.conftest import axe_violations, example_answers
from tests.browser.forms import fill

PANEL = "Mailbox.NationalReviewPanel@education.gov.uk"


class Person:
    """One member of staff in their own browser context."""

    def __init__(self, new_page: Any, base: str, email: str) -> None:
        self.page, self.base, self.email = new_page(), base, email
        self.page.goto(f"{base}/sign-in")
        self.sign_in()

    def sign_in(self) -> None:
        self.page.fill("#email", self.email)
        self.page.fill("#password", DEMO_PASSWORD)
        self.page.click("button:has-text('Sign in')")
        self.page.wait_for_url("**/tasks")

    def do(self, task_name: str, answers: dict[str, Any], *, which: str | None = None) -> None:
        """Claim the task from the worklist, fill it in and submit it."""
        page = self.page
        page.goto(f"{self.base}/tasks")
        if "/sign-in" in page.url:  # idle for days of case time: signed out, as anyone would be
            assert "You were signed out" in page.locator("main").inner_text()
            self.sign_in()
        row = page.locator("tr", has_text=task_name)
        if which:
            row = row.filter(has_text=which)
        claim = row.locator("button:has-text('Claim')")
        with page.expect_navigation():
            if claim.count():
                claim.first.click()
            else:
                row.locator("a", has_text=task_name).first.click()
        assert page.locator("h1").inner_text() == task_name
        fill(page, answers)
        with page.expect_navigation():
            page.click("button[value='submit']")
        page.wait_for_selector(".govuk-notification-banner, .govuk-error-summary")
        banner = page.locator(".govuk-notification-banner")
        assert banner.count() and "is complete" in banner.first.inner_text(), (
            f"{task_name} was not completed:\n" + page.locator("main").inner_text()[:3000])


def advance(runtime: Runtime, virtual: clock.VirtualClock, to: Any) -> None:
    virtual.set(to)
    advance_due_cases(runtime)
    scheduling.deliver_mail(runtime, FileTransport(runtime.settings.outbox_dir))


def test_a_whole_case_from_notification_to_the_national_panel(
        live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    base = live_server
    pm = Person(new_page, base, "pm@demo.example")
    assert axe_violations(pm.page) == []  # the worklist

    # The Partnership Manager starts the case from the notification.
    pm.page.goto(f"{base}/cases/new")
    pm.page.click("button:has-text('Start the Rapid Review')")  # empty: the errors are shown and accessible
    pm.page.wait_for_selector(".govuk-error-summary")
    assert pm.page.locator(".govuk-error-summary").count() == 1
    assert axe_violations(pm.page) == []
    fill(pm.page, {"reference": "RR-2026-E2E", "notified_on": "2026-05-22", "notified_time": "09:00",
                   "child_name": "Child E", "child_date_of_birth": "2019-03-02", "child_sex": "female",
                   "incident_date": "2026-05-20", "incident_summary": "Child E was admitted to hospital with injuries."})
    pm.page.click("button:has-text('Start the Rapid Review')")
    pm.page.wait_for_url("**/cases/RR-2026-E2E")
    assert "Case RR-2026-E2E" in pm.page.locator("h1").inner_text()
    assert "Day 1 of 15" in pm.page.locator("main").inner_text()

    leads = {p: Person(new_page, base, f"{e}@demo.example") for p, e in
             (("LA", "la.lead"), ("MPS", "police.lead"), ("ICB", "icb.lead"))}
    for lead in leads.values():
        lead.do("Record the partner's view on the Rapid Review criteria",
                {**example_answers("record_criteria_view"), "criteria_met": "yes"})
    leads["LA"].do("Commission the Rapid Review and appoint its chair", {**example_answers("commission_rapid_review"),
                                                   "chair_email": "chair@demo.example", "chair_name": "Chris Chair"})

    officer = Person(new_page, base, "la.officer@demo.example")
    officer.do("Share the list of agencies involved", {"agencies": [
        {"id": "school", "name": "Oak Primary School", "contact_name": "Sam School", "contact_email": "dsl@oak.example",
         "manager_name": "Jo Head", "manager_email": "head@oak.example"},
        {"id": "gp", "name": "Elm Street Surgery", "contact_name": "Ana Doctor",
         "contact_email": "safeguarding@elmsurgery.example", "manager_name": "Lee Practice",
         "manager_email": "practice.manager@elmsurgery.example"}]})
    pm.do("Schedule the Rapid Review Meeting", {"location": "Microsoft Teams"})

    for agency in ("school", "gp"):
        Person(new_page, base, f"{agency}.practitioner@demo.example").do(
            "Complete the Information Sharing Form", example_answers("complete_information_sharing_form"))
        Person(new_page, base, f"{agency}.manager@demo.example").do(
            "Quality-assure and sign off the form", {"decision": "approve", "manager_name": "Manager",
                                                     "manager_role": "Designated safeguarding lead"})

    chair = Person(new_page, base, "chair@demo.example")
    chair.do("Prepare the draft Rapid Review Report", example_answers("prepare_draft_report"))

    # The meeting is on Day 8 at 14:00 (the form's suggestion); the chair records its outcome after it.
    advance(runtime, virtual_clock, runtime.calendar.day_at(runtime.calendar.day_one(clock.now()), 8, "14:01"))
    outcome = {**example_answers("record_meeting_outcomes"), "lcspr_recommended": True,
               "lcspr_grounds": ["reg11_c_multi_agency_working"],
               "key_lines_of_enquiry": ["How did agencies share information?"]}
    chair.do("Record the outcomes of the Rapid Review Meeting", outcome)
    pm.do("Prepare the revised final draft", {"changes_summary": "Agreed changes from the meeting."})

    # Two working days for comments, then the Partnership Manager incorporates them.
    advance(runtime, virtual_clock, clock.now() + timedelta(days=5))
    pm.do("Incorporate comments into the final report", {"changes_summary": "Accuracy comments from the police added."})
    for lead in leads.values():
        lead.do("Sign off the final report", {**example_answers("sign_off_final_report"), "decision": "approve"})
    # Signed by all three: the Partnership Manager checks the signed report and sends it.
    pm.do("Submit the signed report to the National Panel", {"report_checked": True})
    advance(runtime, virtual_clock, clock.now() + timedelta(seconds=1))

    # The Panel e-mail is in the outbox with the signed PDF, and the case says so.
    pm.page.goto(f"{base}/outbox")
    row = pm.page.locator("tr", has_text=PANEL)
    assert "Sent" in row.inner_text()
    emls = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in runtime.settings.outbox_dir.glob("*.eml")]
    [panel] = [m for m in emls if PANEL in m["To"]]
    [pdf] = list(panel.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content()[:5] == b"%PDF-"

    pm.page.goto(f"{base}/cases/RR-2026-E2E")
    main = pm.page.locator("main").inner_text()
    assert "Submitted" in main and re.search(r"signed-report-v1\.pdf", main)
    pm.page.wait_for_selector("#diagrams[data-rendered='true']", timeout=15000)
    assert pm.page.locator(".app-done").count() > 5
    assert axe_violations(pm.page) == []
    pm.page.goto(f"{base}/cases")
    assert "100%" in pm.page.locator("main").inner_text()
    assert axe_violations(pm.page) == []


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
