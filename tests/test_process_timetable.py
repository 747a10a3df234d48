"""The seed's timetable, as the process keeps it: Day-1 work, the meeting's day, the draft before the meeting,
the comment window, reminders and alerts to the end."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from rapidreview import clock
from rapidreview.calendar import london_time, to_london
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.forms import FormAnswersError
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, OutboxMessage
from tests.factories import complete, drive_until, ready_tasks, start_case


def _local(when) -> str:  # type: ignore[no-untyped-def]
    return to_london(when).strftime("%Y-%m-%d %H:%M")


def test_day_one_work_is_due_at_five_on_day_one(deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    virtual_clock.set(london_time(date(2026, 5, 27), "10:00"))  # a Wednesday morning
    case_id = start_case(deployed)
    views = ready_tasks(deployed, case_id)
    assert {t.element_id for t in views} == {"record_criteria_view"}
    assert {_local(t.due_at) for t in views} == {"2026-05-27 17:00"}
    for task in views:
        complete(deployed, task)
    commission = ready_tasks(deployed, case_id)[0]
    assert commission.element_id == "commission_rapid_review" and _local(commission.due_at) == "2026-05-27 17:00"


def test_notified_late_on_the_friday_before_a_bank_holiday_the_day_one_work_is_due_at_noon_on_tuesday(
        deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    virtual_clock.set(london_time(date(2026, 5, 22), "16:45"))  # Friday; Monday 25 May is a bank holiday
    case_id = start_case(deployed, "RR-F-2")
    for _ in range(3):
        views = ready_tasks(deployed, case_id)
        assert {_local(t.due_at) for t in views} == {"2026-05-26 12:00"}
        complete(deployed, views[0])
    for element in ("commission_rapid_review", "share_agency_list", "schedule_rapid_review_meeting"):
        task = drive_until(deployed, virtual_clock, case_id, element)
        assert _local(task.due_at) == "2026-05-26 12:00", element


def test_the_meeting_defaults_to_day_8_at_2pm_and_cannot_be_after_day_15(
        deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    from rapidreview.services.casework.tasks import starting_answers

    case_id = start_case(deployed, "RR-F-3")  # Friday 22 May 2026, 09:00: Day 8 is Wednesday 3 June
    task = drive_until(deployed, virtual_clock, case_id, "schedule_rapid_review_meeting")
    answers = starting_answers(deployed, task.id, with_examples=False)
    assert (answers["meeting_date"], answers["meeting_time"]) == ("2026-06-03", "14:00")
    roles = {a["role"] for a in answers["attendees"]}
    assert {"Partnership Manager", "Local Authority lead", "Agency representative"} <= roles
    late = {**answers, "location": "Room 1", "meeting_date": "2026-06-15"}  # Day 16
    with pytest.raises(FormAnswersError) as refused:
        cases.complete_task(deployed, task.id, late, actor="pm@demo.example")
    assert any(e.field == "meeting_date" and "Day 15" in e.message for e in refused.value.errors)
    early = {**answers, "location": "Room 1", "meeting_date": "2026-05-27"}  # Day 4: a reason is needed
    with pytest.raises(FormAnswersError) as refused:
        cases.complete_task(deployed, task.id, early, actor="pm@demo.example")
    assert [e.field for e in refused.value.errors] == ["date_reason"]
    cases.complete_task(deployed, task.id, {**early, "date_reason": "The chair is away on Day 6 to 10"},
                        actor="pm@demo.example")


def test_the_draft_is_due_two_working_hours_before_the_meeting(deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = start_case(deployed, "RR-F-4")
    task = drive_until(deployed, virtual_clock, case_id, "prepare_draft_report",
                       answers={"schedule_rapid_review_meeting": {"meeting_date": "2026-06-03", "meeting_time": "10:00"}})
    assert _local(task.due_at) == "2026-06-02 16:00"  # an hour on the Wednesday, an hour on the Tuesday before


def test_the_comment_window_is_two_full_working_days(deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = start_case(deployed, "RR-F-5")
    drive_until(deployed, virtual_clock, case_id, "incorporate_comments")
    with transaction(deployed.sessions) as session:
        fired = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.type == "timer_fired",
                                                         AuditEvent.payload["id"].as_string() == "comment_window_closes")).one()
        circulated = session.scalars(select(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.type == "task_completed",
            AuditEvent.payload["id"].as_string() == "prepare_final_draft")).one()
    due = to_london(deployed.calendar.working_days_after(circulated.at, 2, "17:00"))
    assert fired.payload["due"] and to_london(datetime_of(fired.payload["due"])) == due
    assert due.hour == 17


def datetime_of(text: str):  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_each_lead_whose_sign_off_is_outstanding_is_reminded_on_day_14(deployed: Runtime,
                                                                       virtual_clock: clock.VirtualClock) -> None:
    case_id = start_case(deployed, "RR-F-6")
    la = drive_until(deployed, virtual_clock, case_id, "sign_off_final_report", partner="LA")
    complete(deployed, la, {"decision": "approve", "lcspr_recommendation_ratified": True}, actor="la.lead@demo.example")
    virtual_clock.set(deployed.calendar.day_at(date(2026, 5, 22), 14, "09:00") + timedelta(seconds=1))
    cases.advance_case(deployed, case_id)
    with transaction(deployed.sessions) as session:
        fired = [e.payload.get("partner") for e in session.scalars(select(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.type == "timer_fired",
            AuditEvent.payload["id"].as_string() == "sign_off_reminder"))]
        reminders = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id,
                                                                OutboxMessage.template == "sign_off_reminder")).all()
    assert sorted(fired) == ["ICB", "MPS"]
    assert sorted(m.to[0] for m in reminders) == ["icb.lead@icb.example", "police.lead@police.example"]
