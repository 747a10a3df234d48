"""Administrators and process owners run the service but see no case content, unless they break the glass."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, HumanTask
from tests.test_documents_versions import docs, with_draft
from tests.web.conftest import START, csrf_of, post, sign_in


def test_administrators_and_process_owners_see_that_a_case_exists_but_nothing_in_it(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = with_draft(runtime, virtual_clock)
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        reference, child = case.reference, case.notification["child"]["name"]
    [draft, *_] = docs(runtime, case_id, "draft_report")
    for email in ("admin@demo.example", "owner@demo.example"):
        client = sign_in(app, email)
        listing = client.get("/cases").get_data(as_text=True)
        assert reference in listing and f'href="/cases/{reference}"' not in listing
        page = client.get(f"/cases/{reference}")
        assert page.status_code == 403
        assert child not in page.get_data(as_text=True) and draft.filename not in page.get_data(as_text=True)
        assert client.get(f"/cases/{reference}/documents/{draft.id}").status_code == 404
    manager = sign_in(app, "pm@demo.example")
    assert manager.get(f"/cases/{reference}").status_code == 200
    assert manager.get(f"/cases/{reference}/documents/{draft.id}").status_code == 200


def test_an_administrator_breaks_the_glass_with_a_reason_the_partnership_manager_sees(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = with_draft(runtime, virtual_clock)
    with transaction(runtime.sessions) as session:
        reference = session.get(Case, case_id).reference  # type: ignore[union-attr]
    admin = sign_in(app, "admin@demo.example")
    page = admin.get(f"/cases/{reference}").get_data(as_text=True)
    assert "Open the case for one hour" in page
    too_short = admin.post(f"/cases/{reference}/break-glass", data={"reason": "just looking", "csrf_token": csrf_of(page)})
    assert too_short.status_code == 400 and "at least 20 characters" in too_short.get_data(as_text=True)
    reason = "The PM reported the draft report is missing from the case, ticket 4821"
    opened = admin.post(f"/cases/{reference}/break-glass", data={"reason": reason, "csrf_token": csrf_of(page)})
    assert opened.status_code == 302
    assert admin.get(f"/cases/{reference}").status_code == 200
    with transaction(runtime.sessions) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.type == "break_glass")).one()
        assert event.actor == "admin@demo.example" and event.payload["reason"] == reason
    shown = sign_in(app, "pm@demo.example").get(f"/cases/{reference}").get_data(as_text=True)
    assert "An administrator opened this case" in shown and "ticket 4821" in shown
    for _ in range(61):  # the administrator stays signed in, and after an hour the case closes again
        virtual_clock.set(virtual_clock.now() + timedelta(minutes=1))
        admin.get("/tasks")
    assert admin.get(f"/cases/{reference}").status_code == 403


def test_a_process_owner_cannot_break_the_glass(app: Flask, runtime: Runtime) -> None:
    cases.start_case(runtime, cases.Notification(reference="RR-K-1", notified_at=START, child={"name": "Child K"},
                                                 incident={"date": "2026-05-20", "summary": "x"}), actor="test")
    owner = sign_in(app, "owner@demo.example")
    assert "Open the case for one hour" not in owner.get("/cases/RR-K-1").get_data(as_text=True)
    response = post(owner, "/cases/RR-K-1/break-glass", {"reason": "I would like to see the case please, now"})
    assert response.status_code == 403


def test_releasing_a_completed_task_is_refused_and_writes_nothing(app: Flask, runtime: Runtime) -> None:
    case_id = cases.start_case(runtime, cases.Notification(
        reference="RR-K-2", notified_at=START, child={"name": "C"}, incident={"date": "2026-05-20", "summary": "x"}),
        actor="test")
    with transaction(runtime.sessions) as session:
        task = next(t for t in cases.ready_tasks(session, case_id) if t.partner == "LA")
    lead = sign_in(app, "la.lead@demo.example")
    post(lead, f"/tasks/{task.id}/claim")
    cases.complete_task(runtime, task.id, {"criteria_met": "yes", "rationale": "r", "immediate_action_needed": "no"},
                        actor="la.lead@demo.example")
    with transaction(runtime.sessions) as session:
        before = session.scalar(select(func.count()).select_from(AuditEvent))
    response = post(lead, f"/tasks/{task.id}/release")
    assert response.status_code == 409
    with transaction(runtime.sessions) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
        assert session.get(HumanTask, task.id).state == "completed"  # type: ignore[union-attr]
