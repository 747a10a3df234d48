"""The process editor keeps unsaved work and offers pickers: leaving the page with unsaved changes asks first,
the changes are kept as a draft in the browser and offered back (restore or discard) when the editor opens
again, and a service task's e-mail template and recipients are picked from the version's own lists, written
as the bundled files write them."""

from __future__ import annotations

from typing import Any

from flask import Flask
from lxml import etree

from tests.browser.conftest import axe_violations
from tests.browser.test_dashboard import signed_in
from tests.browser.test_process_editor import due_of, open_editor, select_element, stored

DRAFTS = "Object.keys(localStorage).filter(k => k.startsWith('rapidreview.editor.draft.'))"


def parameter_of(xml: str, task_id: str, name: str) -> tuple[str, str]:
    root = etree.fromstring(xml.encode())
    found = root.xpath(f"//*[@id='{task_id}']//*[local-name()='parameter'][@id='{name}']")
    assert len(found) == 1, found
    return str(found[0].get("type")), str(found[0].get("value"))


def wait_for_draft(page: Any) -> None:
    """Until the editor has kept its draft (a moment after the edit). Polled from here: the page's
    Content-Security-Policy refuses the evaluated predicates of Playwright's wait_for_function."""
    for _ in range(50):
        if page.evaluate(DRAFTS):
            return
        page.wait_for_timeout(100)
    raise AssertionError("no draft was kept")


def choose(page: Any, element_id: str) -> None:
    """Selects an element as a click would, for elements the palette may cover at this viewport."""
    page.evaluate(
        """id => { const m = window.rapidReviewEditor.modeler
                   m.get('selection').select(m.get('elementRegistry').get(id)) }""",
        element_id,
    )


def edit_due_to_day_6(page: Any) -> None:
    select_element(page, "complete_information_sharing_form")
    page.fill("#rr-due-day", "6")
    page.click("#rr-due-apply")
    assert page.locator("#bio-properties-panel-rr-due").input_value() == 'day(6, "17:00")'


def test_unsaved_changes_are_guarded_kept_in_the_browser_and_restored_after_a_reload(
    app: Flask, live_server: str, new_page: Any
) -> None:
    app.config["PROCESS_LINT"] = False
    page = signed_in(new_page, live_server, "owner@demo.example")
    open_editor(page, live_server, "information_sharing.bpmn")
    assert page.locator("#editor-draft").is_hidden()
    assert page.evaluate("window.rapidReviewEditor.hasUnsavedChanges()") is False
    edit_due_to_day_6(page)
    assert page.evaluate("window.rapidReviewEditor.hasUnsavedChanges()") is True
    wait_for_draft(page)
    assert page.evaluate(DRAFTS) == ["rapidreview.editor.draft.1.rapid_review.bpmn"]

    # Leaving the page asks first (the browser's own "Leave site?" dialog).
    dialogs: list[str] = []

    def leave(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.accept()

    page.on("dialog", leave)
    page.reload()
    page.wait_for_selector("#process-editor[data-ready='true']")
    assert dialogs == ["beforeunload"]

    # The draft is offered in a notification banner, which takes the focus.
    banner = page.locator("#editor-draft")
    banner.wait_for()
    assert banner.get_attribute("role") == "region"
    assert page.locator("#editor-draft-title").inner_text() == "Unsaved changes"
    assert "information_sharing.bpmn" in banner.inner_text()
    assert page.evaluate("document.activeElement.id") == "editor-draft"
    assert axe_violations(page) == []

    page.click("#editor-draft-restore")
    page.wait_for_selector("#process-editor[data-restored='true']")
    assert banner.is_hidden()
    assert "Restored your unsaved changes in information_sharing.bpmn" in page.locator("#editor-status").inner_text()
    page.select_option("#editor-file", "information_sharing.bpmn")
    page.wait_for_selector("#process-editor[data-file='information_sharing.bpmn']")
    select_element(page, "complete_information_sharing_form")
    assert page.locator("#bio-properties-panel-rr-due").input_value() == 'day(6, "17:00")'

    # Saving stores the restored change and forgets the draft; nothing is left to guard.
    page.click("#editor-save")
    page.wait_for_selector("#process-editor[data-saved='2']", timeout=60000)
    assert due_of(stored(app)[0][2], "complete_information_sharing_form") == 'day(6, "17:00")'
    assert page.evaluate(DRAFTS) == []
    assert page.evaluate("window.rapidReviewEditor.hasUnsavedChanges()") is False
    page.reload()
    page.wait_for_selector("#process-editor[data-ready='true']")
    assert dialogs == ["beforeunload"]
    assert banner.is_hidden()


def test_a_draft_can_be_discarded(app: Flask, live_server: str, new_page: Any) -> None:
    page = signed_in(new_page, live_server, "owner@demo.example")
    open_editor(page, live_server, "information_sharing.bpmn")
    edit_due_to_day_6(page)
    wait_for_draft(page)
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    page.locator("#editor-draft").wait_for()
    page.click("#editor-draft-discard")
    assert page.locator("#editor-draft").is_hidden()
    assert page.evaluate(DRAFTS) == []
    assert page.evaluate("window.rapidReviewEditor.hasUnsavedChanges()") is False
    assert "Discarded" in page.locator("#editor-status").inner_text()


def test_a_template_and_recipients_are_picked_and_saved_as_the_bundled_files_write_them(
    app: Flask, live_server: str, new_page: Any
) -> None:
    app.config["PROCESS_LINT"] = False
    page = signed_in(new_page, live_server, "owner@demo.example")
    open_editor(page, live_server, "information_sharing.bpmn")

    # A value the pickers do not know stays an expression in a text box.
    choose(page, "send_information_sharing_request")
    assert page.locator("#bio-properties-panel-rr-param-to-expression").input_value() == "[agency['contact_email']]"
    assert page.locator("#bio-properties-panel-rr-param-template").input_value() == "information_sharing_request"

    choose(page, "escalate_information_sharing")
    template = page.locator("#bio-properties-panel-rr-param-template")
    assert template.input_value() == "information_sharing_escalation"
    options = template.locator("option").all_inner_texts()
    assert "information_sharing_reminder" in options and "Other (expression)" in options
    assert not any(o.startswith("_") for o in options)
    assert page.locator("#rr-param-to-chair").is_checked()
    assert page.locator("#rr-param-to-partnership_manager").is_checked()
    assert not page.locator("#rr-param-to-la_lead").is_checked()
    assert axe_violations(page) == []

    template.select_option("information_sharing_reminder")
    page.check("#rr-param-cc-la_lead")
    page.uncheck("#rr-param-to-chair")
    # "Other (expression)" shows the text box with the value as written.
    template.select_option("__other__")
    expression = page.locator("#bio-properties-panel-rr-param-template-expression")
    assert expression.input_value() == "'information_sharing_reminder'"
    assert axe_violations(page) == []

    page.click("#editor-save")
    page.wait_for_selector("#process-editor[data-saved='2']", timeout=60000)
    xml = stored(app)[0][2]
    assert parameter_of(xml, "escalate_information_sharing", "template") == ("str", "'information_sharing_reminder'")
    assert parameter_of(xml, "escalate_information_sharing", "to") == ("list", "['partnership_manager']")
    assert parameter_of(xml, "escalate_information_sharing", "cc") == ("list", "['la_lead']")


def test_a_document_kind_is_picked(app: Flask, live_server: str, new_page: Any) -> None:
    page = signed_in(new_page, live_server, "owner@demo.example")
    open_editor(page, live_server, "rapid_review.bpmn")
    task = page.evaluate(
        """() => window.rapidReviewEditor.modeler.get('elementRegistry').filter(e =>
            e.type === 'bpmn:ServiceTask' && JSON.stringify(e.businessObject.extensionElements?.values?.[0]?.id)
            === '"create_document"').map(e => e.id)[0]"""
    )
    assert task
    choose(page, task)
    kind = page.locator("#bio-properties-panel-rr-param-kind")
    assert kind.input_value() in {"draft_report", "final_draft_report", "final_report", "signed_report",
                                  "decision_record"}
    assert "Decision record" in kind.locator("option").all_inner_texts()


def kept_draft(page: Any) -> str:
    """The draft kept for version 1, quotes unescaped."""
    text = page.evaluate("localStorage.getItem('rapidreview.editor.draft.1.rapid_review.bpmn')") or ""
    return str(text).replace("&#34;", '"').replace("&quot;", '"')


def test_edits_made_while_a_draft_is_offered_do_not_overwrite_it_until_the_owner_decides(
    app: Flask, live_server: str, new_page: Any
) -> None:
    page = signed_in(new_page, live_server, "owner@demo.example")
    open_editor(page, live_server, "information_sharing.bpmn")
    edit_due_to_day_6(page)
    wait_for_draft(page)
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    page.locator("#editor-draft").wait_for()
    kept = kept_draft(page)
    assert 'day(6, "17:00")' in kept

    page.select_option("#editor-file", "information_sharing.bpmn")
    page.wait_for_selector("#process-editor[data-file='information_sharing.bpmn']")
    select_element(page, "complete_information_sharing_form")
    page.fill("#rr-due-day", "5")
    page.click("#rr-due-apply")
    page.wait_for_timeout(1200)  # longer than the editor waits before keeping a draft
    assert kept_draft(page) == kept

    # Discarding the offered draft keeps the edit made since as the new draft.
    page.click("#editor-draft-discard")
    for _ in range(50):
        if 'day(5, "17:00")' in kept_draft(page):
            break
        page.wait_for_timeout(100)
    assert 'day(5, "17:00")' in kept_draft(page)
    assert page.evaluate("window.rapidReviewEditor.hasUnsavedChanges()") is True
