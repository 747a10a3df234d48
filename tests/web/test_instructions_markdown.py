"""Instructions in Markdown on the task page, and the process editor's preview of them, which uses the
same renderer on the version's sample case."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import process_versions as versions
from rapidreview.store.db import transaction
from tests.factories import complete, drive_until, ready_tasks, start_case
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.test_tasks import criteria_task

PANEL = "take part in the statutory partners' virtual panel"


def deploy_markdown_instructions(runtime: Runtime) -> None:
    """The active version again, with the partners' criteria view asking in bold and listing the criteria."""
    with transaction(runtime.sessions) as session:
        active = versions.active_version(session)
        assert active is not None
        files = versions.version_files(active)
    bpmn = files["bpmn/rapid_review.bpmn"].decode()
    assert PANEL in bpmn
    bpmn = bpmn.replace(PANEL, f"**{PANEL}**", 1).replace(
        "will be consulted.</spiffworkflow:instructionsForEndUser>",
        "will be consulted.\n\nThe criteria:\n\n- a child has *died* or been seriously harmed\n"
        "- abuse or neglect is known or suspected</spiffworkflow:instructionsForEndUser>",
        1,
    )
    files["bpmn/rapid_review.bpmn"] = bpmn.encode()
    versions.deploy_files(runtime, files, deployed_by="owner", note="Markdown instructions", lint=False)


def test_the_task_page_shows_the_instructions_markdown(app: Flask, runtime: Runtime) -> None:
    deploy_markdown_instructions(runtime)
    task = criteria_task(runtime)
    html = sign_in(app, "la.lead@demo.example").get(f"/tasks/{task.id}").get_data(as_text=True)
    assert (
        '<p class="govuk-body">Case RR-T-9: a Serious Incident Notification has been received. As the LA lead, '
        f"<strong>{PANEL.replace(chr(39), '&#39;')}</strong>"
    ) in html
    assert (
        '<p class="govuk-body">The criteria:</p><ul class="govuk-list govuk-list--bullet">'
        "<li>a child has <em>died</em> or been seriously harmed</li>"
        "<li>abuse or neglect is known or suspected</li></ul>"
    ) in html


def preview(client: FlaskClient, text: str, number: int = 1):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/process/edit").get_data(as_text=True))
    return client.post(
        f"/process/versions/{number}/edit/instructions-preview", json={"text": text}, headers={"X-CSRFToken": token}
    )


def test_the_preview_renders_instructions_on_the_sample_case(app: Flask) -> None:
    owner = sign_in(app, "owner@demo.example")
    response = preview(
        owner,
        "Case **{{ case_reference }}** for {{ notification.child.name }} <b>x</b>, "
        "due by {{ due.complete_information_sharing_form.at }}\n\n- one\n- [two](javascript:alert(1))",
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "html": '<p class="govuk-body">Case <strong>RR-SAMPLE-1</strong> for Child S &lt;b&gt;x&lt;/b&gt;, '
        "due by 5pm on Tuesday 2 June 2026 (Day 7)</p>"
        '<ul class="govuk-list govuk-list--bullet"><li>one</li><li>[two](javascript:alert(1))</li></ul>'
    }


def test_only_process_owners_may_preview_and_only_with_the_csrf_token(app: Flask) -> None:
    lead = sign_in(app, "la.lead@demo.example")
    token = csrf_of(lead.get("/tasks").get_data(as_text=True))
    refused = lead.post(
        "/process/versions/1/edit/instructions-preview", json={"text": "x"}, headers={"X-CSRFToken": token}
    )
    assert refused.status_code == 403
    owner = sign_in(app, "owner@demo.example")
    assert owner.post("/process/versions/1/edit/instructions-preview", json={"text": "x"}).status_code == 400
    assert preview(owner, "x", number=99).status_code == 404


def test_a_value_filled_into_the_instructions_is_shown_as_written(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id = start_case(runtime, "RR-MD-1")
    practitioner = drive_until(runtime, virtual_clock, case_id, "complete_information_sharing_form")
    complete(runtime, practitioner, {"known_to_agency": "yes", "summary_of_contact": "Seen at school daily."},
             actor="school.practitioner@demo.example")
    manager = drive_until(runtime, virtual_clock, case_id, "quality_assure_information_sharing_form")
    comments = "**Add** the dates <script>alert(1)</script>\n\n- [see](javascript:alert(1))"
    complete(runtime, manager, {"decision": "return", "comments": comments}, actor="school.manager@demo.example")
    [again] = [t for t in ready_tasks(runtime, case_id) if t.element_id == "complete_information_sharing_form"]
    client = sign_in(app, "school.practitioner@demo.example")
    post(client, f"/tasks/{again.id}/claim")
    html = client.get(f"/tasks/{again.id}").get_data(as_text=True)
    assert (
        '<p class="govuk-body">Your manager returned the form with these comments: **Add** the dates '
        "&lt;script&gt;alert(1)&lt;/script&gt;\n\n- [see](javascript:alert(1)). Complete the"
    ) in html
    assert "<script>alert" not in html and 'href="javascript' not in html
