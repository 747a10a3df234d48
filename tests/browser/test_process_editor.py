"""The process editor in Chromium: a process owner changes the information-sharing due time from Day 7 to
Day 6 with the working-day helper, sees the date it gives, saves, gets a checked candidate, tries it on a
scenario beside the active version and makes it active: a new case is due on Day 6 while a running case
keeps Day 7. A broken
edit (an unknown operator) is refused with the problem shown on its element, and nothing is stored."""

from __future__ import annotations

from typing import Any

from flask import Flask
from lxml import etree

from rapidreview.config import PROJECT_ROOT
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.definitions import process_versions as versions
from rapidreview.store.db import transaction
from rapidreview.store.models import Case
from tests.browser.conftest import axe_violations
from tests.browser.test_dashboard import signed_in
from tests.conftest import START

CALLED = PROJECT_ROOT / "bpmn" / "information_sharing.bpmn"


QUICK_SCENARIOS = PROJECT_ROOT / "tests" / "fixtures" / "quick_scenarios"  # one short scenario


def stored(app: Flask) -> list[tuple[int, bool, str]]:
    with transaction(app.extensions["rapidreview"].sessions) as session:
        return [
            (v.number, v.active, versions.version_files(v)["bpmn/information_sharing.bpmn"].decode())
            for v in versions.list_versions(session)
        ]


def due_of(xml: str, task_id: str) -> str:
    root = etree.fromstring(xml.encode())
    values = root.xpath(f"//*[@id='{task_id}']//*[local-name()='taskMetadataValue'][@name='due']/@value")
    assert len(values) == 1, values
    return str(values[0])


def start_case_at_agencies(runtime: Runtime, reference: str) -> int:
    """A case on the active version, taken through its first steps until the agencies have their forms."""
    notification = cases.Notification(
        reference=reference,
        notified_at=START,
        child={"name": "Child E"},
        incident={"date": "2026-05-20", "summary": "x"},
        agencies=[
            {
                "id": "school",
                "name": "Oak Primary School",
                "contact_email": "dsl@oak.example",
                "manager_email": "head@oak.example",
            }
        ],
    )
    case_id = cases.start_case(runtime, notification, actor="test")
    for _ in range(10):
        with transaction(runtime.sessions) as session:
            ready = cases.ready_tasks(session, case_id)
        if any(t.agency_id for t in ready):
            return case_id
        cases.complete_task(
            runtime, ready[0].id, starting_answers(runtime, ready[0].id, with_examples=True), actor="test"
        )
    raise AssertionError("the agencies' tasks never became ready")


def practitioner_due_days(runtime: Runtime, case_id: int) -> set[int]:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return {
            runtime.calendar.case_day(case.day_one, t.due_at)
            for t in cases.ready_tasks(session, case_id)
            if t.element_id == "complete_information_sharing_form" and t.due_at is not None
        }


def open_editor(page: Any, base: str, file: str) -> None:
    page.goto(f"{base}/process")
    page.click("a:has-text('Edit the process')")
    page.wait_for_selector("#process-editor[data-ready='true']")
    page.select_option("#editor-file", file)
    page.wait_for_selector(f"#process-editor[data-file='{file}']")


def select_element(page: Any, element_id: str) -> None:
    page.click(f".djs-element[data-element-id='{element_id}'] .djs-hit")


def test_an_owner_moves_the_information_sharing_due_time_to_day_6_tries_it_and_makes_it_active(
    app: Flask, runtime: Runtime, live_server: str, new_page: Any
) -> None:
    app.config["PROCESS_LINT"] = True
    page = signed_in(new_page, live_server, "owner@demo.example")
    open_editor(page, live_server, "information_sharing.bpmn")
    assert axe_violations(page) == []

    select_element(page, "complete_information_sharing_form")
    due = page.locator("#bio-properties-panel-rr-due")
    assert due.input_value() == 'day(7, "17:00")'
    assert (
        page.locator("#bio-properties-panel-rr-form").input_value()
        == "complete_information_sharing_form.schema.json"
    )
    page.wait_for_selector("[data-preview='due']:has-text('Day 7')")
    page.fill("#rr-due-day", "6")
    page.click("#rr-due-apply")
    assert due.input_value() == 'day(6, "17:00")'
    preview = page.locator("[data-preview='due']")
    page.wait_for_selector("[data-preview='due']:has-text('Day 6')")
    assert "Monday 1 June 2026 at 17:00, Day 6" in preview.inner_text()

    page.fill("#editor-note", "Information sharing due on Day 6")
    page.click("#editor-save")
    page.wait_for_selector("#process-editor[data-saved='2']", timeout=60000)
    assert (
        "version 2 passes every check and is stored as a candidate"
        in page.locator("#editor-status").inner_text()
    )
    rows = stored(app)
    assert [(n, active) for n, active, _ in rows] == [(2, False), (1, True)]
    assert due_of(rows[1][2], "complete_information_sharing_form") == 'day(7, "17:00")'
    assert due_of(rows[0][2], "complete_information_sharing_form") == 'day(6, "17:00")'
    # Only the task that was changed moved: its manager's check keeps Day 7.
    assert due_of(rows[0][2], "quality_assure_information_sharing_form") == 'day(7, "17:00")'

    # A case running before the change keeps Day 7; the candidate is tried beside the active version,
    # made active, and a new case's practitioner is due on Day 6.
    running = start_case_at_agencies(runtime, "RR-E-1")
    page.click("#editor-status a")
    page.wait_for_url("**/process/versions/2")
    page.select_option("#scenario", "agency_late_and_missing")
    page.click("button:has-text('Run the scenario')")
    page.wait_for_selector("text=Active version 1", timeout=120000)
    assert page.locator("text=Status:").count() == 2
    # Going live needs every scenario tried and passed (here the one quick scenario), then a confirmation.
    app.config["PROCESS_SCENARIOS"] = str(QUICK_SCENARIOS)
    page.click("button:has-text('Try every scenario')")
    page.wait_for_url("**/process/versions/2*", timeout=120000)
    page.click("a:has-text('Make version 2 active')")
    page.click("button:has-text('Yes, make version 2 active')")
    page.wait_for_url("**/process")
    assert [(n, active) for n, active, _ in stored(app)] == [(2, True), (1, False)]
    new = start_case_at_agencies(runtime, "RR-E-2")
    assert practitioner_due_days(runtime, running) == {7}
    assert practitioner_due_days(runtime, new) == {6}


def test_an_unknown_operator_is_refused_and_shown_on_its_element(
    app: Flask, live_server: str, new_page: Any
) -> None:
    app.config["PROCESS_LINT"] = False
    page = signed_in(new_page, live_server, "owner@demo.example")
    open_editor(page, live_server, "information_sharing.bpmn")
    broken = CALLED.read_text().replace(
        'serviceTaskOperator id="send_email"', 'serviceTaskOperator id="send_mail"', 1
    )
    page.set_input_files(
        "#editor-open",
        files=[
            {"name": "information_sharing.bpmn", "mimeType": "application/xml", "buffer": broken.encode()}
        ],
    )
    page.wait_for_selector("#editor-status:has-text('Opened information_sharing.bpmn')")
    page.click("#editor-save")
    overlay = page.locator(".app-problem-overlay")
    overlay.first.wait_for(timeout=60000)
    assert "unknown service operator 'send_mail'" in overlay.first.inner_text()
    element_id = overlay.first.get_attribute("data-problem-for")
    assert page.locator(f".djs-element.app-problem[data-element-id='{element_id}']").count() == 1
    summary = page.locator("#editor-problems")
    assert summary.is_visible() and "unknown service operator 'send_mail'" in summary.inner_text()
    assert "Nothing was stored" in page.locator("#editor-status").inner_text()
    assert [(n, active) for n, active, _ in stored(app)] == [(1, True)]

    # The problem in the summary leads to its element; the operator list says the name is unknown, and
    # choosing a real one makes the version valid.
    summary.locator("a").first.click()
    operator = page.locator("#bio-properties-panel-rr-operator")
    assert operator.input_value() == "send_mail"
    assert "send_mail (unknown)" in operator.inner_text()
    operator.select_option("send_email")
    page.click("#editor-save")
    page.wait_for_selector("#process-editor[data-saved='2']", timeout=60000)
    assert [(n, active) for n, active, _ in stored(app)] == [(2, False), (1, True)]


def test_the_instructions_preview_is_the_task_pages_rendering_on_the_sample_case(
    app: Flask, live_server: str, new_page: Any
) -> None:
    page = signed_in(new_page, live_server, "owner@demo.example")
    open_editor(page, live_server, "information_sharing.bpmn")
    select_element(page, "complete_information_sharing_form")
    preview = page.locator("[data-preview='instructions']")
    page.wait_for_selector("[data-preview='instructions']:has-text('in case RR-SAMPLE-1')")
    assert preview.get_attribute("aria-live") == "polite"
    assert "{{" not in preview.inner_text()

    page.fill(
        "#bio-properties-panel-rr-instructions",
        "Case **{{ case_reference }}** <b>x</b>\n\n- *first*\n- [second](javascript:alert(1))",
    )
    page.wait_for_selector("[data-preview='instructions'] strong:has-text('RR-SAMPLE-1')")
    assert preview.locator("p.govuk-body").inner_text() == "Case RR-SAMPLE-1 <b>x</b>"
    assert preview.locator("ul.govuk-list--bullet li").all_inner_texts() == [
        "first",
        "[second](javascript:alert(1))",
    ]
    assert preview.locator("ul em").inner_text() == "first"
    assert preview.locator("a, b, script").count() == 0
    # The panel, a task's properties open and being typed in, meets WCAG 2.2 AA (its pop-up buttons' size too).
    assert axe_violations(page) == []


def test_the_form_editor_previews_the_form_as_it_is_typed(
    app: Flask, live_server: str, new_page: Any
) -> None:
    app.config["PROCESS_LINT"] = False
    page = signed_in(new_page, live_server, "owner@demo.example")
    page.goto(f"{live_server}/process/versions/1")
    page.click("a:has-text('edit complete_information_sharing_form.schema.json')")
    page.wait_for_selector("[data-example='fits']")
    assert axe_violations(page) == []
    schema = page.locator("#schema")
    text = schema.input_value()
    schema.fill(text.replace('"title": "', '"title": "Our ', 1))
    page.wait_for_selector("#preview-title:has-text('Our ')")
    schema.fill(text.replace('"examples"', '"broken"', 1))
    page.wait_for_selector("#form-preview:has-text('no example answer')")
    schema.fill(text.replace('"title": "', '"title": "Our ', 1))
    page.click("button:has-text('Save as a candidate')")
    page.wait_for_url("**/process/versions/2")
    assert "has the form complete_information_sharing_form.schema.json" in page.content()


def test_two_versions_are_compared_on_their_diagrams(
    app: Flask, runtime: Runtime, live_server: str, new_page: Any
) -> None:
    with transaction(runtime.sessions) as session:
        files = versions.version_files(versions.get_version(session, 1))
    day_6 = files["bpmn/information_sharing.bpmn"].replace(
        b"day(7, &quot;17:00&quot;)", b"day(6, &quot;17:00&quot;)", 1
    )
    versions.store_version(
        runtime, {**files, "bpmn/information_sharing.bpmn": day_6}, deployed_by="test", activate=False
    )
    page = signed_in(new_page, live_server, "owner@demo.example")
    page.goto(f"{live_server}/process")
    page.click("a:has-text('Compare two versions')")
    page.wait_for_selector("#compare[data-rendered='true']")
    section = page.locator("section[data-file='information_sharing.bpmn']")
    changes = section.locator("[data-change]").all_inner_texts()
    assert any(c.startswith("Changed: Complete the Information Sharing Form") for c in changes), changes
    assert (
        section.locator(
            ".djs-element.app-diff-changed[data-element-id='complete_information_sharing_form']"
        ).count()
        == 2
    )
    rapid_review = page.locator("section[data-file='rapid_review.bpmn'] [data-change]").all_inner_texts()
    assert rapid_review == ["No change to the process (layout only, or none): rapid_review.bpmn"]
    assert page.locator("#form-changes").inner_text() == "The forms are the same."
    assert axe_violations(page) == []
