"""The dashboard's charts, each described in words (its SVG ``<desc>``) from the same figures as its table."""

from __future__ import annotations

from markupsafe import Markup

from rapidreview.services.reading.dashboard import Dashboard
from rapidreview.services.reading.dashboard_figures import RETURN_LABELS
from rapidreview.web.charts import (
    BLUE,
    GREEN,
    GREY,
    RED,
    Bar,
    Part,
    StackedRow,
    column_chart,
    range_chart,
    stacked_chart,
)

RETURN_PARTS = (Part(RETURN_LABELS["on_time"], GREEN, "solid"), Part(RETURN_LABELS["late"], BLUE, "stripes"),
                Part(RETURN_LABELS["not_returned"], RED, "cross"), Part(RETURN_LABELS["not_known"], GREY, "dots"))


def _percent(value: float | None) -> str:
    return "no figure" if value is None else f"{value * 100:.0f}%"


def on_time_chart(d: Dashboard) -> Markup:
    bars = [Bar(q.label.replace(" to ", "-"), (q.counts.rate or 0) * 100,
                _percent(q.counts.rate) if q.counts.rate is not None else "no figure") for q in d.quarters]
    words = "; ".join(f"{q.label}: {_percent(q.counts.rate)} ({q.counts.on_time} of {q.counts.decided})"
                      for q in d.quarters)
    return column_chart("chart-on-time", "On-time rate by quarter of notification",
                        f"Share of reviews submitted by the end of Day 15, by quarter. {words}.", bars, top=100,
                        axis="Quarter the reviews were notified in")


def days_chart(d: Dashboard) -> Markup:
    bins = d.days_to_submission.bins
    bars = [Bar("≤" + label.split()[0] if label.endswith(" or fewer") else label.replace(" or more", "+"), count, str(count))
            for label, count, _ in bins]
    marker = next((i for i, (_, _, day) in enumerate(bins) if day == 15), None)
    words = "; ".join(f"day {label}: {count}" for label, count, _ in bins if count)
    return column_chart("chart-days", "Working days to submission",
                        f"Reviews by the working day they were submitted on; the deadline is the end of Day 15. "
                        f"{words or 'No review was submitted'}.", bars,
                        top=max((b.value for b in bars), default=0) or 1, axis="Working day of submission",
                        marker_after=marker,
                        marker_text="Deadline: end of Day 15")


def steps_chart(d: Dashboard) -> Markup:
    rows = [(s.name, s.median or 0.0, s.p90 or 0.0) for s in d.steps]
    words = "; ".join(f"{s.name}: median {s.median or 0:.1f}, 90th percentile {s.p90 or 0:.1f}" for s in d.steps)
    return range_chart("chart-steps", "Where the days go: working days from ready to completed, by step",
                       f"For each step, the median and the 90th percentile of working days from the task being ready "
                       f"to being completed. {words or 'No task was completed'}.", rows, "working days")


def agencies_chart(d: Dashboard) -> Markup:
    rows = [StackedRow(a.name, [a.counts[k] for k in RETURN_LABELS]) for a in d.agencies]
    words = "; ".join(f"{a.name}: " + ", ".join(f"{label.lower()} {a.counts[k]}" for k, label in RETURN_LABELS.items())
                      for a in d.agencies)
    return stacked_chart("chart-agencies", "Agencies' information sharing forms, by agency",
                         f"For each agency, how its forms came back. {words or 'No form was asked for'}.",
                         RETURN_PARTS, rows)


def charts_of(d: Dashboard) -> dict[str, Markup]:
    return {"on_time": on_time_chart(d), "days": days_chart(d), "steps": steps_chart(d),
            "agencies": agencies_chart(d)}
