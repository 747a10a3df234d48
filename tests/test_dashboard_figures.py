"""The dashboard's rules on hand-made rows: working time, percentiles, outcomes, quarters, agencies' returns."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rapidreview.calendar import WorkingCalendar, london_time
from rapidreview.services.reading import dashboard_figures as f
from rapidreview.store.dashboard_queries import CaseFacts, TaskFacts

CAL = WorkingCalendar()


def at(day: str, hhmm: str) -> datetime:
    return london_time(day, hhmm)


def a_case(status: str = "open", submitted_at: datetime | None = None, day_one: date = date(2026, 5, 22),
           lcspr: bool | None = None, id: int = 1) -> CaseFacts:
    return CaseFacts(id, f"RR-{id}", status, at(day_one.isoformat(), "10:00"), day_one, CAL.deadline_date(day_one),
                     submitted_at, lcspr)


def a_task(element_id: str, ready_at: datetime, completed_at: datetime | None = None, *, state: str | None = None,
           due_at: datetime | None = None, agency: str | None = None, id: int = 1, case_id: int = 1) -> TaskFacts:
    return TaskFacts(case_id, id, element_id, element_id, None, agency, agency, state or ("completed" if completed_at else "ready"),
                     due_at, ready_at, completed_at)


def test_working_time_leaves_out_the_weekend() -> None:
    # Friday 16:00 to Monday 10:00: eight hours on Friday and ten on Monday.
    assert f.WorkingDays(CAL).between(at("2026-05-15", "16:00"), at("2026-05-18", "10:00")) == 0.75
    # The same over the Spring bank holiday (Monday 25 May 2026): Friday's eight hours, then Tuesday's ten.
    assert f.WorkingDays(CAL).between(at("2026-05-22", "16:00"), at("2026-05-26", "10:00")) == 0.75


def test_working_time_leaves_out_bank_holidays_and_counts_summer_time_on_the_wall_clock() -> None:
    # Friday 29 May 2026 12:00 to Tuesday 2 June 12:00, with no bank holiday: Friday half, Monday, Tuesday half.
    assert f.WorkingDays(CAL).between(at("2026-05-29", "12:00"), at("2026-06-02", "12:00")) == 2.0
    # Christmas 2026: Thursday 24 Dec 12:00 to Tuesday 29 Dec 12:00 (25, 28 Dec holidays; 26, 27 weekend).
    assert f.WorkingDays(CAL).between(at("2026-12-24", "12:00"), at("2026-12-29", "12:00")) == 1.0


def test_working_time_within_a_day_is_a_fraction_of_it() -> None:
    assert f.WorkingDays(CAL).between(at("2026-05-21", "09:00"), at("2026-05-21", "15:00")) == 0.25


def test_nearest_rank_percentiles() -> None:
    values = [10, 12, 14, 14, 15, 15, 15, 16, 17]
    assert f.nearest_rank(values, 50) == 15
    assert f.nearest_rank(values, 90) == 17
    assert f.nearest_rank([3.0], 90) == 3.0
    assert f.nearest_rank([], 50) is None


def test_on_time_is_by_the_end_of_day_15_in_london() -> None:
    case = a_case()
    assert case.deadline == date(2026, 6, 12)
    late_evening = at("2026-06-12", "23:30")  # 22:30 UTC: still Day 15 in London
    assert f.outcome(a_case("submitted", late_evening), late_evening) == f.ON_TIME
    after_midnight = at("2026-06-13", "00:10")
    assert f.outcome(a_case("submitted", after_midnight), after_midnight) == f.LATE


def test_an_open_case_is_in_progress_until_day_15_ends_then_overdue() -> None:
    case = a_case()
    assert f.outcome(case, at("2026-06-12", "23:59")) == f.IN_PROGRESS
    assert f.outcome(case, at("2026-06-13", "00:01")) == f.OVERDUE
    assert f.outcome(a_case("not_commissioned"), at("2026-07-01", "09:00")) == f.NOT_COMMISSIONED


def test_the_rate_counts_overdue_cases_and_leaves_out_the_rest() -> None:
    counts = f.on_time_counts([f.ON_TIME] * 7 + [f.LATE] * 2 + [f.OVERDUE, f.IN_PROGRESS, f.NOT_COMMISSIONED])
    assert (counts.decided, counts.total, counts.rate) == (10, 12, 0.7)
    assert f.on_time_counts([f.IN_PROGRESS]).rate is None


def test_quarters_cover_the_period_and_say_when_they_are_only_partly_in_it() -> None:
    period = f.Period(date(2025, 5, 23), date(2026, 5, 22))
    quarters = f.quarters_of(period)
    assert quarters[0] == (date(2025, 4, 1), date(2025, 6, 30))
    assert quarters[-1] == (date(2026, 4, 1), date(2026, 6, 30))
    assert len(quarters) == 5
    cases = [a_case(id=1, day_one=date(2026, 1, 5)), a_case(id=2, day_one=date(2025, 12, 31))]
    found = f.by_quarter(period, cases, {1: f.ON_TIME, 2: f.LATE})
    assert [(q.label, q.partial, q.counts.on_time, q.counts.late) for q in found] == [
        ("Apr to Jun 2025", True, 0, 0), ("Jul to Sep 2025", False, 0, 0), ("Oct to Dec 2025", False, 0, 1),
        ("Jan to Mar 2026", False, 1, 0), ("Apr to Jun 2026", True, 0, 0)]


def test_the_period_takes_whole_london_days() -> None:
    period = f.Period(date(2026, 6, 1), date(2026, 6, 30))
    start, end = period.utc_bounds()
    assert start == datetime(2026, 5, 31, 23, 0, tzinfo=UTC) and end == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)
    assert period.contains(datetime(2026, 6, 30, 22, 59, tzinfo=UTC))
    assert not period.contains(datetime(2026, 6, 30, 23, 0, tzinfo=UTC))


def test_an_agencys_return_is_told_by_its_latest_form_task() -> None:
    due = at("2026-06-02", "17:00")
    form, check = "complete_information_sharing_form", "quality_assure_information_sharing_form"
    signed_off = [a_task(form, at("2026-05-22", "12:00"), at("2026-05-27", "10:00"), id=1),
                  a_task(check, at("2026-05-27", "10:00"), at("2026-05-28", "10:00"), due_at=due, id=2)]
    assert f.agency_return(signed_off) == f.RETURNED_ON_TIME
    signed_off_late = [*signed_off[:1], a_task(check, at("2026-05-27", "10:00"), at("2026-06-02", "18:00"), due_at=due, id=2)]
    assert f.agency_return(signed_off_late) == f.RETURNED_LATE
    # Sent back to the practitioner, whose new form was still open when the window closed at 09:00 on Day 8.
    sent_back = [*signed_off, a_task(form, at("2026-05-28", "10:00"), state="cancelled", id=3)]
    assert f.agency_return(sent_back) == f.NOT_RETURNED
    assert f.agency_return([a_task(form, at("2026-05-22", "12:00"), id=1)]) == f.NOT_KNOWN


def test_the_step_that_slipped_is_the_first_one_past_its_due_time() -> None:
    case = a_case()
    now = at("2026-06-20", "09:00")
    tasks = [a_task("record_criteria_view", at("2026-05-22", "10:00"), at("2026-05-22", "12:00"),
                    due_at=at("2026-05-22", "17:00"), id=1),
             a_task("prepare_draft_report", at("2026-06-01", "09:00"), at("2026-06-03", "12:00"),
                    due_at=at("2026-06-02", "09:00"), id=2),
             a_task("sign_off_final_report", at("2026-06-08", "09:00"), due_at=at("2026-06-11", "17:00"), id=3)]
    step = f.slipped_step(f.WorkingDays(CAL), case, tasks, now)
    assert step is not None and step.name == "prepare_draft_report"
    assert (step.due_day, step.done_day) == (7, 8)  # Monday 25 May 2026 is a bank holiday
    assert f.slipped_step(f.WorkingDays(CAL), case, tasks[:1], now) is None


def test_step_times_come_in_process_order_with_their_median_and_90th_percentile() -> None:
    tasks = [a_task("sign_off_final_report", at("2026-05-21", "09:00"), at("2026-05-21", "21:00"), id=1),
             *[a_task("record_criteria_view", at("2026-05-21", "09:00"), at("2026-05-21", hhmm), id=n,
                      due_at=at("2026-05-21", "12:00")) for n, hhmm in enumerate(("15:00", "11:00", "21:00"), 2)],
             a_task("record_criteria_view", at("2026-05-21", "09:00"), state="cancelled", id=9)]
    found = f.step_times(f.WorkingDays(CAL), tasks)
    assert [s.element_id for s in found] == ["record_criteria_view", "sign_off_final_report"]
    views = found[0]
    assert (views.count, views.median, views.p90, views.after_due) == (3, 0.25, 0.5, 2)


def test_working_time_stays_right_when_later_tasks_come_first() -> None:
    working = f.WorkingDays(CAL)
    assert working.between(at("2026-12-24", "12:00"), at("2026-12-29", "12:00")) == 1.0
    assert working.between(at("2026-05-15", "16:00"), at("2026-05-18", "10:00")) == 0.75
    assert working.between(at("2026-12-24", "12:00"), at("2026-12-29", "12:00")) == 1.0


def test_case_days_are_the_calendars() -> None:
    days = f.WorkingDays(CAL)
    for day_one in (date(2026, 5, 22), date(2026, 12, 18), date(2027, 3, 25)):
        for offset in range(-3, 40, 2):
            when = london_time(date.fromordinal(day_one.toordinal() + offset), "10:00")
            assert days.case_day(day_one, when) == CAL.case_day(day_one, when), (day_one, offset)
