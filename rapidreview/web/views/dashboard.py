"""The dashboard: how the partnership's Rapid Reviews go, its charts and its exports; counts for administrators."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, g, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from rapidreview.documents.spreadsheet import ODS_MEDIA_TYPE, to_csv, to_ods
from rapidreview.services.people import policy
from rapidreview.services.reading import dashboard
from rapidreview.services.reading.dashboard_figures import Period
from rapidreview.web import runtime
from rapidreview.web.access import allow
from rapidreview.web.dashboard_charts import charts_of
from rapidreview.web.dashboard_tables import (
    case_table,
    cell_text,
    counts_table,
    figure_tables,
    long_table,
    page_tables,
)

bp = Blueprint("dashboard", __name__)
LONGEST_PERIOD_DAYS = 20 * 366  # a typo in a year (20266) should not ask for millennia


def parse_period(args: MultiDict[str, str]) -> tuple[Period, dict[str, str]]:
    """The period from ``from``/``to`` (ISO dates, as the download links carry them) or from the date inputs
    (``from-day``, ``from-month``, ``from-year``, ...); the last 12 months when neither is given. Errors are
    {field: message}, and come with the default period."""
    default = dashboard.default_period()
    errors: dict[str, str] = {}
    found: dict[str, date] = {}
    for name, words in (("from", "start"), ("to", "end")):
        parts = [args.get(f"{name}-{p}", "").strip() for p in ("day", "month", "year")]
        if any(parts):
            try:
                found[name] = date(int(parts[2]), int(parts[1]), int(parts[0]))
            except ValueError:
                errors[name] = f"The {words} date must be a real date, for example 1 4 2025"
        elif args.get(name):
            try:
                found[name] = date.fromisoformat(args[name])
            except ValueError:
                errors[name] = f"The {words} date must be a real date, for example 1 4 2025"
    start, end = found.get("from", default.start), found.get("to", default.end)
    if not errors and end < start:
        errors["to"] = "The end date must be the same as or after the start date"
    elif not errors and (end - start).days > LONGEST_PERIOD_DAYS:
        errors["to"] = "Choose a period of 20 years or less"
    return (default, errors) if errors else (Period(start, end), errors)


def quick_periods() -> list[tuple[str, Period]]:
    """Periods a report asks for: the last 12 months, and this and last financial year (April to March)."""
    today = dashboard.default_period().end
    first = today.year if today.month >= 4 else today.year - 1
    return [("the last 12 months", dashboard.default_period()),
            (f"April {first} to March {first + 1} (so far)", Period(date(first, 4, 1), today)),
            (f"April {first - 1} to March {first}", Period(date(first - 1, 4, 1), date(first, 3, 31)))]


def period_args(period: Period) -> dict[str, Any]:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def period_links(period: Period, endpoints: tuple[str, ...]) -> dict[str, str]:
    return {endpoint: url_for(endpoint, **period_args(period)) for endpoint in endpoints}


def _file_name(period: Period, what: str, extension: str) -> str:
    return f"rapid-reviews-{period.start.isoformat()}-to-{period.end.isoformat()}-{what}.{extension}"


def _download(content: bytes, media_type: str, name: str) -> Response:
    return Response(content, mimetype=media_type, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/dashboard")
@allow(*policy.DASHBOARD_READERS, *policy.COUNTS_READERS)
def index() -> tuple[str, int]:
    period, errors = parse_period(request.args)
    status = 400 if errors else 200
    if policy.may_read_partnership_counts(g.user):
        rows = dashboard.partnership_counts(runtime(), g.user, period)
        links = period_links(period, ("dashboard.partnerships_csv", "dashboard.partnerships_ods"))
        return render_template("dashboard/partnerships.html", title="Rapid Reviews across partnerships",
                               table=counts_table(rows), cell=cell_text, period=period, errors=errors,
                               values=request.args, quick=quick_periods(), downloads=links), status
    data = dashboard.partnership_dashboard(runtime(), g.user, period)
    links = period_links(period, ("dashboard.cases_csv", "dashboard.figures_csv", "dashboard.workbook"))
    return render_template("dashboard/index.html", title="Dashboard", d=data, charts=charts_of(data),
                           tables=page_tables(data), cell=cell_text, errors=errors, values=request.args,
                           quick=quick_periods(), downloads=links), status


def _period_or_default() -> Period:
    return parse_period(request.args)[0]


@bp.get("/dashboard/cases.csv")
@allow(*policy.DASHBOARD_READERS)
def cases_csv() -> Response:
    period = _period_or_default()
    data = dashboard.export_dashboard(runtime(), g.user, period, "cases.csv")
    return _download(to_csv(case_table(data)), "text/csv", _file_name(period, "cases", "csv"))


@bp.get("/dashboard/figures.csv")
@allow(*policy.DASHBOARD_READERS)
def figures_csv() -> Response:
    period = _period_or_default()
    data = dashboard.export_dashboard(runtime(), g.user, period, "figures.csv")
    return _download(to_csv(long_table(figure_tables(data))), "text/csv", _file_name(period, "figures", "csv"))


@bp.get("/dashboard/rapid-reviews.ods")
@allow(*policy.DASHBOARD_READERS)
def workbook() -> Response:
    period = _period_or_default()
    data = dashboard.export_dashboard(runtime(), g.user, period, "workbook.ods")
    return _download(to_ods([*figure_tables(data), case_table(data)]), ODS_MEDIA_TYPE,
                     _file_name(period, "dashboard", "ods"))


@bp.get("/dashboard/partnerships.csv")
@allow(*policy.COUNTS_READERS)
def partnerships_csv() -> Response:
    period = _period_or_default()
    rows = dashboard.partnership_counts(runtime(), g.user, period)
    return _download(to_csv(counts_table(rows)), "text/csv", _file_name(period, "partnerships", "csv"))


@bp.get("/dashboard/partnerships.ods")
@allow(*policy.COUNTS_READERS)
def partnerships_ods() -> Response:
    period = _period_or_default()
    rows = dashboard.partnership_counts(runtime(), g.user, period)
    return _download(to_ods([counts_table(rows)]), ODS_MEDIA_TYPE, _file_name(period, "partnerships", "ods"))


