"""The worklist and task pages: claim, draft, submit, reassign."""

from __future__ import annotations

from flask import Flask

from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.store.db import transaction
from rapidreview.store.models import HumanTask
from tests.web.conftest import START, post, sign_in


def criteria_task(runtime: Runtime, partner: str = "LA") -> HumanTask:
    case_id = cases.start_case(runtime, cases.Notification(
        reference="RR-T-9", notified_at=START, child={"name": "Child T"}, incident={"date": "2026-05-20", "summary": "x"}),
        actor="test")
    with transaction(runtime.sessions) as session:
        return next(t for t in cases.ready_tasks(session, case_id) if t.partner == partner)


def test_a_lead_sees_and_claims_their_own_partners_view(app: Flask, runtime: Runtime) -> None:
    task = criteria_task(runtime)
    la, police = sign_in(app, "la.lead@demo.example"), sign_in(app, "police.lead@demo.example")
    assert f"/tasks/{task.id}" in la.get("/tasks").get_data(as_text=True)
    assert f"/tasks/{task.id}" not in police.get("/tasks").get_data(as_text=True)
    assert police.get(f"/tasks/{task.id}").status_code == 404
    response = post(la, f"/tasks/{task.id}/claim")
    assert response.headers["Location"].endswith(f"/tasks/{task.id}")
    # People are named, not shown as addresses.
    assert "Claimed by Lee Authority, Local Authority lead" in la.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_the_second_of_two_claims_is_told_who_has_the_task(app: Flask, runtime: Runtime) -> None:
    case_id = cases.start_case(runtime, cases.Notification(
        reference="RR-T-10", notified_at=START, child={"name": "C"}, incident={"date": "2026-05-20", "summary": "x"}),
        actor="test")
    with transaction(runtime.sessions) as session:
        tasks = cases.ready_tasks(session, case_id)
    for task in tasks:  # the three views, so the next task is one any lead may claim
        cases.complete_task(runtime, task.id, {"criteria_met": "yes", "rationale": "r", "immediate_action_needed": "no"},
                            actor="test")
    with transaction(runtime.sessions) as session:
        [commission] = cases.ready_tasks(session, case_id)
    first, second = sign_in(app, "la.lead@demo.example"), sign_in(app, "icb.lead@demo.example")
    post(first, f"/tasks/{commission.id}/claim")
    post(second, f"/tasks/{commission.id}/claim")
    assert "already been claimed by la.lead@demo.example" in second.get("/tasks").get_data(as_text=True)
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, commission.id).assignee == "la.lead@demo.example"  # type: ignore[union-attr]


def test_wrong_answers_are_shown_with_an_error_summary_and_kept(app: Flask, runtime: Runtime) -> None:
    task = criteria_task(runtime)
    la = sign_in(app, "la.lead@demo.example")
    post(la, f"/tasks/{task.id}/claim")
    response = post(la, f"/tasks/{task.id}", {"action": "submit", "rationale": "My rationale <b>kept</b>"},
                    page=f"/tasks/{task.id}")
    # Post, redirect, get: Back and Refresh never ask to send the form again.
    assert response.status_code == 303 and response.location.startswith(f"/tasks/{task.id}")
    html = la.get(response.location).get_data(as_text=True)
    assert "govuk-error-summary" in html and 'href="#criteria_met' in html and "<title>Error: " in html
    assert "My rationale &lt;b&gt;kept&lt;/b&gt;" in html
    assert "Case RR-T-9: a Serious Incident Notification has been received. As the LA lead" in html  # instructions
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, task.id).state == "ready"  # type: ignore[union-attr]
    # The errors were for that one page: shown again (refreshed), the answers stay and the errors have gone.
    again = la.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "My rationale &lt;b&gt;kept&lt;/b&gt;" in again and "govuk-error-summary" not in again


def test_a_draft_is_saved_and_shown_again(app: Flask, runtime: Runtime) -> None:
    task = criteria_task(runtime)
    la = sign_in(app, "la.lead@demo.example")
    post(la, f"/tasks/{task.id}/claim")
    post(la, f"/tasks/{task.id}", {"action": "save", "rationale": "Half written"}, page=f"/tasks/{task.id}")
    assert "Half written" in la.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_only_the_claimant_can_submit(app: Flask, runtime: Runtime) -> None:
    task = criteria_task(runtime)
    la = sign_in(app, "la.lead@demo.example")
    response = post(la, f"/tasks/{task.id}", {"action": "submit", "criteria_met": "yes", "rationale": "r",
                                               "immediate_action_needed": "no"}, page=f"/tasks/{task.id}")
    assert response.status_code == 302
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, task.id).state == "ready"  # type: ignore[union-attr]


def test_the_partnership_manager_reassigns_to_someone_who_may_do_it(app: Flask, runtime: Runtime) -> None:
    task = criteria_task(runtime, "MPS")
    pm = sign_in(app, "pm@demo.example")
    page = pm.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "police.lead@demo.example" in page and "la.lead@demo.example" not in page
    post(pm, f"/tasks/{task.id}/reassign", {"assignee": "la.lead@demo.example"})
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, task.id).assignee is None  # type: ignore[union-attr]
    post(pm, f"/tasks/{task.id}/reassign", {"assignee": "police.lead@demo.example"})
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, task.id).assignee == "police.lead@demo.example"  # type: ignore[union-attr]


def test_a_case_is_started_from_the_notification_form(app: Flask, runtime: Runtime) -> None:
    pm = sign_in(app, "pm@demo.example")
    data = {"reference": "RR-2026-777", "notified_on-day": "22", "notified_on-month": "5", "notified_on-year": "2026",
            "notified_time": "09:30", "child_name": "Child Q", "incident_date-day": "20", "incident_date-month": "5",
            "incident_date-year": "2026", "incident_summary": "Injury"}
    response = post(pm, "/cases/new", data, page="/cases/new")
    assert response.status_code == 302 and response.headers["Location"].endswith("/cases/RR-2026-777")
    page = pm.get("/cases/RR-2026-777").get_data(as_text=True)
    assert "Day <strong>1</strong> of 15" in page and "Friday 12 June 2026" in page
    again = post(pm, "/cases/new", data, page="/cases/new")
    assert again.status_code == 400 and "already exists" in again.get_data(as_text=True)


def test_the_appointed_chair_gets_the_chair_tasks_whatever_their_role(app: Flask, runtime: Runtime) -> None:
    from rapidreview.services.casework.tasks import starting_answers

    case_id = cases.start_case(runtime, cases.Notification(
        reference="RR-T-11", notified_at=START, child={"name": "C"}, incident={"date": "2026-05-20", "summary": "x"},
        agencies=[{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
                   "manager_email": "head@oak.example"}]), actor="test")
    for _ in range(12):  # until the draft report is waiting for the chair
        with transaction(runtime.sessions) as session:
            ready = cases.ready_tasks(session, case_id)
        chair_task = next((t for t in ready if t.element_id == "prepare_draft_report"), None)
        if chair_task:
            break
        task = ready[0]
        answers = starting_answers(runtime, task.id, with_examples=True)
        if task.element_id == "commission_rapid_review":
            answers.update(chair_type="senior_leader", chair_email="police.lead@demo.example", chair_name="Morgan Police",
                           no_involvement_declared=True)
        cases.complete_task(runtime, task.id, answers, actor="test")
    assert chair_task is not None
    appointed, standing = sign_in(app, "police.lead@demo.example"), sign_in(app, "chair@demo.example")
    assert f"/tasks/{chair_task.id}" in appointed.get("/tasks").get_data(as_text=True)
    assert f"/tasks/{chair_task.id}" not in standing.get("/tasks").get_data(as_text=True)
    assert standing.get(f"/tasks/{chair_task.id}").status_code == 404


def claim_buttons(html: str) -> int:
    """Tasks offered to claim: each is a table row (wide screens) and a summary card (phones), one shown."""
    table, cards = html.count("app-table-actions\">"), html.count('class="govuk-summary-card"')
    assert html.count("Claim<span") == table + cards and table == cards
    return table


def test_the_available_list_is_paged_due_soonest_first(app: Flask, runtime: Runtime,
                                                        monkeypatch: object) -> None:
    from rapidreview.services.casework import worklist

    monkeypatch.setattr(worklist, "AVAILABLE_LIMIT", 2)  # type: ignore[attr-defined]
    for n in range(3):
        cases.start_case(runtime, cases.Notification(reference=f"RR-L-{n}", notified_at=START, child={"name": "C"},
                                                     incident={"date": "2026-05-20", "summary": "x"}), actor="test")
    lead = sign_in(app, "la.lead@demo.example")
    page = lead.get("/tasks").get_data(as_text=True)
    assert claim_buttons(page) == 2
    assert "listed 2 to a page, due soonest first. This is page 1." in page
    assert 'href="/tasks?page=2"' in page and "Tasks due later" in page and "Tasks due sooner" not in page
    second = lead.get("/tasks?page=2").get_data(as_text=True)
    assert claim_buttons(second) == 1 and "RR-L-2" in second  # the latest due is last
    assert 'href="/tasks?page=1"' in second and "Tasks due later" not in second
    beyond = lead.get("/tasks?page=7").get_data(as_text=True)
    assert "There are no more available tasks" in beyond and "Claim<span" not in beyond
    for odd in ("/tasks?page=0", "/tasks?page=abc"):  # anything else is the first page
        assert claim_buttons(lead.get(odd).get_data(as_text=True)) == 2, odd


def test_release_is_a_secondary_action_away_from_submit(app: Flask, runtime: Runtime) -> None:
    task = criteria_task(runtime)
    la = sign_in(app, "la.lead@demo.example")
    post(la, f"/tasks/{task.id}/claim")
    page = la.get(f"/tasks/{task.id}").get_data(as_text=True)
    submit_form = page.split(f'action="/tasks/{task.id}"', 1)[1].split("</form>", 1)[0]
    assert "Release" not in submit_form  # not beside Submit
    release = page.split('id="release"', 1)[1].split("</div>", 1)[0]
    assert "govuk-button--secondary" in release and "govuk-button--warning" not in release
    assert page.index('id="release"') > page.index('value="submit"')
