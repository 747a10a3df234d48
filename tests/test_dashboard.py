"""The dashboard service on cases with known answers, on SQLite and PostgreSQL.

Today is Friday 22 May 2026 (the virtual clock); the period is the last 12 months. Partnership "north" has
ten reviews whose timeliness is settled, seven of them on time (70%), plus one in progress, one not
commissioned, one notified before the period and one open since last year. Partnership "south" has three late
reviews in the same months, which north's figures never count.
"""

from __future__ import annotations

from datetime import date

import pytest

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.people import policy
from rapidreview.services.people.users import SignedIn
from rapidreview.services.reading import dashboard
from rapidreview.services.reading import dashboard_figures as f
from rapidreview.store.db import transaction
from tests import factories as make

ON_TIME_DAYS = (10, 12, 14, 14, 15, 15, 15)


def person(partnership_id: int, role: str = "partnership_manager") -> SignedIn:
    return SignedIn(1, f"{role}@north.example", "Someone", role, None, partnership_id)


def seed(runtime: Runtime) -> tuple[int, int]:
    with transaction(runtime.sessions) as s:
        north, south = make.partnership(s, "north"), make.partnership(s, "south")
        mondays = [date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 19), date(2026, 2, 2), date(2026, 2, 9),
                   date(2026, 2, 23), date(2026, 3, 2)]
        for n, (monday, day) in enumerate(zip(mondays, ON_TIME_DAYS, strict=True)):
            make.case(s, north, f"N-ON-{n}", monday, submitted_on_day=day, lcspr=n < 3)
        late = [make.case(s, north, "N-LATE-16", date(2025, 11, 3), submitted_on_day=16, lcspr=False),
                make.case(s, north, "N-LATE-17", date(2025, 12, 1), submitted_on_day=17, lcspr=False)]
        overdue = make.case(s, north, "N-OVERDUE", date(2026, 4, 1))
        fresh = make.case(s, north, "N-FRESH", date(2026, 5, 18))
        make.case(s, north, "N-NOT", date(2026, 2, 16), status="not_commissioned")
        make.case(s, north, "N-BEFORE", date(2025, 3, 3), submitted_on_day=20)  # notified before the period
        old_open = make.case(s, north, "N-OLD-OPEN", date(2025, 2, 3))
        for n in range(3):
            south_case = make.case(s, south, f"S-LATE-{n}", date(2026, 1, 5), submitted_on_day=18)
            make.task(s, south_case, "record_criteria_view", ready_at=make.on_day(south_case.day_one, 1, "10:00"),
                      completed_at=make.on_day(south_case.day_one, 4, "10:00"), partner="LA")

        # The first late review slipped at the draft report: due 09:00 on Day 8, done on Day 10.
        first = late[0]
        make.task(s, first, "prepare_draft_report", ready_at=make.on_day(first.day_one, 7, "09:00"),
                  completed_at=make.on_day(first.day_one, 10, "15:00"), due_at=make.on_day(first.day_one, 8, "09:00"),
                  name="Prepare the draft Rapid Review Report")
        # Partners' views on Day 1 of the overdue review: a quarter and half a working day.
        for partner, done in (("LA", "15:00"), ("MPS", "21:00")):
            make.task(s, overdue, "record_criteria_view", ready_at=make.on_day(overdue.day_one, 1, "09:00"),
                      completed_at=make.on_day(overdue.day_one, 1, done), partner=partner,
                      due_at=make.on_day(overdue.day_one, 1, "17:00"), name="Record your view on the criteria")
        # Its sign-off by the ICB is still open, two days past due.
        make.task(s, overdue, "sign_off_final_report", ready_at=make.on_day(overdue.day_one, 13, "09:00"),
                  due_at=make.on_day(overdue.day_one, 14, "17:00"), partner="ICB", name="Sign off the final report")
        # Agencies of the overdue review: the school on time, the GP late; of the first late one: the school's
        # form not returned, the GP's still awaited.
        check, form = "quality_assure_information_sharing_form", "complete_information_sharing_form"
        due = make.on_day(overdue.day_one, 7, "17:00")
        make.task(s, overdue, check, ready_at=make.on_day(overdue.day_one, 5, "10:00"),
                  completed_at=make.on_day(overdue.day_one, 6, "10:00"), due_at=due, agency="school", agency_name="Oak School")
        make.task(s, overdue, check, ready_at=make.on_day(overdue.day_one, 5, "10:00"),
                  completed_at=make.on_day(overdue.day_one, 7, "18:00"), due_at=due, agency="gp", agency_name="Elm Surgery")
        make.task(s, first, form, ready_at=make.on_day(first.day_one, 2, "10:00"), state="cancelled", agency="school",
                  agency_name="Oak School")
        make.task(s, first, form, ready_at=make.on_day(first.day_one, 2, "10:00"), agency="gp", agency_name="Elm Surgery")
        # The fresh review's next step: the criteria view due at 17:00 today, Day 5.
        make.task(s, fresh, "record_criteria_view", ready_at=make.on_day(fresh.day_one, 1, "10:00"),
                  due_at=make.on_day(fresh.day_one, 5, "17:00"), partner="MPS", name="Record your view on the criteria")
        make.task(s, old_open, "incorporate_comments", ready_at=make.on_day(old_open.day_one, 12, "10:00"),
                  name="Incorporate comments")
    return north, south


@pytest.fixture
def north(runtime: Runtime, virtual_clock: clock.VirtualClock) -> dashboard.Dashboard:
    north_id, _south = seed(runtime)
    return dashboard.partnership_dashboard(runtime, person(north_id), dashboard.default_period())


def test_seven_of_ten_settled_reviews_on_time_is_70_percent(north: dashboard.Dashboard) -> None:
    assert north.period == f.Period(date(2025, 5, 23), date(2026, 5, 22))
    t = north.on_time
    assert (t.on_time, t.late, t.overdue, t.in_progress, t.not_commissioned) == (7, 2, 1, 1, 1)
    assert t.rate == 0.7


def test_by_quarter(north: dashboard.Dashboard) -> None:
    found = {q.label: (q.counts.on_time, q.counts.late, q.counts.overdue, q.counts.rate) for q in north.quarters}
    assert found == {"Apr to Jun 2025": (0, 0, 0, None), "Jul to Sep 2025": (0, 0, 0, None),
                     "Oct to Dec 2025": (0, 2, 0, 0.0), "Jan to Mar 2026": (7, 0, 0, 1.0),
                     "Apr to Jun 2026": (0, 0, 1, 0.0)}


def test_working_days_to_submission(north: dashboard.Dashboard) -> None:
    days = north.days_to_submission
    assert (days.count, days.median, days.p90, days.on_or_before_day_15) == (9, 15, 17, 7)
    counts = {label: count for label, count, _ in days.bins}
    assert counts["10 or fewer"] == 1 and counts["14"] == 2 and counts["15"] == 3 and counts["17"] == 1
    assert sum(counts.values()) == 9


def test_where_the_days_go_per_step(north: dashboard.Dashboard) -> None:
    steps = {s.element_id: (s.count, s.median, s.p90, s.after_due) for s in north.steps}
    assert steps["record_criteria_view"] == (2, 0.25, 0.5, 1)
    # Day 7 09:00 to Day 10 15:00: three working days and a quarter, done after its due time.
    assert steps["prepare_draft_report"] == (1, 3.25, 3.25, 1)
    assert [s.element_id for s in north.steps][:2] == ["record_criteria_view", "quality_assure_information_sharing_form"]


def test_agencies_returns_by_agency(north: dashboard.Dashboard) -> None:
    found = {a.name: a.counts for a in north.agencies}
    assert found == {"Elm Surgery": {"on_time": 0, "late": 1, "not_returned": 0, "not_known": 1},
                     "Oak School": {"on_time": 1, "late": 0, "not_returned": 1, "not_known": 0}}


def test_lcspr_share_of_the_decided_reviews(north: dashboard.Dashboard) -> None:
    lcspr = north.lcspr
    assert (lcspr.recommended, lcspr.not_recommended, lcspr.awaiting) == (3, 6, 2)
    assert lcspr.share == pytest.approx(1 / 3)


def test_open_now_with_day_n_and_the_next_deadline(north: dashboard.Dashboard) -> None:
    rows = {c.reference: c for c in north.open_cases}
    assert set(rows) == {"N-OVERDUE", "N-FRESH", "N-OLD-OPEN"}  # whenever they were notified
    fresh = rows["N-FRESH"]
    assert fresh.day == 5 and fresh.next_step is not None
    assert (fresh.next_step.name, fresh.next_step.who, fresh.next_step.due_day) == (
        "Record your view on the criteria", "Metropolitan Police Service", 5)
    overdue = rows["N-OVERDUE"]
    assert overdue.next_step is not None and overdue.next_step.who == "Integrated Care Board"
    assert overdue.overdue_steps == 1 and overdue.day > 15
    assert rows["N-OLD-OPEN"].next_step is None  # its open task has no due time


def test_late_reviews_with_the_step_that_slipped(north: dashboard.Dashboard) -> None:
    rows = {c.reference: c for c in north.late_cases}
    assert set(rows) == {"N-LATE-16", "N-LATE-17", "N-OVERDUE"}
    first = rows["N-LATE-16"]
    assert first.submitted_on_day == 16 and first.slipped is not None
    assert (first.slipped.name, first.slipped.due_day, first.slipped.done_day) == (
        "Prepare the draft Rapid Review Report", 8, 10)
    overdue = rows["N-OVERDUE"]
    assert overdue.outcome == f.OVERDUE and overdue.slipped is not None
    assert overdue.slipped.name == "Record your view on the criteria"  # the MPS view, done at 21:00 on Day 1
    assert rows["N-LATE-17"].slipped is None


def test_one_line_per_case_of_the_period(north: dashboard.Dashboard) -> None:
    lines = {c.reference: c for c in north.cases}
    assert len(lines) == 12 and "N-BEFORE" not in lines and "N-OLD-OPEN" not in lines
    assert not any(r.startswith("S-") for r in lines)
    assert lines["N-LATE-16"].agency_returns == {"on_time": 0, "late": 0, "not_returned": 1, "not_known": 1}
    assert lines["N-ON-0"].outcome == f.ON_TIME and lines["N-ON-0"].submitted_on_day == 10


def test_only_the_partnership_roles_see_the_dashboard(runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    north_id, _ = seed(runtime)
    for role in ("la_officer", "agency_practitioner", "process_owner", "admin"):
        with pytest.raises(dashboard.NotPermitted):
            dashboard.partnership_dashboard(runtime, person(north_id, role), dashboard.default_period())
    for role in policy.DASHBOARD_READERS:
        found = dashboard.partnership_dashboard(runtime, person(north_id, role), dashboard.default_period())
        assert found.on_time.rate == 0.7


def test_the_administrator_gets_counts_per_partnership(runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    seed(runtime)
    admin = person(1, "admin")
    rows = {r.name: r for r in dashboard.partnership_counts(runtime, admin, dashboard.default_period())}
    north, south = rows["North Safeguarding Children Partnership"], rows["South Safeguarding Children Partnership"]
    assert (north.cases, north.open, north.submitted, north.on_time, north.late, north.overdue,
            north.not_commissioned, north.lcspr_recommended) == (12, 2, 9, 7, 2, 1, 1, 3)
    assert (south.cases, south.submitted, south.on_time, south.late) == (3, 3, 0, 3)
    with pytest.raises(dashboard.NotPermitted):
        dashboard.partnership_counts(runtime, person(1), dashboard.default_period())


def test_on_time_in_sql_agrees_with_london_dates_at_the_edge_of_day_15(
        runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    # Submitted at 23:30 London time on Day 15 in summer (22:30 UTC): on time; at 00:10 the next day: late.
    with transaction(runtime.sessions) as s:
        edge = make.partnership(s, "edge")
        on_time = make.case(s, edge, "E-1", date(2026, 3, 30))
        on_time.status, on_time.submitted_at = "submitted", make.on_day(on_time.day_one, 15, "23:30")
        late = make.case(s, edge, "E-2", date(2026, 3, 30))
        late.status, late.submitted_at = "submitted", make.on_day(late.day_one, 16, "00:10")
    rows = {r.name: r for r in dashboard.partnership_counts(runtime, person(1, "admin"), dashboard.default_period())}
    assert (rows["Edge Safeguarding Children Partnership"].on_time, rows["Edge Safeguarding Children Partnership"].late) == (1, 1)
    page = dashboard.partnership_dashboard(runtime, person(edge), dashboard.default_period())
    assert (page.on_time.on_time, page.on_time.late) == (1, 1)
