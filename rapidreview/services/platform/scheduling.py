"""Stepping the cases whose time has come, with any number of schedulers sharing one database.

A case is due when its ``wake_at`` has passed: its next timer, the retry of a failed step, or the moment
the work a waiting task waited for was done. A scheduler claims one due case at a time, the longest due
first, with ``SELECT ... FOR UPDATE SKIP LOCKED``, and steps it in that same transaction while holding the
row lock: other schedulers skip the case, and once the step commits it is no longer due. Each due timer is
therefore fired by exactly one scheduler; and since the saved workflow records what fired, a second step
would fire nothing anyway. (SQLite ignores SKIP LOCKED; there the case's version column refuses the
second of two concurrent steps.)

A step that fails rolls back, leaving the case as it was, and is then recorded on the case: the error,
how many steps failed in a row and since when, with ``wake_at`` pushed back exponentially. It is retried
for as long as it fails, shown on the case page and by ``rapidreview status``; the next good step clears it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from rapidreview import clock
from rapidreview.mail.transports import Transport
from rapidreview.retry import doubling_delay
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.platform import audit, outbox
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, SchedulerHeartbeat

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=30)
FORGET_HEARTBEATS_AFTER = timedelta(days=7)


@dataclass
class Pass:
    """What one pass over the due cases did."""

    stepped: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    late_ms: list[int] = field(default_factory=list)  # of every timer fired
    next_wake_at: datetime | None = None  # the earliest case due after this pass


def advance_due_cases(rt: Runtime, *, actor: str = "scheduler", stop: threading.Event | None = None) -> Pass:
    """Step every case due now, the longest due first, and say when the next one falls due."""
    done = Pass()
    tried: set[int] = set()  # a case stepped in this pass is not stepped again in it, whatever happens
    now = clock.now()
    while stop is None or not stop.is_set():
        now = clock.now()
        if _step_next(rt, now, tried, actor, done) is None:
            break
    # Due cases left now are another scheduler's (locked) or tried already: only later ones count.
    done.next_wake_at = next_wake_after(rt, now)
    return done


def deliver_mail(rt: Runtime, transport: Transport, *, worker: str | None = None,
                 stop: threading.Event | None = None) -> list[outbox.Delivery]:
    """Send the due outbox messages, then step each case whose waiting service task can now complete (the
    National Panel e-mail accepted: the submission is done)."""
    worker = worker or outbox.default_worker()
    deliveries = outbox.deliver_due(rt, transport, worker=worker, stop=stop)
    for case_id in dict.fromkeys(d.woken_case_id for d in deliveries if d.woken_case_id is not None):
        advance_woken_case(rt, case_id, actor=f"outbox ({worker})")
    return deliveries


def advance_woken_case(rt: Runtime, case_id: int, *, actor: str) -> None:
    """Step one case if it is due and no scheduler has it (the outbox, when a waiting task can complete)."""
    _step_next(rt, clock.now(), set(), actor, Pass(), only=case_id)


def _step_next(rt: Runtime, now: datetime, tried: set[int], actor: str, done: Pass, only: int | None = None) -> int | None:
    """Claim and step the longest-due case; return its id, or None when no case is due."""
    case_id: int | None = None
    try:
        with transaction(rt.sessions) as session:
            case = _claim_due_case(session, now, tried, only)
            if case is None:
                return None
            case_id = case.id
            tried.add(case_id)
            failed_before, failing_since = case.engine_attempts, case.engine_failed_since
            result = cases.advance_locked_case(session, rt, case, actor=actor)
            done.late_ms.extend(int((now - t.due).total_seconds() * 1000) for t in result.fired_timers if t.due)
            if case.wake_at is not None and case.wake_at <= now:
                # The step went through but left the case due: never spin on it; treat it as a failure.
                case.engine_attempts, case.engine_failed_since = failed_before, failing_since
                _note_failure(session, case, f"the timer due at {case.wake_at.isoformat()} did not fire", now, actor)
                done.failed.append(case_id)
            else:
                done.stepped.append(case_id)
        return case_id
    except StaleDataError:  # SQLite: someone else stepped the case meanwhile, so it is done
        return case_id
    except Exception as exc:
        if case_id is None:
            raise
        log.exception("case %s: the step failed and will be retried", case_id)
        record_step_failure(rt, case_id, _describe(exc), actor=actor)
        done.failed.append(case_id)
        return case_id


def _claim_due_case(session: Session, now: datetime, tried: set[int], only: int | None) -> Case | None:
    query = select(Case).where(Case.wake_at <= now)
    if only is not None:
        query = query.where(Case.id == only)
    if tried:
        query = query.where(Case.id.not_in(tried))
    return session.scalars(query.order_by(Case.wake_at, Case.id).limit(1).with_for_update(skip_locked=True)).first()


def record_step_failure(rt: Runtime, case_id: int, error: str, *, actor: str) -> None:
    try:
        with transaction(rt.sessions) as session:
            case = session.get(Case, case_id, with_for_update=True)
            if case is not None:
                _note_failure(session, case, error, clock.now(), actor)
    except StaleDataError:  # SQLite: the case was stepped meanwhile; there is nothing to record
        pass


def _note_failure(session: Session, case: Case, error: str, now: datetime, actor: str) -> None:
    case.engine_attempts = (case.engine_attempts or 0) + 1
    case.engine_error = error
    case.engine_failed_since = case.engine_failed_since or now
    case.wake_at = now + retry_delay(case.engine_attempts)
    audit.record(session, case.id, "step_failed", actor=actor, error=error, attempts=case.engine_attempts,
                 retry_at=case.wake_at.isoformat())


def retry_delay(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... up to 30 minutes between attempts at a failing step."""
    return doubling_delay(attempts, FIRST_RETRY, LONGEST_RETRY)


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, cases.CaseError | cases.EngineError) else f"{type(exc).__name__}: {exc}"


def next_wake_after(rt: Runtime, moment: datetime) -> datetime | None:
    with transaction(rt.sessions) as session:
        return session.scalar(select(func.min(Case.wake_at)).where(Case.wake_at > moment))


# -- heartbeats: which schedulers run, and when each next wakes ------------------------------------------

def beat(rt: Runtime, name: str, *, mode: str, started_at: datetime, next_wake_at: datetime | None) -> None:
    now = clock.now()
    with transaction(rt.sessions) as session:
        row = session.get(SchedulerHeartbeat, name)
        if row is None:
            session.add(SchedulerHeartbeat(name=name, mode=mode, started_at=started_at, beat_at=now,
                                           next_wake_at=next_wake_at))
        else:
            row.mode, row.beat_at, row.next_wake_at, row.stopped_at = mode, now, next_wake_at, None
        session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at < now - FORGET_HEARTBEATS_AFTER))


def stopped(rt: Runtime, name: str) -> None:
    with transaction(rt.sessions) as session:
        row = session.get(SchedulerHeartbeat, name)
        if row is not None:
            row.stopped_at = row.beat_at = clock.now()
            row.next_wake_at = None


def heartbeats(session: Session) -> list[SchedulerHeartbeat]:
    return list(session.scalars(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc())))


@dataclass(frozen=True)
class CaseClock:
    """Where a case stands with the scheduler, without its workflow."""

    id: int
    reference: str
    next_timer_due: datetime | None
    wake_at: datetime | None
    engine_error: str | None
    engine_attempts: int
    engine_failed_since: datetime | None


def _case_clocks(session: Session, condition: Any, order: Any, limit: int) -> list[CaseClock]:
    rows = session.execute(select(Case.id, Case.reference, Case.next_timer_due, Case.wake_at, Case.engine_error,
                                  Case.engine_attempts, Case.engine_failed_since).where(condition).order_by(order).limit(limit))
    return [CaseClock(*row) for row in rows]


def overdue_timers(session: Session, now: datetime, grace: timedelta, limit: int = 50,
                   partnership_id: int | None = None) -> tuple[int, list[CaseClock]]:
    """How many cases (of one partnership, when given) have a timer that should have fired more than ``grace``
    ago; the most overdue."""
    condition = _of(Case.next_timer_due <= now - grace, partnership_id)
    return _count(session, condition), _case_clocks(session, condition, Case.next_timer_due, limit)


def failing_cases(session: Session, limit: int = 50, partnership_id: int | None = None) -> tuple[int, list[CaseClock]]:
    """How many cases (of one partnership, when given) have a failing automatic step (being retried); those
    failing longest."""
    condition = _of(Case.engine_error.is_not(None), partnership_id)
    return _count(session, condition), _case_clocks(session, condition, Case.engine_failed_since, limit)


def _of(condition: Any, partnership_id: int | None) -> Any:
    return condition if partnership_id is None else condition & (Case.partnership_id == partnership_id)


def _count(session: Session, condition: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Case).where(condition)) or 0)


def next_case_wake(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Case.wake_at)))
