"""Who may reach what: every route has a rule, and agencies never see each other's work."""

from __future__ import annotations

from flask import Flask

from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.store.db import transaction
from rapidreview.store.models import HumanTask
from rapidreview.web.access import rule_of
from tests.web.conftest import START, post, sign_in


def test_every_route_declares_who_may_use_it(app: Flask) -> None:
    missing = [rule.rule for rule in app.url_map.iter_rules() if rule_of(app.view_functions[rule.endpoint]) is None]
    assert missing == []


def test_pages_need_sign_in_and_send_people_to_it(app: Flask) -> None:
    client = app.test_client()
    for path in ("/tasks", "/cases", "/admin/users", "/outbox", "/cases/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], path
    assert client.get("/healthz/live").status_code == 200
    assert client.get("/status").status_code == 200
    assert client.get("/accessibility").status_code == 200


def test_a_wrong_password_is_refused_with_a_clear_message(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    from tests.web.conftest import csrf_of

    response = client.post("/sign-in", data={"email": "pm@demo.example", "password": "wrong password",
                                              "csrf_token": csrf_of(page)})
    assert response.status_code == 400
    assert "Enter a correct email address and password" in response.get_data(as_text=True)
    assert client.get("/tasks").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(app: Flask) -> None:
    client = sign_in(app, "pm@demo.example")
    assert client.post("/sign-out").status_code == 400


def test_roles_see_only_their_pages(app: Flask) -> None:
    practitioner = sign_in(app, "school.practitioner@demo.example")
    assert practitioner.get("/admin/users").status_code == 403
    assert practitioner.get("/outbox").status_code == 403
    assert practitioner.get("/cases/new").status_code == 403
    manager = sign_in(app, "pm@demo.example")
    assert manager.get("/outbox").status_code == 200
    assert manager.get("/admin/users").status_code == 403
    admin = sign_in(app, "admin@demo.example")
    assert admin.get("/admin/users").status_code == 200


def start_case_with_two_agencies(runtime: Runtime) -> int:
    notification = cases.Notification(
        reference="RR-W-1", notified_at=START, child={"name": "Child W"}, incident={"date": "2026-05-20", "summary": "x"},
        agencies=[{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
                   "manager_email": "head@oak.example"},
                  {"id": "gp", "name": "Elm Street Surgery", "contact_email": "safeguarding@elmsurgery.example",
                   "manager_email": "practice.manager@elmsurgery.example"}])
    case_id = cases.start_case(runtime, notification, actor="test")
    from rapidreview.services.casework.tasks import starting_answers

    for _ in range(10):  # partners' views, commissioning, agency list, meeting: until agencies have tasks
        with transaction(runtime.sessions) as session:
            ready = cases.ready_tasks(session, case_id)
        if any(t.agency_id for t in ready):
            return case_id
        task = ready[0]
        cases.complete_task(runtime, task.id, starting_answers(runtime, task.id, with_examples=True), actor="test")
    raise AssertionError("agency tasks never became ready")


def agency_task(runtime: Runtime, case_id: int, agency: str) -> HumanTask:
    with transaction(runtime.sessions) as session:
        return next(t for t in cases.ready_tasks(session, case_id) if t.agency_id == agency)


def test_an_agency_sees_its_own_task_but_not_another_agencys(app: Flask, runtime: Runtime) -> None:
    case_id = start_case_with_two_agencies(runtime)
    school, gp = agency_task(runtime, case_id, "school"), agency_task(runtime, case_id, "gp")
    client = sign_in(app, "school.practitioner@demo.example")
    worklist = client.get("/tasks").get_data(as_text=True)
    assert f"/tasks/{school.id}" in worklist and f"/tasks/{gp.id}" not in worklist
    assert client.get(f"/tasks/{school.id}").status_code == 200
    assert client.get(f"/tasks/{gp.id}").status_code == 404
    assert post(client, f"/tasks/{gp.id}/claim").status_code == 302
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, gp.id).assignee is None  # type: ignore[union-attr]
    case_page = client.get("/cases/RR-W-1").get_data(as_text=True)
    assert "Oak Primary School" in case_page and "Elm Street Surgery" not in case_page
    assert "/documents/" not in case_page


def test_an_agency_cannot_download_reports(app: Flask, runtime: Runtime) -> None:
    start_case_with_two_agencies(runtime)
    client = sign_in(app, "school.manager@demo.example")
    assert client.get("/cases/RR-W-1/documents/1").status_code == 404


def test_someone_with_no_part_in_a_case_cannot_see_it(app: Flask, runtime: Runtime) -> None:
    runtime.settings  # noqa: B018 - the case exists, made by the fixture below
    cases.start_case(runtime, cases.Notification(reference="RR-W-2", notified_at=START, child={"name": "C"},
                                                 incident={"date": "2026-05-20", "summary": "x"}), actor="test")
    client = sign_in(app, "gp.practitioner@demo.example")
    assert client.get("/cases/RR-W-2").status_code == 404
    assert "RR-W-2" not in client.get("/cases").get_data(as_text=True)
