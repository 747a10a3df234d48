"""No form opens with a decision already made: every task of a whole case, and tasks that come back."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from rapidreview import clock
from rapidreview.forms import decision_fields
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases, worklist
from rapidreview.services.casework.forms import form_schema
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, HumanTask
from tests.factories import complete, ready_tasks, start_case
from tests.web.conftest import post, sign_in


def _decisions(runtime: Runtime, task: HumanTask) -> set[str]:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, task.case_id)
        assert case is not None and task.form
        return decision_fields(form_schema(session, case.process_version_id, task.form)[0])


def _checked(html: str, field: str) -> list[str]:
    """Inputs named ``field`` that are checked (radios, checkboxes)."""
    return [m.group(0) for m in re.finditer(r"<input[^>]*>", html)
            if f'name="{field}"' in m.group(0) and re.search(r"\bchecked\b", m.group(0))]


def _open(app: Flask, runtime: Runtime, clients: dict[str, FlaskClient], task: HumanTask) -> str:
    [person, *_] = worklist.eligible_users(runtime, task.id, task.partnership_id)
    client = clients.setdefault(person.email, sign_in(app, person.email))
    post(client, f"/tasks/{task.id}/claim")
    return client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_every_task_of_a_whole_case_opens_with_its_decisions_unmade(app: Flask, runtime: Runtime,
                                                                    virtual_clock: clock.VirtualClock) -> None:
    from datetime import timedelta

    # The case takes weeks on the virtual clock: people stay signed in for the whole walk.
    app.config["IDLE_TIMEOUT"] = app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(days=60)
    case_id = start_case(runtime, "RR-D-1")
    clients: dict[str, FlaskClient] = {}
    seen: set[str] = set()
    for _ in range(200):
        ready = ready_tasks(runtime, case_id)
        if not ready:
            with transaction(runtime.sessions) as session:
                case = session.get(Case, case_id)
                assert case is not None
                due, status = case.wake_at, case.status
            if status != cases.OPEN or due is None:
                break
            virtual_clock.set(max(due, virtual_clock.now()))
            cases.advance_case(runtime, case_id)
            continue
        task = ready[0]
        html = _open(app, runtime, clients, task)
        for field in _decisions(runtime, task):
            assert _checked(html, field) == [], f"{task.element_id}: {field} is already chosen"
        seen.add(task.element_id)
        [person, *_] = worklist.eligible_users(runtime, task.id, task.partnership_id)
        complete(runtime, task, actor=person.email)
    assert {"record_criteria_view", "commission_rapid_review", "quality_assure_information_sharing_form",
            "complete_information_sharing_form", "record_meeting_outcomes", "sign_off_final_report",
            "submit_to_national_panel"} <= seen


def test_a_form_that_comes_back_keeps_the_answers_shows_the_last_round_and_asks_the_decision_again(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    from tests.factories import drive_until

    case_id = start_case(runtime, "RR-D-2")
    practitioner = drive_until(runtime, virtual_clock, case_id, "complete_information_sharing_form")
    complete(runtime, practitioner, {"known_to_agency": "yes", "summary_of_contact": "Seen at school daily."},
             actor="school.practitioner@demo.example")
    manager = drive_until(runtime, virtual_clock, case_id, "quality_assure_information_sharing_form")
    complete(runtime, manager, {"decision": "return", "comments": "Add the dates of contact."},
             actor="school.manager@demo.example")
    [again] = [t for t in ready_tasks(runtime, case_id) if t.element_id == "complete_information_sharing_form"]
    html = _open(app, runtime, {}, again)
    assert _checked(html, "known_to_agency") == []
    assert "What was sent last time" in html and "Seen at school daily." in html
    assert "Add the dates of contact." in html  # the manager's reasons, in the instructions
