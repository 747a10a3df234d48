"""How a partnership's Rapid Reviews go: the dashboard, its exports, and the administrator's counts.

One transaction per call reads narrow rows of one partnership (its cases notified in the period, its open
cases, their task times); the figures are worked out in ``dashboard_figures``. The administrator gets
counts per partnership from one aggregate query and never a case.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.calendar import to_london
from rapidreview.errors import NotAllowed
from rapidreview.runtime import Runtime
from rapidreview.services.people import partnerships, policy
from rapidreview.services.people.users import SignedIn
from rapidreview.services.platform import audit
from rapidreview.services.reading import dashboard_figures as figures
from rapidreview.services.reading.dashboard_figures import Period
from rapidreview.store.dashboard_queries import (
    CaseFacts,
    PartnershipCounts,
    TaskFacts,
    case_counts_by_partnership,
    cases_notified_between,
    open_cases_of,
    task_times_of_cases,
)
from rapidreview.store.db import transaction

# Who sees their partnership's dashboard: the Partnership Manager, the Independent Chair and the three leads.


class NotPermitted(NotAllowed):
    """The person's role may not see these figures (the views' access rules say the same)."""


@dataclass(frozen=True)
class CaseLine:
    """One case as the per-case export shows it: no child's details, only the review's course."""

    reference: str
    notified_at: datetime
    day_one: date
    deadline: date
    status: str
    outcome: str
    submitted_at: datetime | None
    submitted_on_day: int | None
    lcspr_recommended: bool | None
    agency_returns: dict[str, int]
    slipped: figures.Step | None


@dataclass(frozen=True)
class Dashboard:
    partnership: str
    period: Period
    generated_at: datetime
    on_time: figures.OnTime
    quarters: list[figures.Quarter]
    days_to_submission: figures.DaysToSubmission
    steps: list[figures.StepTime]
    agencies: list[figures.AgencyReturns]
    lcspr: figures.Lcspr
    open_cases: list[figures.OpenCase]
    late_cases: list[figures.LateCase]
    cases: list[CaseLine]


def default_period(today: date | None = None) -> Period:
    """The last 12 months, today included."""
    today = today or to_london(clock.now()).date()
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        year_ago = today.replace(year=today.year - 1, day=28)
    return Period(year_ago + timedelta(days=1), today)


def partnership_dashboard(rt: Runtime, user: SignedIn, period: Period) -> Dashboard:
    """The person's partnership's figures for cases notified in ``period``, and its cases open now."""
    with transaction(rt.sessions) as session:
        return _read(rt, session, user, period)


def export_dashboard(rt: Runtime, user: SignedIn, period: Period, what: str) -> Dashboard:
    """The dashboard for an export, recorded in the audit trail: an export lists the partnership's cases."""
    with transaction(rt.sessions) as session:
        dashboard = _read(rt, session, user, period)
        audit.record(session, None, "statistics_exported", actor=user.email, partnership=user.partnership_id,
                     what=what, start=period.start.isoformat(), end=period.end.isoformat(),
                     cases=len(dashboard.cases))
        return dashboard


def _read(rt: Runtime, session: Session, user: SignedIn, period: Period) -> Dashboard:
    if not policy.may_read_dashboard(user):
        raise NotPermitted("the dashboard is for the Partnership Manager, the chair and the partner leads")
    now = clock.now()
    name = partnerships.display_name(rt, session, user.partnership_id)
    in_period = cases_notified_between(session, user.partnership_id, *period.utc_bounds())
    open_now = open_cases_of(session, user.partnership_id)
    tasks = task_times_of_cases(session, user.partnership_id, [c.id for c in (*in_period, *open_now)])
    return _figures(rt, name, period, now, in_period, open_now, tasks)


def _figures(rt: Runtime, name: str, period: Period, now: datetime, in_period: list[CaseFacts],
             open_now: list[CaseFacts], tasks: list[TaskFacts]) -> Dashboard:
    days = figures.WorkingDays(rt.calendar)
    outcomes = {c.id: figures.outcome(c, now) for c in in_period}
    period_ids = set(outcomes)
    tasks_by_case: dict[int, list[TaskFacts]] = defaultdict(list)
    for task in tasks:
        tasks_by_case[task.case_id].append(task)
    in_period_tasks = [t for t in tasks if t.case_id in period_ids]
    agencies, returns_by_case = figures.agency_returns(in_period_tasks)
    slipped = {c.id: figures.slipped_step(days, c, tasks_by_case.get(c.id, []), now) for c in in_period
               if outcomes[c.id] in (figures.LATE, figures.OVERDUE)}
    lines = [CaseLine(c.reference, c.notified_at, c.day_one, c.deadline, c.status, outcomes[c.id], c.submitted_at,
                      days.case_day(c.day_one, c.submitted_at) if c.submitted_at else None, c.lcspr_recommended,
                      returns_by_case.get(c.id, dict.fromkeys(figures.RETURN_LABELS, 0)), slipped.get(c.id))
             for c in in_period]
    return Dashboard(
        partnership=name, period=period, generated_at=now,
        on_time=figures.on_time_counts(outcomes.values()),
        quarters=figures.by_quarter(period, in_period, outcomes),
        days_to_submission=figures.days_to_submission(days, in_period),
        steps=figures.step_times(days, in_period_tasks),
        agencies=agencies,
        lcspr=figures.lcspr(in_period),
        open_cases=figures.open_case_rows(days, open_now, tasks_by_case, now),
        late_cases=figures.late_case_rows(days, in_period, outcomes, slipped, now),
        cases=lines,
    )


def partnership_counts(rt: Runtime, user: SignedIn, period: Period) -> list[PartnershipCounts]:
    """The administrator's view: for every partnership, counts of its cases notified in the period."""
    if not policy.may_read_partnership_counts(user):
        raise NotPermitted("counts across partnerships are for administrators")
    with transaction(rt.sessions) as session:
        return case_counts_by_partnership(session, *period.utc_bounds(), to_london(clock.now()).date())
