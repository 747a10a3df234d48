"""The dashboard's figures as tables: the same ``Table`` follows each chart on the page and goes into the exports,
so the page, the CSV and the spreadsheet cannot disagree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from rapidreview.calendar import to_london
from rapidreview.documents.spreadsheet import Cell, Percent, Table
from rapidreview.services.reading.dashboard import Dashboard, PartnershipCounts
from rapidreview.services.reading.dashboard_figures import OUTCOME_LABELS, RETURN_LABELS, OnTime, Step

ON_TIME_COLUMNS = ("On time", "Late", "Overdue (not submitted)", "In progress", "Not commissioned", "On-time rate (%)")
STATUS_LABELS = {"open": "Open", "submitted": "Submitted", "not_commissioned": "Not commissioned"}


def _rate(value: float | None) -> Percent | None:
    return Percent(value) if value is not None else None


def _days(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def _on_time_cells(counts: OnTime) -> list[Cell]:
    return [counts.on_time, counts.late, counts.overdue, counts.in_progress, counts.not_commissioned,
            _rate(counts.rate)]


def summary(d: Dashboard) -> Table:
    t = d.on_time
    rows: list[tuple[str, Cell]] = [
        ("Reviews notified in the period", t.total), ("Submitted on time", t.on_time),
        ("Submitted late", t.late), ("Overdue: Day 15 has passed, not yet submitted", t.overdue),
        ("In progress, within 15 working days", t.in_progress), ("Not commissioned", t.not_commissioned),
        ("On-time rate (%)", _rate(t.rate)),
        ("Median working days to submission", d.days_to_submission.median),
        ("90th percentile of working days to submission", d.days_to_submission.p90),
        ("LCSPR recommended", d.lcspr.recommended), ("LCSPR not recommended", d.lcspr.not_recommended),
        ("LCSPR recommended, share of decisions (%)", _rate(d.lcspr.share)),
        ("Open now (whenever notified)", len(d.open_cases)),
    ]
    return Table("Summary", ("Measure", "Value"), rows)


def quarters(d: Dashboard) -> Table:
    rows = [[q.label + (" (part of the quarter)" if q.partial else ""), q.counts.total, *_on_time_cells(q.counts)]
            for q in d.quarters]
    return Table("On time by quarter", ("Quarter (notified)", "Reviews", *ON_TIME_COLUMNS), rows)


def days_to_submission(d: Dashboard) -> Table:
    return Table("Working days to submission", ("Submitted on day", "Reviews"),
                 [(label, count) for label, count, _ in d.days_to_submission.bins])


def steps(d: Dashboard) -> Table:
    rows = [(s.name, s.count, _days(s.median), _days(s.p90), s.after_due) for s in d.steps]
    return Table("Where the days go", ("Step", "Tasks completed", "Median (working days)",
                                       "90th percentile (working days)", "Completed after they were due"), rows)


def agencies(d: Dashboard) -> Table:
    rows: list[list[Cell]] = [[a.name, *(a.counts[k] for k in RETURN_LABELS), a.total] for a in d.agencies]
    return Table("Agencies' information sharing", ("Agency", *RETURN_LABELS.values(), "Forms asked for"), rows)


def lcspr(d: Dashboard) -> Table:
    return Table("LCSPR recommended", ("Decision at the Rapid Review Meeting", "Reviews"),
                 [("LCSPR recommended", d.lcspr.recommended), ("LCSPR not recommended", d.lcspr.not_recommended),
                  ("Not yet decided", d.lcspr.awaiting)])


def _step_cells(step: Step | None) -> list[Cell]:
    if step is None:
        return [None, None, None, None]
    return [step.name, step.who or None, step.due_day, step.done_day]


def open_cases(d: Dashboard) -> Table:
    rows = [[c.reference, c.day_one, c.day, c.deadline,
             c.next_step.name if c.next_step else None, c.next_step.who or None if c.next_step else None,
             c.next_step.due_at if c.next_step else None, c.overdue_steps] for c in d.open_cases]
    return Table("Open now", ("Reference", "Day 1", "Today is day", "Deadline (Day 15)", "Next step due",
                              "For", "Due", "Steps overdue"), rows)


def late_cases(d: Dashboard) -> Table:
    rows = [[c.reference, c.day_one, c.deadline, OUTCOME_LABELS[c.outcome], c.submitted_on_day, c.day_now,
             *_step_cells(c.slipped)] for c in d.late_cases]
    return Table("Late", ("Reference", "Day 1", "Deadline (Day 15)", "Outcome", "Submitted on day", "Today is day",
                          "First step that slipped", "For", "It was due on day", "Completed on day"), rows)


def figure_tables(d: Dashboard) -> list[Table]:
    """Every table of the dashboard, in page order."""
    return [summary(d), quarters(d), days_to_submission(d), steps(d), agencies(d), lcspr(d), open_cases(d),
            late_cases(d)]


def page_tables(d: Dashboard) -> dict[str, Table]:
    """The tables that follow the page's charts, by name."""
    return {"quarters": quarters(d), "days": days_to_submission(d), "steps": steps(d), "agencies": agencies(d),
            "lcspr": lcspr(d)}


def case_table(d: Dashboard) -> Table:
    """One row per case notified in the period, for the annual report: the review's course, no child's details."""
    rows = [[c.reference, c.notified_at, c.day_one, c.deadline, STATUS_LABELS.get(c.status, c.status),
             OUTCOME_LABELS[c.outcome], c.submitted_at, c.submitted_on_day, c.lcspr_recommended,
             sum(c.agency_returns.values()), *(c.agency_returns[k] for k in RETURN_LABELS),
             c.slipped.name if c.slipped else None] for c in d.cases]
    return Table("Cases", ("Reference", "Notified", "Day 1", "Deadline (Day 15)", "Status", "Outcome", "Submitted",
                           "Submitted on day", "LCSPR recommended", "Agencies asked", *RETURN_LABELS.values(),
                           "First step that slipped"), rows)


def long_table(tables: Sequence[Table]) -> Table:
    """Figure tables as one long table (table, row, column, value): one CSV holds them all, ready to pivot."""
    rows: list[list[Cell]] = []
    for table in tables:
        for row in table.rows:
            rows += [[table.title, row[0], column, value] for column, value in zip(table.columns[1:], row[1:], strict=True)]
    return Table("Figures", ("Table", "Row", "Column", "Value"), rows)


def counts_table(rows: Sequence[PartnershipCounts]) -> Table:
    """The administrator's counts: per partnership, numbers of cases, never a case."""
    return Table("Partnerships", ("Partnership", "Reviews notified", "Open", "Submitted", "On time", "Late",
                                  "Overdue (not submitted)", "Not commissioned", "LCSPR recommended", "On-time rate (%)"),
                 [(r.name, r.cases, r.open, r.submitted, r.on_time, r.late, r.overdue, r.not_commissioned,
                   r.lcspr_recommended, _rate(r.rate))
                  for r in rows])


def cell_text(value: Cell) -> str:
    """A cell as the page shows it."""
    if value is None:
        return ""
    if isinstance(value, Percent):
        return f"{value.value * 100:.0f}%"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return to_london(value).strftime("%-d %b %Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%-d %b %Y")
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
