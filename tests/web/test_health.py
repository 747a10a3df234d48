"""Health: /healthz/live and /healthz/ready answer load balancers with no identifiers; the Service status page
shows people the same in words, and an administrator their own partnership's cases and e-mails only."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import text

from rapidreview import clock
from rapidreview.config import Settings
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.casework import cases
from rapidreview.services.people import partnerships, users
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.services.platform import outbox, scheduling
from rapidreview.store.db import transaction
from rapidreview.store.models import Case
from rapidreview.web import create_app
from tests.web.conftest import START, sign_in

SECRET_RECIPIENT = "named.person@another-partnership.example"
SECRET_SUBJECT = "Rapid Review RR-OTHER-7: your information sharing form"


def _troubles(runtime: Runtime, reference: str, partnership_id: int | None, recipient: str, subject: str) -> None:
    """A case whose automatic step fails and a failed e-mail of that case, in one partnership."""
    case_id = cases.start_case(runtime, cases.Notification(
        reference=reference, notified_at=START, child={"name": "Child Q"}, incident={"date": "2026-05-20", "summary": "x"}),
        actor="test", partnership_id=partnership_id)
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.engine_error, case.engine_attempts, case.engine_failed_since = "SMTP template broke", 3, START
        message = outbox.queue(session, runtime, case_id=case_id, template="test_message", to=[recipient],
                               subject=subject, body="Hello")
        message.status, message.last_error = "failed", f"550 no such user {recipient}"


def _beat(runtime: Runtime) -> None:
    scheduling.beat(runtime, "host:1", mode="process", started_at=clock.now(), next_wake_at=None)


def test_public_health_answers_never_name_a_case_a_recipient_or_an_error(app: Flask, runtime: Runtime) -> None:
    _troubles(runtime, "RR-OTHER-7", None, SECRET_RECIPIENT, SECRET_SUBJECT)
    _beat(runtime)
    client = app.test_client()
    for path in ("/healthz", "/healthz/ready", "/healthz/live", "/status"):
        body = client.get(path).get_data(as_text=True)
        for secret in ("RR-OTHER-7", SECRET_RECIPIENT, "another-partnership", "SMTP template broke", "550"):
            assert secret not in body, f"{path} shows {secret!r}"


def test_ready_needs_a_live_scheduler_and_says_which_check_failed(app: Flask, runtime: Runtime,
                                                                 virtual_clock: clock.VirtualClock) -> None:
    client = app.test_client()
    assert client.get("/healthz/live").get_json() == {"status": "ok"}
    response = client.get("/healthz/ready")
    assert response.status_code == 503
    assert response.get_json() == {"status": "not ready",
                                   "checks": {"database": "ok", "migrations": "ok", "scheduler": "stale"}}
    _beat(runtime)
    response = client.get("/healthz/ready")
    assert response.status_code == 200 and response.get_json()["status"] == "ready"
    assert client.get("/healthz").status_code == 200  # the old address answers as ready does
    virtual_clock.set(virtual_clock.now() + timedelta(seconds=31))  # three missed beats: the scheduler is taken for dead
    assert client.get("/healthz/ready").get_json()["checks"]["scheduler"] == "stale"


def test_ready_fails_while_migrations_are_pending_but_not_on_a_newer_schema(app: Flask, runtime: Runtime) -> None:
    _beat(runtime)
    client = app.test_client()
    with runtime.database.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    response = client.get("/healthz/ready")
    assert response.status_code == 503 and response.get_json()["checks"]["migrations"] == "pending"
    with runtime.database.begin() as conn:  # a later release migrated (only adding): this one still serves
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    response = client.get("/healthz/ready")
    assert response.status_code == 200 and response.get_json()["checks"]["migrations"] == "newer"


def test_ready_answers_503_when_the_database_cannot_be_reached(settings: Settings) -> None:
    unreachable = build_runtime(settings.with_(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"),
                                migrate=False)
    try:
        response = create_app("test", runtime=unreachable).test_client().get("/healthz/ready")
    finally:
        unreachable.close()
    assert response.status_code == 503
    assert response.get_json() == {"status": "not ready", "checks": {
        "database": "unreachable", "migrations": "unknown", "scheduler": "unknown"}}
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_the_status_page_shows_an_administrator_their_own_partnership_only(app: Flask, runtime: Runtime) -> None:
    other = partnerships.add_partnership(runtime, "beta", "Beta Safeguarding Children Partnership", actor="test")
    users.create_user(runtime, email="admin@beta.example", name="Beta Admin", role="admin", password=DEMO_PASSWORD,
                      actor="test", partnership_id=other.id)
    _troubles(runtime, "RR-OWN-1", None, "own.person@demo.example", "Own subject")
    _troubles(runtime, "RR-OTHER-7", other.id, SECRET_RECIPIENT, SECRET_SUBJECT)
    _beat(runtime)

    page = sign_in(app, "admin@demo.example").get("/status").get_data(as_text=True)
    assert "Rapid Review is working normally" in page
    assert "RR-OWN-1" in page and "own.person@demo.example" in page and "SMTP template broke" in page
    assert "RR-OTHER-7" not in page and SECRET_RECIPIENT not in page

    beta = sign_in(app, "admin@beta.example").get("/status").get_data(as_text=True)
    assert "RR-OTHER-7" in beta and "RR-OWN-1" not in beta

    practitioner = sign_in(app, "school.practitioner@demo.example").get("/status").get_data(as_text=True)
    assert "Rapid Review is working normally" in practitioner and "RR-OWN-1" not in practitioner


def test_the_footer_links_to_the_status_page_for_people(app: Flask) -> None:
    page = app.test_client().get("/accessibility").get_data(as_text=True)
    assert 'href="/status">Service status</a>' in page
    status = app.test_client().get("/status")
    assert status.status_code == 200 and status.mimetype == "text/html"
