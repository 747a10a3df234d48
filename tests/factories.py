"""Plain factory functions: rows of cases and tasks with exactly the times a test needs, without running the
process. (Tests of the process itself drive it through the services; these are for figures computed from rows.)"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview.calendar import WorkingCalendar, london_time
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
