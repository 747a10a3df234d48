"""Plain factory functions for tests, of two kinds:

- rows of cases and tasks with exactly the times a test needs, without running the process (for figures
  computed from rows, such as the dashboard's);
- a real case started through the services and driven on until a given task is ready (for tests of the process).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.calendar import WorkingCalendar, london_time
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, HumanTask, Partnership, ProcessVersion

CALENDAR = WorkingCalendar()


def partnership(session: Session, code: str, name: str | None = None) -> int:
    row = Partnership(code=code, name=name or f"{code.title()} Safeguarding Children Partnership", active=True)
    session.add(row)
    session.flush()
    return row.id


def default_partnership(session: Session) -> int:
    found = session.scalar(select(Partnership.id).where(Partnership.code == "default"))
    assert found is not None
    return found


def process_version(session: Session) -> int:
    """Any stored process version (cases must name one); a bare row when nothing is deployed."""
    found = session.scalar(select(ProcessVersion.id).order_by(ProcessVersion.id))
    if found is not None:
        return found
    row = ProcessVersion(number=1, process_id="rapid_review", sha256="0" * 64, deployed_by="test", active=False)
    session.add(row)
    session.flush()
    return row.id


def on_day(day_one: date, n: int, hhmm: str) -> datetime:
    """Day ``n`` of a case that started on ``day_one``, at ``hhmm`` London time."""
    return CALENDAR.day_at(day_one, n, hhmm)


def case(session: Session, partnership_id: int, reference: str, notified_on: date, *, status: str = "open",
         submitted_on_day: int | None = None, lcspr: bool | None = None) -> Case:
    """A case notified at 10:00 on ``notified_on``; submitted at 11:00 on the given day makes it 'submitted'."""
    notified_at = london_time(notified_on, "10:00")
    day_one = CALENDAR.day_one(notified_at)
    submitted_at = on_day(day_one, submitted_on_day, "11:00") if submitted_on_day else None
    row = Case(reference=reference, partnership_id=partnership_id, process_version_id=process_version(session),
               status="submitted" if submitted_at else status, notified_at=notified_at, day_one=day_one,
               deadline=CALENDAR.deadline_date(day_one), notification={}, workflow_json="{}",
               submitted_at=submitted_at, lcspr_recommended=lcspr, created_at=notified_at, updated_at=notified_at)
    session.add(row)
    session.flush()
    return row


def task(session: Session, of: Case, element_id: str, *, ready_at: datetime, completed_at: datetime | None = None,
         due_at: datetime | None = None, state: str | None = None, partner: str | None = None,
         agency: str | None = None, agency_name: str | None = None, name: str | None = None) -> HumanTask:
    """A task row as the step that made it ready (and the one that completed it) would have left it."""
    fields: dict[str, Any] = {"agency_id": agency, "agency_name": agency_name or (agency.title() if agency else None)}
    row = HumanTask(case_id=of.id, partnership_id=of.partnership_id, engine_task_id=str(uuid.uuid4()),
                    element_id=element_id, name=name or element_id.replace("_", " ").capitalize(),
                    process_id="rapid_review", lane=None, role=None, form=None, partner=partner,
                    state=state or ("completed" if completed_at else "ready"), due_at=due_at, created_at=ready_at,
                    completed_at=completed_at, **fields)
    session.add(row)
    session.flush()
    return row


# -- cases driven through the process ------------------------------------------------------------------

AGENCIES = [{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
             "manager_email": "head@oak.example"}]


def start_case(runtime: Runtime, reference: str = "RR-F-1", notified_at: datetime | None = None,
               agencies: list[dict[str, str]] | None = None, child: dict[str, Any] | None = None) -> int:
    notification = cases.Notification(
        reference=reference, notified_at=notified_at or clock.now(),
        child=child or {"name": "Child F", "date_of_birth": "2019-03-02", "sex": "female"},
        incident={"date": "2026-05-20", "summary": "Admitted to hospital with a head injury."},
        agencies=AGENCIES if agencies is None else agencies)
    return cases.start_case(runtime, notification, actor="test")


def ready_tasks(runtime: Runtime, case_id: int) -> list[HumanTask]:
    with transaction(runtime.sessions) as session:
        rows = cases.ready_tasks(session, case_id)
        session.expunge_all()
        return rows


def complete(runtime: Runtime, task: HumanTask, answers: dict[str, Any] | None = None, actor: str = "test") -> None:
    given = starting_answers(runtime, task.id, with_examples=True) | (answers or {})
    cases.complete_task(runtime, task.id, given, actor=actor)


def drive_until(runtime: Runtime, virtual_clock: clock.VirtualClock, case_id: int, element_id: str,
                answers: dict[str, dict[str, Any]] | None = None, partner: str | None = None) -> HumanTask:
    """Complete tasks with their example answers, and let time pass, until ``element_id`` is ready."""
    for _ in range(200):
        ready = ready_tasks(runtime, case_id)
        wanted = [t for t in ready if t.element_id == element_id and (partner is None or t.partner == partner)]
        if wanted:
            return wanted[0]
        if ready:
            complete(runtime, ready[0], (answers or {}).get(ready[0].element_id))
            continue
        with transaction(runtime.sessions) as session:
            due = session.get(Case, case_id).wake_at  # type: ignore[union-attr]
        assert due is not None, f"the case waits for nothing and {element_id} is not ready"
        virtual_clock.set(max(due, virtual_clock.now()))
        cases.advance_case(runtime, case_id, actor="test")
    raise AssertionError(f"{element_id} never became ready")
