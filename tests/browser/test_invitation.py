"""An agency nobody has worked with before answers on time: the officer names it, its contact and manager are
invited from the outbox, set up their accounts with an authenticator app, and return and approve the form."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from typing import Any

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT
from rapidreview.mail.transports import FileTransport
from rapidreview.runtime import Runtime
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.services.people.demo import DEMO_PASSWORD, seed_demo
from rapidreview.services.platform import outbox
from rapidreview.store.db import transaction
from rapidreview.store.models import HumanTask
from rapidreview.web import create_app
from rapidreview.web.config import TestConfig
from tests.browser.conftest import axe_violations, example_answers
from tests.browser.forms import fill
from tests.factories import drive_until, start_case

NEW_PASSWORD = "blue kettle harbour lantern"


class ProductionSignIn(TestConfig):
    TOTP_REQUIRED = True  # as in production: every account enrols an authenticator app


@pytest.fixture
def app(runtime: Runtime, virtual_clock: clock.VirtualClock) -> Flask:
    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    seed_demo(runtime)
    return create_app(ProductionSignIn, runtime=runtime)


def enrol(page: Any) -> None:
    """The first sign-in's second step: the key the page shows, typed into an "app" (pyotp on the case clock)."""
    page.wait_for_selector("#totp-key")
    assert axe_violations(page) == []
    key = "".join(page.locator("#totp-key").inner_text().split())  # shown in groups of four
    page.fill("#code", pyotp.TOTP(key).at(clock.now()))
    with page.expect_navigation():
        page.click("button:has-text('Continue')")


def do(page: Any, base: str, task_name: str, answers: dict[str, Any]) -> None:
    page.goto(f"{base}/tasks")
    row = page.locator("tr", has_text=task_name)
    with page.expect_navigation():
        row.locator("button:has-text('Claim')").first.click()
    assert page.locator("h1").inner_text() == task_name
    fill(page, answers)
    with page.expect_navigation():
        page.click("button[value='submit']")
    banner = page.locator(".govuk-notification-banner")
    assert banner.count() and "is complete" in banner.first.inner_text(), page.locator("main").inner_text()[
        :3000
    ]


def invitation_path(runtime: Runtime, to: str) -> str:
    outbox.deliver_due(runtime, FileTransport(runtime.settings.outbox_dir))
    for path in runtime.settings.outbox_dir.glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == to and "set up your account" in message["Subject"]:
            body = message.get_body(("plain",)).get_content()
            assert "Child N" not in body + message["Subject"]
            return re.search(r"(/invitation/\S+)", body).group(1)  # type: ignore[union-attr]
    raise AssertionError(f"no invitation to {to} in the outbox")


def accept(page: Any, base: str, path: str, email: str, name: str) -> None:
    page.goto(f"{base}{path}")
    assert page.locator("h1").inner_text() == "Set up your account"
    assert axe_violations(page) == []
    page.fill("#email", email)
    page.fill("#name", name)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirm", NEW_PASSWORD)
    with page.expect_navigation():
        page.click("button:has-text('Set up my account')")
    enrol(page)
    page.wait_for_url("**/tasks")


def test_a_new_agencys_contact_and_manager_are_invited_and_return_the_form(
    live_server: str, new_page: Any, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    base = live_server
    case_id = start_case(
        runtime,
        "RR-2026-INV",
        agencies=[],
        child={"name": "Child N", "date_of_birth": "2021-02-03", "sex": "male"},
    )
    drive_until(runtime, virtual_clock, case_id, "share_agency_list")

    # The Local Authority officer names a nursery the partnership has never worked with.
    officer = new_page()
    officer.goto(f"{base}/sign-in")
    officer.fill("#email", "la.officer@demo.example")
    officer.fill("#password", DEMO_PASSWORD)
    with officer.expect_navigation():
        officer.click("button:has-text('Sign in')")
    enrol(officer)
    do(
        officer,
        base,
        "Share the list of agencies involved",
        {
            "agencies": [
                {
                    "id": "",
                    "name": "Little Acorns Nursery",
                    "kind": "early_years",
                    "contact_name": "Nia Jones",
                    "contact_email": "nia.jones@littleacorns.example",
                    "manager_name": "Sam Reid",
                    "manager_email": "sam.reid@littleacorns.example",
                }
            ]
        },
    )

    # The contact accepts the invitation from the e-mail, enrols, and returns the form.
    contact = new_page()
    contact_link = invitation_path(runtime, "nia.jones@littleacorns.example")
    accept(contact, base, contact_link, "nia.jones@littleacorns.example", "Nia Jones")
    assert "Little Acorns Nursery" in contact.locator("main").inner_text()
    do(
        contact,
        base,
        "Complete the Information Sharing Form",
        example_answers("complete_information_sharing_form"),
    )

    # The link is used up: opened again it says so, and how to get a new one, and nothing of the case.
    again = new_page()
    again.goto(f"{base}{contact_link}")
    text = again.locator("main").inner_text()
    assert "This link has already been used" in text and "RR-2026-INV" not in text and "Child N" not in text
    assert axe_violations(again) == []

    # Their manager, invited in the same step, sets up their account and approves the form.
    manager = new_page()
    accept(
        manager,
        base,
        invitation_path(runtime, "sam.reid@littleacorns.example"),
        "sam.reid@littleacorns.example",
        "Sam Reid",
    )
    do(
        manager,
        base,
        "Quality-assure and sign off the form",
        {"decision": "approve", "manager_name": "Sam Reid", "manager_role": "Nursery manager"},
    )
    with transaction(runtime.sessions) as session:
        approved = session.scalars(
            select(HumanTask).where(
                HumanTask.case_id == case_id,
                HumanTask.element_id == "quality_assure_information_sharing_form",
            )
        ).one()
        assert approved.state == "completed" and approved.completed_by == "sam.reid@littleacorns.example"

    # The Partnership Manager's case page: the nursery's people can sign in, and its form is returned.
    pm = new_page()
    pm.goto(f"{base}/sign-in")
    pm.fill("#email", "pm@demo.example")
    pm.fill("#password", DEMO_PASSWORD)
    with pm.expect_navigation():
        pm.click("button:has-text('Sign in')")
    enrol(pm)
    pm.goto(f"{base}/cases/RR-2026-INV")
    agencies = pm.locator("[aria-label='Agencies and their people'] table").inner_text()
    assert "Little Acorns Nursery" in agencies and "Returned" in agencies and "Can sign in" in agencies
    assert axe_violations(pm) == []
    with pm.expect_navigation():
        pm.click("a:has-text('Change the contact')")
    assert pm.locator("h1").inner_text() == "Change Little Acorns Nursery's contact"
    assert axe_violations(pm) == []
