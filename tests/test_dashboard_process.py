"""The dashboard on a case the process really ran: its step times are the audit trail's, ready to completed, and
its agencies' returns are what the information-sharing window recorded (one form signed off, one not returned).

The factory-made rows of tests/test_dashboard.py stand for what the process leaves; this checks that they do.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.services.people.users import SignedIn
from rapidreview.services.reading import dashboard
from rapidreview.services.reading import dashboard_figures as f
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent
from tests.conftest import START

AGENCIES = [{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
             "manager_email": "head@oak.example"},
            {"id": "gp", "name": "Elm Street Surgery", "contact_email": "safeguarding@elm.example",
             "manager_email": "pm@elm.example"}]


def _complete_all_but_the_gp(runtime: Runtime, case_id: int, virtual: clock.VirtualClock) -> None:
    """Work through every ready task an hour apart, leaving the GP's form alone, until the case needs the
    information-sharing window to close."""
    for _ in range(40):
        with transaction(runtime.sessions) as session:
            ready = [t for t in cases.ready_tasks(session, case_id) if t.agency_id != "gp"]
        if not ready:
            return
        virtual.set(virtual.now() + timedelta(hours=1))
        task = ready[0]
        cases.complete_task(runtime, task.id, starting_answers(runtime, task.id, with_examples=True), actor="test")
    raise AssertionError("the case never ran out of ready tasks")


def test_step_times_and_returns_of_a_real_case_match_its_audit_trail(
        runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    case_id = cases.start_case(runtime, cases.Notification(
        reference="RR-REAL", notified_at=START, child={"name": "Child R"},
        incident={"date": "2026-05-20", "summary": "x"}, agencies=AGENCIES), actor="test")
    _complete_all_but_the_gp(runtime, case_id, virtual_clock)
    # Day 8, 09:00: the window closes and the GP's form is recorded as not returned; the chair can draft.
    virtual_clock.set(runtime.calendar.day_at(START.date(), 8, "09:01"))
    cases.advance_case(runtime, case_id)

    with transaction(runtime.sessions) as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)))
        partnership_id = session.scalar(select(cases.Case.partnership_id).where(cases.Case.id == case_id))
    assert partnership_id is not None
    ready = {e.payload["task"]: e for e in events if e.type == "task_ready"}
    working = f.WorkingDays(runtime.calendar)
    from_trail: dict[str, list[float]] = defaultdict(list)
    for done in (e for e in events if e.type == "task_completed"):
        from_trail[done.payload["id"]].append(working.between(ready[done.payload["task"]].at, done.at))
    assert len(from_trail) >= 6  # views, commissioning, agencies, meeting, the school's form and its sign-off

    pm = SignedIn(1, "pm@demo.example", "Pat", "partnership_manager", None, partnership_id)
    period = f.Period(START.date(), START.date() + timedelta(days=60))
    found = dashboard.partnership_dashboard(runtime, pm, period)
    steps = {s.element_id: (s.count, s.median, s.p90) for s in found.steps}
    assert steps == {element: (len(times), f.nearest_rank(times, 50), f.nearest_rank(times, 90))
                     for element, times in from_trail.items()}
    assert {a.agency_id: {k: v for k, v in a.counts.items() if v} for a in found.agencies} == {
        "school": {f.RETURNED_ON_TIME: 1}, "gp": {f.NOT_RETURNED: 1}}
    # The process's own record of the returns says the same.
    assert [(e.payload.get("id"), e.payload.get("agency")) for e in events if e.type == "timer_fired"
            and e.payload.get("id") == "information_sharing_closed"] == [("information_sharing_closed", "gp")]
