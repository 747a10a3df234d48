"""A demonstration deployment moves a case to its next timed event from the case page; elsewhere the request
is refused, and other cases keep the real time."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case
from tests.factories import complete, ready_tasks, start_case
from tests.web.conftest import csrf_of, sign_in

PM, LA_LEAD = "pm@demo.example", "la.lead@demo.example"


def _move(client, reference: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/cases/{reference}").get_data(as_text=True)
    return client.post(f"/cases/{reference}/demo-clock", data={"csrf_token": csrf_of(page)})


def _case(runtime: Runtime, case_id: int) -> Case:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        session.expunge_all()
        return case  # type: ignore[return-value]


def test_a_demonstration_case_moves_to_its_next_timed_event_and_others_keep_the_real_time(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    app.config["DEMO_TIME_TRAVEL"] = True  # as in `make run`'s development configuration
    demo = start_case(runtime, "RR-DEMO-1")
    other = start_case(runtime, "RR-DEMO-2")
    for task in ready_tasks(runtime, demo):  # Day 1's work done, so the next event is a timer days away
        complete(runtime, task)
    for task in ready_tasks(runtime, demo):
        complete(runtime, task)

    pm = sign_in(app, PM)
    page = pm.get("/cases/RR-DEMO-1").get_data(as_text=True)
    assert 'id="demo-clock"' in page and "Go to Day " in page
    label = page.split("Go to ", 1)[1].split("<", 1)[0].strip()
    moved = _move(pm, "RR-DEMO-1")
    assert moved.status_code == 302
    case = _case(runtime, demo)
    assert case.clock_offset_s > 0 and case.wake_at is not None and case.wake_at > virtual_clock.now()
    with transaction(runtime.sessions) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.case_id == demo,
                                                         AuditEvent.type == "demo_clock_moved")).one()
        fired = session.scalars(select(AuditEvent).where(AuditEvent.case_id == demo,
                                                         AuditEvent.type == "timer_fired")).all()
    assert event.payload["label"] == label and event.actor == PM and fired
    day_before = _case(runtime, other).clock_offset_s
    assert day_before == 0  # the other case keeps the real time
    assert "Day <strong>1</strong> of 15" in pm.get("/cases/RR-DEMO-2").get_data(as_text=True)
    shown = pm.get("/cases/RR-DEMO-1").get_data(as_text=True)
    assert f"Day <strong>{label.split(',')[0].split()[1]}</strong> of 15" in shown

    # Only the Partnership Manager runs the demonstration.
    assert _move(sign_in(app, LA_LEAD), "RR-DEMO-1").status_code == 403


def test_outside_a_demonstration_deployment_moving_a_case_in_time_is_refused(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    assert not app.config["DEMO_TIME_TRAVEL"]
    case_id = start_case(runtime, "RR-REAL-1")
    pm = sign_in(app, PM)
    assert 'id="demo-clock"' not in pm.get("/cases/RR-REAL-1").get_data(as_text=True)
    refused = _move(pm, "RR-REAL-1")
    assert refused.status_code == 403 and "real clock" in refused.get_data(as_text=True)
    assert _case(runtime, case_id).clock_offset_s == 0


def test_only_the_development_configuration_moves_cases_in_time() -> None:
    from rapidreview.web.config import CONFIGS

    assert {name for name, config in CONFIGS.items() if config.DEMO_TIME_TRAVEL} == {"development"}
