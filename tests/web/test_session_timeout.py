"""Nobody loses work to the idle limit: the warning's questions to the server, and answers sent too late."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.store.db import transaction
from rapidreview.store.models import HumanTask
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.test_tasks import criteria_task

RATIONALE = "The school knew of two earlier bruises. " * 45  # about 1,800 characters, typed over a long call


def _status(client: FlaskClient) -> tuple[int, dict[str, object]]:
    response = client.get("/session/status")
    return response.status_code, response.get_json()


def _draft(runtime: Runtime, task_id: int) -> dict[str, object] | None:
    with transaction(runtime.sessions) as session:
        task = session.get(HumanTask, task_id)
        assert task is not None
        return task.draft


def test_asking_how_long_is_left_does_not_keep_the_session_alive(
    app: Flask, virtual_clock: clock.VirtualClock
) -> None:
    client = sign_in(app, "pm@demo.example")
    assert _status(client) == (200, {"signed_in": True, "seconds_left": 1800})
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=28))
    assert _status(client) == (200, {"signed_in": True, "seconds_left": 120})
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=2))
    assert _status(client) == (401, {"signed_in": False, "seconds_left": 0})
    assert client.get("/cases").status_code == 302


def test_stay_signed_in_starts_the_idle_clock_again(app: Flask, virtual_clock: clock.VirtualClock) -> None:
    client = sign_in(app, "pm@demo.example")
    token = csrf_of(client.get("/tasks").get_data(as_text=True))
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=29))
    response = client.post("/session/keep-alive", headers={"X-CSRFToken": token})
    assert (response.status_code, response.get_json()) == (200, {"signed_in": True, "seconds_left": 1800})
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=29))
    assert client.get("/cases").status_code == 200


def test_stay_signed_in_needs_the_pages_csrf_token(app: Flask) -> None:
    client = sign_in(app, "pm@demo.example")
    assert client.post("/session/keep-alive").status_code == 400


def test_stay_signed_in_cannot_bring_an_ended_session_back(
    app: Flask, virtual_clock: clock.VirtualClock
) -> None:
    client = sign_in(app, "pm@demo.example")
    token = csrf_of(client.get("/tasks").get_data(as_text=True))
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=31))
    response = client.post("/session/keep-alive", headers={"X-CSRFToken": token})
    assert response.status_code == 401
    assert client.get("/cases").status_code == 302


def test_a_short_idle_limit_still_counts_each_request_as_activity(
    app: Flask, virtual_clock: clock.VirtualClock
) -> None:
    app.config["IDLE_TIMEOUT"] = timedelta(minutes=2)
    client = sign_in(app, "pm@demo.example")
    for _ in range(6):  # a request every 50 seconds for five minutes: never idle for two
        virtual_clock.set(virtual_clock.now() + timedelta(seconds=50))
        assert client.get("/cases").status_code == 200


def test_pages_tell_the_warning_how_long_the_session_has(
    app: Flask, virtual_clock: clock.VirtualClock
) -> None:
    app.config["IDLE_TIMEOUT"] = timedelta(minutes=5)
    client = sign_in(app, "pm@demo.example")
    html = client.get("/tasks").get_data(as_text=True)
    assert 'data-seconds-left="300"' in html and 'data-idle-seconds="300"' in html
    assert "Stay signed in" in html and 'aria-labelledby="timeout-warning-title"' in html
    assert 'id="timeout-warning"' not in app.test_client().get("/sign-in").get_data(as_text=True)


def test_answers_sent_after_the_idle_limit_are_kept_and_the_task_comes_back_after_signing_in(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    task = criteria_task(runtime)
    lead = sign_in(app, "la.lead@demo.example")
    post(lead, f"/tasks/{task.id}/claim")
    token = csrf_of(lead.get(f"/tasks/{task.id}").get_data(as_text=True))
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=45))  # a long phone call
    response = lead.post(
        f"/tasks/{task.id}",
        data={
            "csrf_token": token,
            "action": "submit",
            "criteria_met": "yes",
            "rationale": RATIONALE,
            "immediate_action_needed": "no",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/sign-in?next=/tasks/{task.id}?kept%3D1"
    assert _draft(runtime, task.id) == {
        "criteria_met": "yes",
        "rationale": RATIONALE.strip(),
        "immediate_action_needed": "no",
    }
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, task.id).state == "ready"  # type: ignore[union-attr]  # kept, not submitted

    sign_in_page = lead.get(response.headers["Location"]).get_data(as_text=True)
    assert "had not done anything for a while" in sign_in_page
    assert "Record the partner" in sign_in_page and "has been kept as a draft" in sign_in_page
    back = lead.post(
        response.headers["Location"],
        data={
            "csrf_token": csrf_of(sign_in_page),
            "email": "la.lead@demo.example",
            "password": DEMO_PASSWORD,
        },
    )
    assert back.headers["Location"] == f"/tasks/{task.id}?kept=1"
    page = lead.get(back.headers["Location"]).get_data(as_text=True)
    assert "Your answers were kept" in page and RATIONALE.strip()[:200] in page


def test_answers_are_not_kept_for_a_session_that_was_signed_out_or_with_a_forged_token(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    task = criteria_task(runtime)
    lead = sign_in(app, "la.lead@demo.example")
    post(lead, f"/tasks/{task.id}/claim")
    token = csrf_of(lead.get(f"/tasks/{task.id}").get_data(as_text=True))
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=45))
    forged = lead.post(f"/tasks/{task.id}", data={"csrf_token": "forged", "rationale": "not theirs"})
    assert forged.headers["Location"] == "/sign-in"
    assert _draft(runtime, task.id) is None

    other = sign_in(app, "la.lead@demo.example")
    token = csrf_of(other.get(f"/tasks/{task.id}").get_data(as_text=True))
    post(other, "/sign-out")
    after = other.post(f"/tasks/{task.id}", data={"csrf_token": token, "rationale": "after signing out"})
    assert after.headers["Location"] == "/sign-in"
    assert _draft(runtime, task.id) is None


def test_answers_are_kept_only_on_a_task_the_person_had_claimed(
    app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    task = criteria_task(runtime)
    lead = sign_in(app, "la.lead@demo.example")
    token = csrf_of(lead.get(f"/tasks/{task.id}").get_data(as_text=True))  # looked, never claimed
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=45))
    response = lead.post(f"/tasks/{task.id}", data={"csrf_token": token, "rationale": "Unclaimed"})
    assert response.headers["Location"] == "/sign-in"
    assert _draft(runtime, task.id) is None


def test_each_task_pages_title_names_its_case(app: Flask, runtime: Runtime) -> None:
    """Three partners' tasks on every case share a name: the title (read first by a screen reader) tells them apart."""
    task = criteria_task(runtime)
    page = sign_in(app, "la.lead@demo.example").get(f"/tasks/{task.id}").get_data(as_text=True)
    title = page.split("<title")[1].split("</title>")[0]
    assert "Record the partner" in title and "case RR-T-9" in title
