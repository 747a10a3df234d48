"""The process owner's pages for moving open cases to the active version, and the form previews."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.people import partnerships
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, ProcessVersion
from tests.conftest import START
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.test_access import start_case_with_two_agencies
from tests.web.test_versions import CALLED, tried_and_activated, upload


def case_version(runtime: Runtime, case_id: int) -> int:
    with transaction(runtime.sessions) as session:
        return session.scalar(select(ProcessVersion.number).join(Case, Case.process_version_id == ProcessVersion.id)
                              .where(Case.id == case_id))


def test_an_owner_checks_and_moves_open_cases_to_the_active_version(app: Flask, runtime: Runtime) -> None:
    app.config["PROCESS_LINT"] = False
    case_id = start_case_with_two_agencies(runtime)  # waiting at the agencies' forms, due Day 7
    owner = sign_in(app, "owner@demo.example")
    upload(owner, {"information_sharing.bpmn": CALLED.read_bytes().replace(b"day(7, ", b"day(6, ")}, note="Day 6")
    page = owner.get("/process/versions/2/moves", follow_redirects=True).get_data(as_text=True)
    assert "Only the active version takes open cases" in page  # still a candidate
    assert tried_and_activated(app, owner, 2).status_code == 302

    page = owner.get("/process/versions/2").get_data(as_text=True)
    assert 'href="/process/versions/2/moves"' in page
    page = owner.get("/process/versions/2/moves").get_data(as_text=True)
    assert "RR-W-1" in page and "govuk-tag--green" in page
    assert "complete_information_sharing_form" in page and "the new definition applies" in page
    token = csrf_of(page)
    response = owner.post("/process/versions/2/moves",
                          data={"csrf_token": token, "reference": "RR-W-1", "note": "Day 6 now"})
    assert response.status_code == 302
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 case moved to version 2 (RR-W-1)" in page
    assert "Every open case already runs on version 2" in page
    assert case_version(runtime, case_id) == 2
    with transaction(runtime.sessions) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.type == "case_moved")).one()
    assert (event.case_id, event.actor, event.payload["note"]) == (case_id, "owner@demo.example", "Day 6 now")
    timeline = sign_in(app, "pm@demo.example").get("/cases/RR-W-1").get_data(as_text=True)
    assert "moved to a new process version" in timeline and "from version 1 to version 2: Day 6 now" in timeline
    assert "Process version" in timeline and "Version 2: Day 6 (the active version)" in timeline


def test_admins_may_look_but_only_owners_move_and_a_stale_request_is_refused(app: Flask, runtime: Runtime) -> None:
    app.config["PROCESS_LINT"] = False
    case_id = start_case_with_two_agencies(runtime)
    owner = sign_in(app, "owner@demo.example")
    upload(owner, {"information_sharing.bpmn": CALLED.read_bytes().replace(b"day(7, ", b"day(6, ")})
    tried_and_activated(app, owner, 2)

    admin = sign_in(app, "admin@demo.example")
    page = admin.get("/process/versions/2/moves").get_data(as_text=True)
    assert "RR-W-1" in page and "Move 1 case" not in page
    assert post(admin, "/process/versions/2/moves", {"reference": "RR-W-1"}, page="/process").status_code == 403

    # The owner's page was for version 2; version 1 is made active again before they press the button.
    page = owner.get("/process/versions/2/moves").get_data(as_text=True)
    post(owner, "/process/versions/1/activate", {"note": "back"}, page="/process")
    response = owner.post("/process/versions/2/moves", data={"csrf_token": csrf_of(page), "reference": "RR-W-1",
                                                             "note": "Day 6"})
    flashed = owner.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Version 2 is not the active version" in flashed
    assert case_version(runtime, case_id) == 1


def test_a_form_of_a_version_is_shown_as_people_will_see_it(app: Flask) -> None:
    owner = sign_in(app, "owner@demo.example")
    assert 'href="/process/versions/1/forms/record_criteria_view.schema.json"' in owner.get(
        "/process/versions/1").get_data(as_text=True)
    page = owner.get("/process/versions/1/forms/record_criteria_view.schema.json").get_data(as_text=True)
    assert "govuk-radios" in page and "nothing here is saved or sent" in page
    # The task's instructions come first, as the person doing it reads them, with the process's deadline.
    assert "Instructions: Record the partner" in page and "As the LA lead" in page
    assert "Due by 5pm on Friday 22 May 2026 (Day 1)" in page
    # It posts nowhere: the preview's form only reloads itself.
    assert '<form method="get" action="/process/versions/1/forms/record_criteria_view.schema.json"' in page
    assert owner.get("/process/versions/1/forms/nope.schema.json").status_code == 404
    assert owner.get("/process/versions/1/forms/record_criteria_view.uischema.json").status_code == 404
    assert owner.get("/process/versions/9/forms/record_criteria_view.schema.json").status_code == 404


def test_an_owner_sees_and_moves_only_their_own_partnerships_cases(app: Flask, runtime: Runtime) -> None:
    app.config["PROCESS_LINT"] = False
    start_case_with_two_agencies(runtime)  # the demo accounts' (default) partnership
    beta = partnerships.add_partnership(runtime, "beta", "Beta Safeguarding Children Partnership", actor="test")
    other = cases.start_case(runtime, cases.Notification(
        reference="RR-BETA-1", notified_at=START, child={"name": "Child B"}, incident={"date": "2026-05-20"}),
        actor="test", partnership_id=beta.id)
    owner = sign_in(app, "owner@demo.example")
    upload(owner, {"information_sharing.bpmn": CALLED.read_bytes().replace(b"day(7, ", b"day(6, ")})
    tried_and_activated(app, owner, 2)

    page = owner.get("/process/versions/2/moves").get_data(as_text=True)
    assert "RR-W-1" in page and "RR-BETA-1" not in page
    response = owner.post("/process/versions/2/moves", data={"csrf_token": csrf_of(page), "reference": "RR-BETA-1",
                                                             "note": "Day 6"})
    flashed = owner.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "There is no case RR-BETA-1" in flashed
    assert case_version(runtime, other) == 1
