"""The Partnership Manager moves or cancels the Rapid Review Meeting from the case page: the BPMN waits for the
change (a message event with a form), everyone invited hears of it, and the case waits for the new time."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rapidreview import clock
from rapidreview.calendar import to_london
from rapidreview.runtime import Runtime
from rapidreview.services.casework import case_actions, cases
from rapidreview.services.casework.forms import FormAnswersError
from rapidreview.services.people.users import get_user
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, OutboxMessage, User
from tests.factories import drive_until, start_case

CHANGE = "meeting_change_requested"


def _person(runtime: Runtime, email: str):  # type: ignore[no-untyped-def]
    with transaction(runtime.sessions) as session:
        return get_user(session, session.scalars(select(User.id).where(User.email == email)).one())


def _meeting_mail(runtime: Runtime, case_id: int) -> list[OutboxMessage]:
    with transaction(runtime.sessions) as session:
        rows = list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.case_id == case_id, OutboxMessage.purpose == "meeting_invitation").order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def _arranged(runtime: Runtime, virtual_clock: clock.VirtualClock) -> tuple[int, str]:
    from tests.factories import complete

    case_id = start_case(runtime, "RR-M-1")
    complete(runtime, drive_until(runtime, virtual_clock, case_id, "schedule_rapid_review_meeting"), actor="pm@demo.example")
    with transaction(runtime.sessions) as session:
        return case_id, session.get(Case, case_id).reference  # type: ignore[union-attr]


def test_only_the_partnership_manager_may_move_the_meeting(deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    _case_id, reference = _arranged(deployed, virtual_clock)
    pm, lead = _person(deployed, "pm@demo.example"), _person(deployed, "la.lead@demo.example")
    assert [a.element_id for a in case_actions.available(deployed, pm, reference)] == [CHANGE]
    assert case_actions.available(deployed, lead, reference) == []
    with pytest.raises(LookupError):
        case_actions.send(deployed, lead, reference, CHANGE, {"action": "cancel", "reason": "x"})


def test_moving_the_meeting_updates_the_same_invitation_and_the_case_waits_for_the_new_time(
        deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id, reference = _arranged(deployed, virtual_clock)
    pm = _person(deployed, "pm@demo.example")
    case_actions.send(deployed, pm, reference, CHANGE, {"action": "move", "meeting_date": "2026-06-04",
                                                        "meeting_time": "11:00", "reason": "The chair is unwell."})
    first, update = _meeting_mail(deployed, case_id)
    assert update.template == "meeting_update" and update.calendar["uid"] == first.calendar["uid"]  # type: ignore[index]
    assert update.calendar["sequence"] == first.calendar["sequence"] + 1  # type: ignore[index]
    # The case now waits for the new time: the outcome task opens after 11:00 on 4 June, not at 14:00 on 3 June.
    task = drive_until(deployed, virtual_clock, case_id, "record_meeting_outcomes")
    assert to_london(clock.now()).strftime("%Y-%m-%d %H:%M") >= "2026-06-04 11:00"
    with transaction(deployed.sessions) as session:
        data = cases.ready_tasks(session, case_id)
    assert task.id in {t.id for t in data}


def test_a_meeting_moved_past_day_15_is_refused_and_nothing_changes(deployed: Runtime,
                                                                    virtual_clock: clock.VirtualClock) -> None:
    case_id, reference = _arranged(deployed, virtual_clock)
    before = len(_meeting_mail(deployed, case_id))
    with pytest.raises(FormAnswersError) as refused:
        case_actions.send(deployed, _person(deployed, "pm@demo.example"), reference, CHANGE,
                          {"action": "move", "meeting_date": "2026-06-30", "meeting_time": "10:00", "reason": "Holidays"})
    assert any(e.field == "meeting_date" and "Day 15" in e.message for e in refused.value.errors)
    assert len(_meeting_mail(deployed, case_id)) == before


def test_cancelling_the_meeting_tells_everyone_and_asks_the_partnership_manager_to_arrange_it_again(
        deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id, reference = _arranged(deployed, virtual_clock)
    case_actions.send(deployed, _person(deployed, "pm@demo.example"), reference, CHANGE,
                      {"action": "cancel", "reason": "The family's solicitor asked for a later date."})
    mails = _meeting_mail(deployed, case_id)
    assert mails[-1].template == "meeting_cancellation" and mails[-1].calendar["cancel"]  # type: ignore[index]
    assert case_actions.available(deployed, _person(deployed, "pm@demo.example"), reference) == []
    again = drive_until(deployed, virtual_clock, case_id, "reschedule_rapid_review_meeting")
    assert again.role == "partnership_manager"
    from tests.factories import complete

    complete(deployed, again, {"meeting_date": "2026-06-05", "meeting_time": "10:00", "location": "Room 2"},
             actor="pm@demo.example")
    newest = _meeting_mail(deployed, case_id)[-1]
    assert newest.template == "meeting_invitation" and newest.calendar["uid"] != mails[0].calendar["uid"]  # type: ignore[index]
