"""Invitations in the web app: the agency list's choice of registered agencies, accepting a link (once, by the
person it was sent to), the pages for links that cannot be used, the case page's agencies and the admin list."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, OutboxMessage
from tests.factories import drive_until, ready_tasks, start_case
from tests.web.conftest import csrf_of, post, sign_in

NURSERY = {
    "name": "Little Acorns Nursery",
    "kind": "early_years",
    "contact_name": "Nia Jones",
    "contact_email": "nia.jones@littleacorns.example",
    "manager_email": "sam.reid@littleacorns.example",
}
PASSWORD = "correct horse battery staple"


def _case_with_nursery(
    runtime: Runtime, virtual_clock: clock.VirtualClock, reference: str
) -> tuple[int, str]:
    case_id = start_case(
        runtime,
        reference,
        agencies=[],
        child={"name": "Child W", "date_of_birth": "2020-01-01", "sex": "female"},
    )
    task = drive_until(runtime, virtual_clock, case_id, "share_agency_list")
    cases.complete_task(runtime, task.id, {"agencies": [NURSERY]}, actor="la.officer@demo.example")
    with transaction(runtime.sessions) as session:
        body = session.scalars(
            select(OutboxMessage.body_text).where(OutboxMessage.template == "agency_invitation")
        ).first()
    assert body is not None
    return case_id, re.search(r"/invitation/(\S+)", body).group(1)  # type: ignore[union-attr]


def _accept(client: FlaskClient, token: str, email: str = "nia.jones@littleacorns.example"):  # type: ignore[no-untyped-def]
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    return client.post(
        f"/invitation/{token}",
        data={
            "email": email,
            "name": "Nia Jones",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_of(page),
        },
    )


def test_the_agency_list_offers_the_partnerships_agencies_and_a_new_one(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id = start_case(runtime, "RR-W-1", agencies=[])
    task = drive_until(runtime, virtual_clock, case_id, "share_agency_list")
    officer = sign_in(app, "la.officer@demo.example")
    post(officer, f"/tasks/{task.id}/claim")
    html = officer.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "A new agency (give its details below)" in html
    choices = re.findall(r'name="agencies/0/id" type="radio" value="([^"]*)"', html)
    assert choices == ["", "gp", "school"]  # the new one first, then the register by name
    assert "Oak Primary School" in html and "Elm Street Surgery" in html
    assert "Short ID" not in html
    # Submitting a registered agency by its choice alone: names and addresses come from the register.
    response = post(
        officer, f"/tasks/{task.id}", {"action": "submit", "agencies/0/id": "gp"}, page=f"/tasks/{task.id}"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    [gp_task] = [
        t for t in ready_tasks(runtime, case_id) if t.element_id == "complete_information_sharing_form"
    ]
    assert gp_task.agency_id == "gp" and gp_task.agency_name == "Elm Street Surgery"


def test_a_new_agency_missing_its_details_is_shown_what_to_add(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id = start_case(runtime, "RR-W-2", agencies=[])
    task = drive_until(runtime, virtual_clock, case_id, "share_agency_list")
    officer = sign_in(app, "la.officer@demo.example")
    post(officer, f"/tasks/{task.id}/claim")
    response = post(
        officer,
        f"/tasks/{task.id}",
        {"action": "submit", "agencies/0/name": "Riverside Housing"},
        page=f"/tasks/{task.id}",
    )
    assert response.status_code == 303  # post, redirect, get: the errors are shown on the task page
    html = officer.get(response.location).get_data(as_text=True)
    for message in (
        "Select the type of agency",
        "Enter the contact&#39;s email address",
        "Enter the manager&#39;s email address",
    ):
        assert message in html
    assert 'value="Riverside Housing"' in html


def test_a_very_long_list_of_errors_is_shown_on_the_response_itself(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    """Errors travel to the next page in the session cookie, which browsers drop past 4 KB: too many to
    carry are shown at once instead, with everything typed."""
    case_id = start_case(runtime, "RR-W-2B", agencies=[])
    task = drive_until(runtime, virtual_clock, case_id, "share_agency_list")
    officer = sign_in(app, "la.officer@demo.example")
    post(officer, f"/tasks/{task.id}/claim")
    rows = {f"agencies/{n}/name": f"Agency number {n}" for n in range(20)}
    response = post(officer, f"/tasks/{task.id}", {"action": "submit", **rows}, page=f"/tasks/{task.id}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "govuk-error-summary" in html and 'value="Agency number 19"' in html
    assert len(response.headers.get("Set-Cookie", "")) < 4096


def test_an_invited_contact_sets_up_their_account_and_sees_only_their_agencys_task(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, token = _case_with_nursery(runtime, virtual_clock, "RR-W-3")
    client = app.test_client()
    page = client.get(f"/invitation/{token}").get_data(as_text=True)
    assert "Set up your account" in page and "Little Acorns Nursery" in page
    assert "Child W" not in page and "RR-W-3" not in page
    wrong = _accept(client, token, "someone.else@littleacorns.example")
    assert (
        wrong.status_code == 400
        and "Enter the email address this invitation was sent to" in wrong.get_data(as_text=True)
    )
    response = _accept(client, token)
    assert response.status_code == 302 and response.headers["Location"].endswith("/tasks")
    worklist = client.get("/tasks").get_data(as_text=True)
    [form] = [t for t in ready_tasks(runtime, case_id) if t.element_id == "complete_information_sharing_form"]
    assert f"/tasks/{form.id}" in worklist
    others = start_case(runtime, "RR-W-4")  # a case of other agencies: nothing of it reaches the nursery
    assert "RR-W-4" not in client.get("/cases").get_data(as_text=True)
    with transaction(runtime.sessions) as session:
        other_reference = session.get(Case, others).reference  # type: ignore[union-attr]
    assert client.get(f"/cases/{other_reference}").status_code == 404
    # The link is used up: a second visit (or a forwarded copy) says so, and nothing about the case.
    again = app.test_client().get(f"/invitation/{token}")
    text = again.get_data(as_text=True)
    assert again.status_code == 410 and "This link has already been used" in text
    assert "RR-W-3" not in text and "Child W" not in text and "Little Acorns" not in text
    assert "To get a new invitation, write to" in text


def test_an_expired_or_unknown_link_says_how_to_get_a_new_one(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, token = _case_with_nursery(runtime, virtual_clock, "RR-W-5")
    assert app.test_client().get("/invitation/not-a-real-link").status_code == 404
    virtual_clock.set(clock.now() + timedelta(hours=72))
    expired = app.test_client().get(f"/invitation/{token}")
    text = expired.get_data(as_text=True)
    assert (
        expired.status_code == 410 and "This link has expired" in text and "To get a new invitation" in text
    )
    assert "RR-W-5" not in text and "Child W" not in text


def test_a_link_opened_by_someone_signed_in_as_another_person_is_refused(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, token = _case_with_nursery(runtime, virtual_clock, "RR-W-6")
    colleague = sign_in(app, "school.practitioner@demo.example")
    response = colleague.get(f"/invitation/{token}")
    assert response.status_code == 410 and "This invitation is for someone else" in response.get_data(
        as_text=True
    )


def test_the_partnership_manager_sees_each_agency_and_resends_an_invitation(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, token = _case_with_nursery(runtime, virtual_clock, "RR-W-7")
    pm = sign_in(app, "pm@demo.example")
    html = pm.get("/cases/RR-W-7").get_data(as_text=True)
    assert (
        'id="agencies"' in html
        and "Invited, not yet accepted" in html
        and "No one can see its task" not in html
    )
    virtual_clock.set(clock.now() + timedelta(hours=72))
    pm = sign_in(app, "pm@demo.example")  # a new working day, a new session
    html = pm.get("/cases/RR-W-7").get_data(as_text=True)
    assert "No one can see its task" in html and "Invitation expired" in html
    action = re.search(r'action="(/case-agencies/\d+/people/\d+/resend)"', html).group(1)  # type: ignore[union-attr]
    response = post(pm, action, page="/cases/RR-W-7")
    assert response.status_code == 302
    assert "A new invitation has been sent to" in pm.get("/cases/RR-W-7").get_data(as_text=True)
    assert "This link has been replaced" in app.test_client().get(f"/invitation/{token}").get_data(
        as_text=True
    )
    officer = sign_in(app, "la.officer@demo.example")
    assert post(officer, action, page="/cases/RR-W-7").status_code == 403


def test_the_partnership_manager_changes_an_agencys_contact(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, _token = _case_with_nursery(runtime, virtual_clock, "RR-W-8")
    pm = sign_in(app, "pm@demo.example")
    path = f"/case-agencies/{case_id}/little-acorns-nursery/contact"
    page = pm.get(path).get_data(as_text=True)
    bad = pm.post(
        path,
        data={
            "role": "agency_practitioner",
            "name": "Ola Ade",
            "email": "not an address",
            "csrf_token": csrf_of(page),
        },
    )
    assert bad.status_code == 400 and "Enter an email address in the correct format" in bad.get_data(
        as_text=True
    )
    done = pm.post(
        path,
        data={
            "role": "agency_practitioner",
            "name": "Ola Ade",
            "email": "ola.ade@littleacorns.example",
            "csrf_token": csrf_of(page),
        },
    )
    assert done.status_code == 302
    with transaction(runtime.sessions) as session:
        newest = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.template == "agency_invitation")
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert newest is not None and newest.to == ["ola.ade@littleacorns.example"]
    assert pm.get(f"/case-agencies/{case_id}/no-such-agency/contact").status_code == 404


def test_an_administrator_sees_who_was_invited_by_whom_and_whether_they_accepted(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, token = _case_with_nursery(runtime, virtual_clock, "RR-W-9")
    _accept(app.test_client(), token)
    html = sign_in(app, "admin@demo.example").get("/admin/invitations").get_data(as_text=True)
    assert "nia.jones@littleacorns.example" in html and "sam.reid@littleacorns.example" in html
    assert (
        "by la.officer@demo.example" in html and "Can sign in" in html and "Invited, not yet accepted" in html
    )
