"""Trying a case in minutes: a demonstration deployment moves one case to its next timed event.

Each case may run ahead of the real clock by its own offset (``cases.clock_offset_s``). "Go to Day 8, 14:00"
adds to the offset what separates the case's time from its next timer and steps the case there, so its timers
fire, its tasks fall due or overdue and its e-mails go as they would have on that day; other cases keep the
real time. Only a deployment configured for demonstrations offers it (``DEMO_TIME_TRAVEL``, on in
``make run``'s development configuration); elsewhere the request is refused, not merely hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from rapidreview import clock
from rapidreview.calendar import to_london
from rapidreview.errors import NotAllowed, NotFound
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.people import policy
from rapidreview.services.people.users import SignedIn
from rapidreview.services.platform import audit
from rapidreview.services.reading.case_views import own_case
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, HumanTask


class TimeTravelRefused(NotAllowed):
    """Moving the case's clock is not allowed here; the message says why."""


@dataclass(frozen=True)
class NextEvent:
    at: datetime  # in the case's own time
    label: str  # "Day 8, 14:00: Meeting time"


def offset_of(rt: Runtime, *, reference: str | None = None, task_id: int | None = None) -> timedelta:
    """How far ahead the case of a page runs (zero for every case not moved)."""
    query = select(Case.clock_offset_s)
    if reference is not None:
        query = query.where(Case.reference == reference)
    elif task_id is not None:
        query = query.join(HumanTask, HumanTask.case_id == Case.id).where(HumanTask.id == task_id)
    else:
        return timedelta(0)
    with transaction(rt.sessions) as session:
        seconds = session.scalar(query.limit(1))
    return timedelta(seconds=seconds or 0)


def next_event(rt: Runtime, case: Case) -> NextEvent | None:
    """The case's next timer, as the button names it."""
    if case.status != cases.OPEN:
        return None
    waiting = sorted(rt.restore(case).waiting_timers(), key=lambda item: item[1])
    if not waiting:
        return None
    element_id, when = waiting[0]
    day = rt.calendar.case_day(case.day_one, when)
    name = rt.restore(case).element_name(element_id) or element_id
    return NextEvent(when, f"Day {day}, {to_london(when).strftime('%H:%M')}: {name}")


def offer(rt: Runtime, user: SignedIn, reference: str) -> NextEvent | None:
    """What the case page offers this person, or None."""
    if not policy.may_move_demo_clock(user):
        return None
    with transaction(rt.sessions) as session:
        case = own_case(session, user, reference)
        return next_event(rt, case) if case is not None else None


def go_to_next(rt: Runtime, user: SignedIn, reference: str, *, enabled: bool) -> NextEvent:
    """Move the case to its next timed event and step it there; refused unless enabled and for a mover."""
    if not enabled:
        raise TimeTravelRefused("This service runs on the real clock: moving a case in time is only for "
                                "demonstration deployments.")
    if not policy.may_move_demo_clock(user):
        raise TimeTravelRefused("Only the Partnership Manager can move a demonstration case in time.")
    with transaction(rt.sessions) as session:
        case = own_case(session, user, reference)
        if case is None:
            raise NotFound(reference)
        session.refresh(case, with_for_update=True)
        event = next_event(rt, case)
        if event is None:
            raise TimeTravelRefused("The case waits for no timed event: there is nothing to move to.")
        real_now = clock.now() - clock.shift()
        offset = max(timedelta(seconds=case.clock_offset_s), event.at - real_now)
        previous = case.clock_offset_s
        case.clock_offset_s = int(offset.total_seconds()) + (1 if offset % timedelta(seconds=1) else 0)
        audit.record(session, case.id, "demo_clock_moved", actor=user.email, to=event.at.isoformat(),
                     label=event.label, offset_s=case.clock_offset_s, previous_offset_s=previous)
        cases.advance_locked_case(session, rt, case, actor=user.email)
    return event
