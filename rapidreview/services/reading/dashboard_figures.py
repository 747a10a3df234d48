"""The dashboard's figures, worked out from plain rows of cases and task times. No database, no clock here:
the caller passes both in, so every rule below can be tested with a handful of hand-made rows.

The rules (also on the page, under "How these figures are worked out"):
- A review is **on time** when it was submitted to the National Panel by the end of Day 15 (its deadline,
  London time); **late** when submitted after; **overdue** when still open after Day 15 ended (it can no
  longer be on time, so it counts against the rate). Reviews **not commissioned** (the partners decided the
  criteria were not met) have no Day 15 submission and are counted apart. Open reviews within their 15 days
  are **in progress** and not yet in the rate.
- **Working days** elapsed between two moments leave out weekends, bank holidays and closures: Friday 16:00
  to Monday 10:00 is 18 hours of working days, 0.75.
- **Median** and **90th percentile** are nearest-rank: half (nine in ten) of the values are at or below them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from rapidreview.calendar import LONDON, WorkingCalendar, london_time, to_london
from rapidreview.process_contract import (
    AGENCY_LIST_TASK,
    CHAIR_CONSULTATION_TASK,
    COMMISSION_TASK,
    CRITERIA_VIEW_TASK,
    DRAFT_TASK,
    FINAL_DRAFT_TASK,
    INCORPORATE_COMMENTS_TASK,
    INFORMATION_QA_TASK,
    INFORMATION_SHARING_TASK,
    MEETING_OUTCOMES_TASK,
    MEETING_TASK,
    SIGN_OFF_TASK,
    SUBMISSION_TASK,
)
from rapidreview.services.people.roles import PARTNER_NAMES
from rapidreview.store.dashboard_queries import CaseFacts, TaskFacts

# The process's user tasks in the order a review meets them (element ids: the contract in docs/process-model.md).
# A step a process owner adds later is listed after these, in the order it first became ready.
STEP_ORDER = (
    CRITERIA_VIEW_TASK, CHAIR_CONSULTATION_TASK, COMMISSION_TASK, AGENCY_LIST_TASK,
    MEETING_TASK, INFORMATION_SHARING_TASK, INFORMATION_QA_TASK,
    DRAFT_TASK, MEETING_OUTCOMES_TASK, FINAL_DRAFT_TASK, INCORPORATE_COMMENTS_TASK,
    SIGN_OFF_TASK, SUBMISSION_TASK,
)
INFORMATION_SHARING_TASKS = (INFORMATION_SHARING_TASK, INFORMATION_QA_TASK)
SIGN_OFF_OF_THE_FORM = INFORMATION_QA_TASK  # its approval ends the agency's window

ON_TIME, LATE, OVERDUE, IN_PROGRESS, NOT_COMMISSIONED = "on_time", "late", "overdue", "in_progress", "not_commissioned"
OUTCOME_LABELS = {ON_TIME: "On time", LATE: "Late", OVERDUE: "Overdue (not submitted)", IN_PROGRESS: "In progress",
                  NOT_COMMISSIONED: "Not commissioned"}
RETURNED_ON_TIME, RETURNED_LATE, NOT_RETURNED, NOT_KNOWN = "on_time", "late", "not_returned", "not_known"
RETURN_LABELS = {RETURNED_ON_TIME: "Returned on time", RETURNED_LATE: "Returned late", NOT_RETURNED: "Not returned",
                 NOT_KNOWN: "Not known"}
DAY_BINS_FROM, DAY_BINS_TO = 10, 20  # days to submission: "10 or fewer", 11 ... 20, "21 or more"


@dataclass(frozen=True)
class Period:
    """Cases notified from ``start`` to ``end``, both London dates, both included."""

    start: date
    end: date

    def utc_bounds(self) -> tuple[datetime, datetime]:
        return london_time(self.start, "00:00"), london_time(self.end + timedelta(days=1), "00:00")

    def contains(self, when: datetime) -> bool:
        return self.start <= to_london(when).date() <= self.end

    @property
    def label(self) -> str:
        return f"{self.start.strftime('%-d %B %Y')} to {self.end.strftime('%-d %B %Y')}"


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The smallest value with at least ``percent``% of the values at or below it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


class WorkingDays:
    """The calendar's day arithmetic, memoised for one request: elapsed working time between two moments (only
    time on working days, London, counts, 24 hours a day) and case day numbers as ``WorkingCalendar.case_day``
    gives them. Each date's place on the working-day line is worked out once (a request measures thousands of
    tasks over a few hundred dates).
    """

    def __init__(self, calendar: WorkingCalendar) -> None:
        self._calendar = calendar
        self._first: date | None = None
        self._before: list[int] = []  # working days from _first up to (not including) _first + i
        self._dates: dict[date, tuple[int, bool]] = {}

    def _working_days_before(self, day: date) -> int:
        if self._first is None or day < self._first:
            self._first, self._before, self._dates = day - timedelta(days=7), [0], {}
        index = (day - self._first).days
        while len(self._before) <= index:
            last = self._first + timedelta(days=len(self._before) - 1)
            self._before.append(self._before[-1] + (1 if self._calendar.is_working_day(last) else 0))
        return self._before[index]

    def _date(self, day: date) -> tuple[int, bool]:
        """Working seconds before the date (from the table's first), and whether it is a working day."""
        found = self._dates.get(day)
        if found is None:
            found = self._dates[day] = (self._working_days_before(day) * 86400, self._calendar.is_working_day(day))
        return found

    def case_day(self, day_one: date, when: datetime | date) -> int:
        """Which day of the review ``when`` falls on: ``WorkingCalendar.case_day``, in two look-ups."""
        end = to_london(when).date() if isinstance(when, datetime) else when
        if end < day_one:
            return 0
        self._working_days_before(day_one)
        return self._working_days_before(end + timedelta(days=1)) - self._working_days_before(day_one)

    def between(self, start: datetime, end: datetime) -> float:
        """Working days from ``start`` to ``end`` (whole seconds stay exact: positions are counted in seconds)."""
        first, last = start.astimezone(LONDON), end.astimezone(LONDON)
        first_day, last_day = first.date(), last.date()
        if self._first is None or first_day < self._first or last_day < self._first:
            # An earlier date than the table holds rebuilds it: before either position, so both share one table.
            self._working_days_before(min(first_day, last_day))
        # A closed day adds nothing: its every moment sits where the next working day starts.
        before, working = self._date(first_day)
        start_at = before + (first.hour * 3600 + first.minute * 60 + first.second if working else 0)
        before, working = self._date(last_day)
        end_at = before + (last.hour * 3600 + last.minute * 60 + last.second if working else 0)
        return max(0, end_at - start_at) / 86400


def outcome(case: CaseFacts, now: datetime) -> str:
    if case.status == "not_commissioned":
        return NOT_COMMISSIONED
    if case.submitted_at is not None:
        return ON_TIME if to_london(case.submitted_at).date() <= case.deadline else LATE
    return OVERDUE if to_london(now).date() > case.deadline else IN_PROGRESS


@dataclass(frozen=True)
class OnTime:
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    in_progress: int = 0
    not_commissioned: int = 0

    @property
    def decided(self) -> int:
        """Reviews whose timeliness is settled: submitted, or past Day 15 without a submission."""
        return self.on_time + self.late + self.overdue

    @property
    def rate(self) -> float | None:
        return self.on_time / self.decided if self.decided else None

    @property
    def total(self) -> int:
        return self.decided + self.in_progress + self.not_commissioned


def on_time_counts(outcomes: Iterable[str]) -> OnTime:
    counts: dict[str, int] = defaultdict(int)
    for found in outcomes:
        counts[found] += 1
    return OnTime(counts[ON_TIME], counts[LATE], counts[OVERDUE], counts[IN_PROGRESS], counts[NOT_COMMISSIONED])


@dataclass(frozen=True)
class Quarter:
    label: str
    start: date
    end: date
    partial: bool  # the period covers only part of it
    counts: OnTime


def quarters_of(period: Period) -> list[tuple[date, date]]:
    """Calendar quarters (Jan-Mar, Apr-Jun, ...: a financial year's too) that the period touches."""
    found = []
    first = date(period.start.year, 3 * ((period.start.month - 1) // 3) + 1, 1)
    while first <= period.end:
        after = date(first.year + (first.month + 3 > 12), (first.month + 2) % 12 + 1, 1)
        found.append((first, after - timedelta(days=1)))
        first = after
    return found


def by_quarter(period: Period, cases: Sequence[CaseFacts], outcomes: dict[int, str]) -> list[Quarter]:
    result = []
    for first, last in quarters_of(period):
        inside = [outcomes[c.id] for c in cases if first <= to_london(c.notified_at).date() <= last]
        label = f"{first.strftime('%b')} to {last.strftime('%b %Y')}"
        partial = first < period.start or last > period.end
        result.append(Quarter(label, first, last, partial, on_time_counts(inside)))
    return result


@dataclass(frozen=True)
class DaysToSubmission:
    bins: list[tuple[str, int, int]]  # (label, count, the highest day it holds: for the Day 15 line)
    count: int
    median: float | None
    p90: float | None
    on_or_before_day_15: int


def days_to_submission(days: WorkingDays, cases: Sequence[CaseFacts]) -> DaysToSubmission:
    found = [days.case_day(c.day_one, c.submitted_at) for c in cases if c.submitted_at is not None]
    bins = [(f"{DAY_BINS_FROM} or fewer", sum(1 for d in found if d <= DAY_BINS_FROM), DAY_BINS_FROM)]
    bins += [(str(n), found.count(n), n) for n in range(DAY_BINS_FROM + 1, DAY_BINS_TO + 1)]
    bins.append((f"{DAY_BINS_TO + 1} or more", sum(1 for d in found if d > DAY_BINS_TO), DAY_BINS_TO + 1))
    return DaysToSubmission(bins, len(found), nearest_rank(found, 50), nearest_rank(found, 90),
                            sum(1 for d in found if d <= 15))


@dataclass(frozen=True)
class StepTime:
    element_id: str
    name: str
    count: int  # completed tasks measured (each instance and each round of a step counts once)
    median: float | None
    p90: float | None
    after_due: int  # of those, completed after their due time


def step_times(working: WorkingDays, tasks: Iterable[TaskFacts]) -> list[StepTime]:
    durations: dict[str, list[float]] = defaultdict(list)
    late: dict[str, int] = defaultdict(int)
    names: dict[str, str] = {}
    first_seen: dict[str, datetime] = {}
    between = working.between  # thousands of calls a request: looked up once
    for task in tasks:
        completed_at = task.completed_at
        if completed_at is None or task.state != "completed":
            continue
        element = task.element_id
        durations[element].append(between(task.ready_at, completed_at))
        if task.due_at is not None and completed_at > task.due_at:
            late[element] += 1
        if element not in names:
            names[element], first_seen[element] = task.name, task.ready_at
        elif task.ready_at < first_seen[element]:
            first_seen[element] = task.ready_at

    def order(element_id: str) -> tuple[int, datetime]:
        known = STEP_ORDER.index(element_id) if element_id in STEP_ORDER else len(STEP_ORDER)
        return known, first_seen[element_id]

    return [StepTime(e, names[e], len(durations[e]), nearest_rank(durations[e], 50), nearest_rank(durations[e], 90),
                     late[e]) for e in sorted(durations, key=order)]


def agency_return(tasks: Sequence[TaskFacts]) -> str:
    """How one agency's information sharing in one case ended, from its form tasks (oldest first).

    The manager's approval ends the window (a return to the practitioner opens a new form task), and the
    Day 8 09:00 timer cancels whatever is still open ("not returned"). So the latest task tells.
    """
    last = max(tasks, key=lambda t: (t.ready_at, t.id))
    if last.element_id == SIGN_OFF_OF_THE_FORM and last.state == "completed" and last.completed_at is not None:
        return RETURNED_LATE if last.due_at is not None and last.completed_at > last.due_at else RETURNED_ON_TIME
    if last.state == "cancelled":
        return NOT_RETURNED
    return NOT_KNOWN  # still awaited, or the record does not show how it ended


@dataclass
class AgencyReturns:
    agency_id: str
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RETURN_LABELS, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def agency_returns(tasks: Iterable[TaskFacts]) -> tuple[list[AgencyReturns], dict[int, dict[str, int]]]:
    """Returns by agency (by name), and each case's counts by outcome (for the one-row-per-case export)."""
    per_case_agency: dict[tuple[int, str], list[TaskFacts]] = defaultdict(list)
    for task in tasks:
        if task.element_id in INFORMATION_SHARING_TASKS and task.agency_id:
            per_case_agency[(task.case_id, task.agency_id)].append(task)
    agencies: dict[str, AgencyReturns] = {}
    per_case: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(RETURN_LABELS, 0))
    for (case_id, agency_id), own in per_case_agency.items():
        found = agency_return(own)
        name = next((t.agency_name for t in reversed(own) if t.agency_name), agency_id)
        row = agencies.setdefault(agency_id, AgencyReturns(agency_id, name))
        row.counts[found] += 1
        per_case[case_id][found] += 1
    return sorted(agencies.values(), key=lambda a: (a.name.lower(), a.agency_id)), dict(per_case)


@dataclass(frozen=True)
class Lcspr:
    recommended: int
    not_recommended: int
    awaiting: int  # commissioned reviews whose meeting outcome is not yet recorded

    @property
    def decided(self) -> int:
        return self.recommended + self.not_recommended

    @property
    def share(self) -> float | None:
        return self.recommended / self.decided if self.decided else None


def lcspr(cases: Iterable[CaseFacts]) -> Lcspr:
    commissioned = [c for c in cases if c.status != "not_commissioned"]
    yes = sum(1 for c in commissioned if c.lcspr_recommended is True)
    no = sum(1 for c in commissioned if c.lcspr_recommended is False)
    return Lcspr(yes, no, len(commissioned) - yes - no)


def who(task: TaskFacts) -> str:
    """The partner or agency a task is for, in words ("" when it is the whole partnership's)."""
    if task.partner:
        return PARTNER_NAMES.get(task.partner, task.partner)
    return task.agency_name or task.agency_id or ""


@dataclass(frozen=True)
class Step:
    """A task as a case's row shows it: the step, whose it is, when it was due and on which day."""

    name: str
    who: str
    due_at: datetime | None
    due_day: int | None
    done_day: int | None  # the day it was completed; None while it is open


@dataclass(frozen=True)
class OpenCase:
    reference: str
    day_one: date
    day: int  # today is Day N
    deadline: date
    next_step: Step | None  # the open task due soonest
    overdue_steps: int  # open tasks past their due time


def open_case_rows(days: WorkingDays, cases: Sequence[CaseFacts], tasks_by_case: dict[int, list[TaskFacts]],
                   now: datetime) -> list[OpenCase]:
    rows = []
    for case in cases:
        ready = [t for t in tasks_by_case.get(case.id, []) if t.state == "ready"]
        due = sorted((t for t in ready if t.due_at is not None), key=lambda t: (t.due_at, t.id))
        step = _step(days, case, due[0]) if due else None
        overdue = sum(1 for t in due if t.due_at is not None and t.due_at < now)
        rows.append(OpenCase(case.reference, case.day_one, days.case_day(case.day_one, now), case.deadline,
                             step, overdue))
    return rows


def _step(days: WorkingDays, case: CaseFacts, task: TaskFacts) -> Step:
    return Step(task.name, who(task), task.due_at,
                days.case_day(case.day_one, task.due_at) if task.due_at else None,
                days.case_day(case.day_one, task.completed_at) if task.completed_at else None)


def slipped_step(days: WorkingDays, case: CaseFacts, tasks: Sequence[TaskFacts], now: datetime) -> Step | None:
    """The first step (by due time) completed after it was due, or still open after it; None if none was."""
    slipped = [t for t in tasks if t.due_at is not None and (
        (t.state == "completed" and t.completed_at is not None and t.completed_at > t.due_at)
        or (t.state == "ready" and now > t.due_at))]
    if not slipped:
        return None
    return _step(days, case, min(slipped, key=lambda t: (t.due_at, t.id)))


@dataclass(frozen=True)
class LateCase:
    reference: str
    day_one: date
    deadline: date
    outcome: str  # late or overdue
    submitted_on_day: int | None
    day_now: int | None  # for an overdue case, today's day number
    slipped: Step | None


def late_case_rows(days: WorkingDays, cases: Sequence[CaseFacts], outcomes: dict[int, str],
                   slipped: dict[int, Step | None], now: datetime) -> list[LateCase]:
    """The late and overdue reviews, each with the first step that slipped (``slipped`` by case id)."""
    rows = []
    for case in cases:
        found = outcomes[case.id]
        if found not in (LATE, OVERDUE):
            continue
        submitted_day = days.case_day(case.day_one, case.submitted_at) if case.submitted_at else None
        rows.append(LateCase(case.reference, case.day_one, case.deadline, found, submitted_day,
                             days.case_day(case.day_one, now) if found == OVERDUE else None, slipped.get(case.id)))
    return rows
