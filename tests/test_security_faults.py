"""Faults: a crash before commit leaves the previous state; a lost database or a full disk gives a clear page."""

from __future__ import annotations

import errno

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.platform import audit
from rapidreview.store.db import make_engine, transaction
from rapidreview.store.models import AuditEvent, Case, HumanTask
from rapidreview.web.access import PUBLIC, allow
from tests.conftest import TEST_DATABASE_URL
from tests.web.conftest import sign_in


def snapshot(runtime: Runtime, case_id: int) -> tuple[str, int, list[tuple[int, str]], int]:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        tasks = [(t.id, t.state) for t in session.scalars(select(HumanTask).where(HumanTask.case_id == case_id))]
        events = int(session.scalar(select(func.count(AuditEvent.id))) or 0)
        return case.workflow_json, case.lock_version, sorted(tasks), events


def test_a_crash_after_the_engine_ran_but_before_commit_leaves_the_case_as_it_was(
        app: Flask, runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_retention import start_case

    case_id = start_case(runtime, "RR-F-1")
    before = snapshot(runtime, case_id)
    with transaction(runtime.sessions) as session:
        task = cases.ready_tasks(session, case_id)[0]
    from rapidreview.services.casework.tasks import starting_answers

    answers = starting_answers(runtime, task.id, with_examples=True)
    ran: list[bool] = []
    original = cases._after_step

    def crash(*args: object, **kwargs: object) -> None:
        ran.append(True)  # the engine has completed the task in memory by now
        raise RuntimeError("power cut between the engine step and the commit")

    monkeypatch.setattr(cases, "_after_step", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        cases.complete_task(runtime, task.id, answers, actor="test")
    assert ran == [True]
    assert snapshot(runtime, case_id) == before
    with transaction(runtime.sessions) as session:
        assert audit.verify(session).ok
    monkeypatch.setattr(cases, "_after_step", original)
    cases.complete_task(runtime, task.id, answers, actor="test")  # and the retry works
    assert snapshot(runtime, case_id)[1] == before[1] + 1


def test_a_lost_database_gives_a_clear_error_page(app: Flask) -> None:
    @app.get("/test-db-gone")
    @allow(PUBLIC)
    def db_gone() -> str:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    response = app.test_client().get("/test-db-gone")
    assert response.status_code == 503
    assert "database could not be reached" in response.get_data(as_text=True)


def test_a_full_disk_gives_a_clear_error_page(app: Flask) -> None:
    @app.get("/test-disk-full")
    @allow(PUBLIC)
    def disk_full() -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    response = app.test_client().get("/test-disk-full")
    assert response.status_code == 507 and "no room to store files" in response.get_data(as_text=True)


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="kills server connections: PostgreSQL only")
def test_after_the_database_drops_every_connection_the_next_request_works(app: Flask, runtime: Runtime) -> None:
    client = sign_in(app, "pm@demo.example")
    assert client.get("/cases").status_code == 200
    assert TEST_DATABASE_URL is not None
    with runtime.database.connect() as pooled:  # the app's pooled connection (only this test's, not others')
        pid = pooled.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = make_engine(TEST_DATABASE_URL)
    try:
        with admin.begin() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    finally:
        admin.dispose()
    assert client.get("/cases").status_code == 200  # pool_pre_ping replaced the dead connections
