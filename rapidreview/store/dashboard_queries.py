"""The dashboard's queries: narrow rows of one partnership's cases and task times, and deployment-wide counts.

Each query is scoped to a partnership (or, for the administrator's counts, returns counts only) and reads
columns, never whole rows: a case's workflow JSON and notification stay in the database. The cases come by
the partnership's index (``ix_cases_partnership``: partnership, notification time), their tasks by case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Date, DateTime, and_, case, func, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from rapidreview.calendar import to_london
from rapidreview.store.models import Case, HumanTask, Partnership

CHUNK = 1000  # case ids per IN list: well under any driver's limit on bound parameters


class CaseFacts(NamedTuple):
    # Named tuples, not dataclasses: a request builds thousands of these straight from result rows.
    id: int
    reference: str
    status: str
    notified_at: datetime
    day_one: date
    deadline: date
    submitted_at: datetime | None
    lcspr_recommended: bool | None


class TaskFacts(NamedTuple):
    """One user task's life as the task row (and the audit trail's task_ready / task_completed) records it."""

    case_id: int
    id: int
    element_id: str
    name: str
    partner: str | None
    agency_id: str | None
    agency_name: str | None
    state: str  # ready, completed, cancelled
    due_at: datetime | None
    ready_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class PartnershipCounts:
    partnership_id: int
    name: str
    cases: int
    open: int
    submitted: int
    on_time: int
    late: int  # submitted after the end of Day 15
    overdue: int  # open, and Day 15 has ended
    not_commissioned: int
    lcspr_recommended: int

    @property
    def rate(self) -> float | None:
        """On time among the reviews whose timeliness is settled (submitted, or open past Day 15)."""
        settled = self.submitted + self.overdue
        return self.on_time / settled if settled else None


class london_date(FunctionElement[date]):  # noqa: N801 - reads as the SQL function it stands for
    """The Europe/London date of a UTC timestamp column, in SQL: "by the end of Day 15" is a London date."""

    type = Date()
    name = "london_date"
    inherit_cache = True


@compiles(london_date, "postgresql")
def _london_date_postgresql(element: london_date, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} AT TIME ZONE 'Europe/London') AS DATE)"


@compiles(london_date)
def _london_date_other(element: london_date, compiler: Any, **kw: Any) -> str:
    # SQLite has no time zones: the function is registered on the connection by use_london_date().
    return f"london_date({compiler.process(element.clauses, **kw)})"


def _london_date_of_text(value: str | None) -> str | None:
    if value is None:
        return None
    when = datetime.fromisoformat(value)
    return to_london(when if when.tzinfo else when.replace(tzinfo=UTC)).date().isoformat()


def use_london_date(session: Session) -> None:
    """Make ``london_date`` callable in this session's SQL (PostgreSQL has it built in)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        raw: Any = connection.connection.driver_connection
        raw.create_function("london_date", 1, _london_date_of_text, deterministic=True)


def _instant(session: Session, column: Any) -> Any:
    """A timestamp column read as the driver gives it. psycopg already hands out aware datetimes, so the
    model's UTCDateTime conversion (thousands of calls a request) is skipped there; SQLite needs it."""
    return type_coerce(column, DateTime(timezone=True)) if _dialect(session) == "postgresql" else column


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _rows(session: Session, statement: Any) -> Any:
    # Core, not the ORM's loading: these are plain tuples, and the ORM's per-row machinery costs more than the SQL.
    return session.connection().execute(statement)


def _case_columns(session: Session) -> tuple[Any, ...]:
    return (Case.id, Case.reference, Case.status, _instant(session, Case.notified_at), Case.day_one, Case.deadline,
            _instant(session, Case.submitted_at), Case.lcspr_recommended)


def cases_notified_between(session: Session, partnership_id: int, start: datetime, end: datetime) -> list[CaseFacts]:
    """The partnership's cases notified in [start, end), oldest first."""
    rows = _rows(session, select(*_case_columns(session)).where(
        Case.partnership_id == partnership_id, Case.notified_at >= start, Case.notified_at < end,
    ).order_by(Case.notified_at, Case.id))
    return list(map(CaseFacts._make, rows))


def open_cases_of(session: Session, partnership_id: int) -> list[CaseFacts]:
    """The partnership's open cases, whenever they were notified, by deadline."""
    rows = _rows(session, select(*_case_columns(session)).where(
        Case.partnership_id == partnership_id, Case.status == "open",
    ).order_by(Case.deadline, Case.notified_at, Case.id))
    return list(map(CaseFacts._make, rows))


def task_times_of_cases(session: Session, partnership_id: int, case_ids: Iterable[int]) -> list[TaskFacts]:
    """Every user task of these cases (of this partnership only), in the order they became ready."""
    ids = sorted(set(case_ids))
    columns = (HumanTask.case_id, HumanTask.id, HumanTask.element_id, HumanTask.name, HumanTask.partner,
               HumanTask.agency_id, HumanTask.agency_name, HumanTask.state, _instant(session, HumanTask.due_at),
               _instant(session, HumanTask.created_at), _instant(session, HumanTask.completed_at))
    found: list[TaskFacts] = []
    for at in range(0, len(ids), CHUNK):
        found += map(TaskFacts._make, _rows(session, select(*columns).where(
            HumanTask.case_id.in_(ids[at:at + CHUNK]), HumanTask.partnership_id == partnership_id)))
    found.sort(key=lambda t: (t.case_id, t.ready_at, t.id))
    return found


def case_counts_by_partnership(session: Session, start: datetime, end: datetime, today: date) -> list[PartnershipCounts]:
    """For every partnership, counts of its cases notified in [start, end): numbers only, never a case."""
    use_london_date(session)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    submitted = Case.status == "submitted"
    in_time = london_date(Case.submitted_at) <= Case.deadline
    rows = session.execute(
        # count(notified_at), not count(id): every column read is in ix_cases_outcomes, so no case row is read.
        select(Partnership.id, Partnership.name, func.count(Case.notified_at), count(Case.status == "open"),
               count(submitted), count(and_(submitted, in_time)), count(and_(submitted, ~in_time)),
               count(and_(Case.status == "open", Case.deadline < today)), count(Case.status == "not_commissioned"),
               count(Case.lcspr_recommended.is_(True)))
        .select_from(Partnership)
        .outerjoin(Case, and_(Case.partnership_id == Partnership.id, Case.notified_at >= start, Case.notified_at < end))
        .group_by(Partnership.id, Partnership.name)
        .order_by(Partnership.name, Partnership.id))
    return [PartnershipCounts(row[0], row[1], *(int(v) for v in row[2:])) for row in rows]
