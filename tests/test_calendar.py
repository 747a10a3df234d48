"""The working-day calendar: the 15-working-day clock must never be a day out."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path

import holidays
import pytest

from rapidreview.calendar import (
    LONDON,
    CalendarConfigError,
    WorkingCalendar,
    load_bank_holidays_file,
    london_time,
    parse_hhmm,
    to_london,
)
from rapidreview.commands import calendar as calendar_command

D = date.fromisoformat

BANK_HOLIDAYS = {
    2025: ["2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26"],
    2026: ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28"],
    2027: ["2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28"],
}


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- worked examples -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day_one", "day_15"),
    [("2026-05-22", "2026-06-12"), ("2026-12-18", "2027-01-12"), ("2027-03-25", "2027-04-16")],
)
def test_the_worked_examples_give_the_documented_day_15(cal: WorkingCalendar, day_one: str, day_15: str) -> None:
    assert cal.deadline_date(D(day_one)) == D(day_15)
    assert cal.day_date(D(day_one), 15) == D(day_15)
    assert cal.case_day(D(day_one), D(day_15)) == 15


def test_day_one_is_day_one_and_day_two_is_the_next_working_day(cal: WorkingCalendar) -> None:
    assert cal.day_date(D("2026-05-22"), 1) == D("2026-05-22")
    assert cal.day_date(D("2026-05-22"), 2) == D("2026-05-26")  # over the weekend and Spring Bank Holiday


# --- bank holidays ---------------------------------------------------------------------------------


@pytest.mark.parametrize("year", sorted(BANK_HOLIDAYS))
def test_the_package_lists_the_gov_uk_weekday_bank_holidays(year: int) -> None:
    package = holidays.country_holidays("GB", subdiv="ENG", years=year)
    weekday_holidays = sorted(d for d in package if d.weekday() < 5)
    assert weekday_holidays == [D(s) for s in BANK_HOLIDAYS[year]]


@pytest.mark.parametrize("day", [d for days in BANK_HOLIDAYS.values() for d in days])
def test_bank_holidays_are_not_working_days(cal: WorkingCalendar, day: str) -> None:
    assert not cal.is_working_day(D(day))
    assert cal.closed_reason(D(day))


def test_an_ordinary_weekday_is_a_working_day_with_no_closed_reason(cal: WorkingCalendar) -> None:
    assert cal.is_working_day(D("2026-06-10"))
    assert cal.closed_reason(D("2026-06-10")) is None


def test_substitute_days_are_named_as_substitute_days(cal: WorkingCalendar) -> None:
    assert cal.closed_reason(D("2026-12-28")) == "Boxing Day (substitute day)"
    assert cal.closed_reason(D("2027-12-27")) == "Christmas Day (substitute day)"
    assert cal.closed_reason(D("2027-12-28")) == "Boxing Day (substitute day)"
    assert cal.closed_reason(D("2026-12-26")) == "Boxing Day"  # the Saturday itself


def test_weekends_are_named_by_their_weekday(cal: WorkingCalendar) -> None:
    assert cal.closed_reason(D("2026-06-06")) == "Saturday"
    assert cal.closed_reason(D("2026-06-07")) == "Sunday"


def test_a_working_week_around_christmas_2026(cal: WorkingCalendar) -> None:
    working = [d for d in (D("2026-12-21") + timedelta(days=i) for i in range(15)) if cal.is_working_day(d)]
    assert working == [D(s) for s in ["2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24", "2026-12-29",
                                      "2026-12-30", "2026-12-31", "2027-01-04"]]


# --- Day 1 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notified", "day_one"),
    [
        ("2026-06-06", "2026-06-08"),  # Saturday
        ("2026-06-07", "2026-06-08"),  # Sunday
        ("2026-05-25", "2026-05-26"),  # Spring Bank Holiday
        ("2026-04-03", "2026-04-07"),  # Good Friday -> over Easter Monday
        ("2026-12-24", "2026-12-24"),  # a working day is its own Day 1
    ],
)
def test_a_notification_on_a_non_working_day_starts_on_the_next_working_day(
    cal: WorkingCalendar, notified: str, day_one: str
) -> None:
    assert cal.day_one(D(notified)) == D(day_one)


def test_a_notification_just_after_london_midnight_in_summer_counts_from_the_london_date(cal: WorkingCalendar) -> None:
    # 23:30 UTC on Friday 5 June 2026 is 00:30 BST on Saturday: Day 1 is Monday, not Friday.
    assert cal.day_one(_utc("2026-06-05T23:30")) == D("2026-06-08")
    # 23:30 BST on Friday is still Friday in London (22:30 UTC).
    assert cal.day_one(datetime(2026, 6, 5, 23, 30, tzinfo=LONDON)) == D("2026-06-05")
    assert cal.day_one(datetime(2026, 6, 5, 23, 30, tzinfo=timezone(timedelta(hours=1)))) == D("2026-06-05")


def test_a_naive_notification_time_is_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        cal.day_one(datetime(2026, 6, 5, 12, 0))


def test_a_day_one_that_is_not_a_working_day_is_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="not a working day"):
        cal.day_date(D("2026-06-06"), 2)


# --- counting ---------------------------------------------------------------------------------------


def test_case_day_is_zero_before_day_one(cal: WorkingCalendar) -> None:
    assert cal.case_day(D("2026-05-22"), D("2026-05-21")) == 0
    assert cal.case_day(D("2026-05-22"), _utc("2026-05-21T22:59")) == 0  # 23:59 BST on the 21st


def test_case_day_counts_working_days_and_stands_still_over_weekends(cal: WorkingCalendar) -> None:
    start = D("2026-05-22")
    assert cal.case_day(start, start) == 1
    assert cal.case_day(start, _utc("2026-05-21T23:30")) == 1  # 00:30 BST on the 22nd
    assert cal.case_day(start, D("2026-05-23")) == 1  # Saturday
    assert cal.case_day(start, D("2026-05-25")) == 1  # Spring Bank Holiday
    assert cal.case_day(start, D("2026-05-26")) == 2


def test_case_day_keeps_counting_after_day_15(cal: WorkingCalendar) -> None:
    assert cal.case_day(D("2026-05-22"), D("2026-06-15")) == 16
    assert cal.case_day(D("2026-05-22"), D("2026-06-20")) == 20  # Saturday after Day 20


def test_add_working_days_counts_whole_working_days_after_the_date(cal: WorkingCalendar) -> None:
    assert cal.add_working_days(D("2026-06-05"), 0) == D("2026-06-05")
    assert cal.add_working_days(D("2026-06-05"), 1) == D("2026-06-08")
    assert cal.add_working_days(D("2026-06-06"), 1) == D("2026-06-08")  # from a Saturday
    assert cal.add_working_days(D("2026-05-22"), 14) == D("2026-06-12")
    with pytest.raises(ValueError):
        cal.add_working_days(D("2026-06-05"), -1)


def test_next_working_day_can_skip_the_same_day(cal: WorkingCalendar) -> None:
    assert cal.next_working_day(D("2026-06-05")) == D("2026-06-05")
    assert cal.next_working_day(D("2026-06-05"), include_same_day=False) == D("2026-06-08")


# --- times ------------------------------------------------------------------------------------------


def test_day_at_follows_the_clocks_change(cal: WorkingCalendar) -> None:
    # Clocks go forward on Sunday 28 March 2027; Monday 29 is Easter Monday, so Day 2 is Tuesday 30.
    assert cal.day_at(D("2027-03-25"), 1, "09:00") == _utc("2027-03-25T09:00")
    assert cal.day_at(D("2027-03-25"), 2, "09:00") == _utc("2027-03-30T08:00")
    assert cal.working_days_after("2027-03-28", 1, "09:00") == _utc("2027-03-30T08:00")


def test_working_days_after_starts_from_the_london_date(cal: WorkingCalendar) -> None:
    # 23:30 UTC Friday 5 June is Saturday in London: one working day after Saturday is Monday.
    assert cal.working_days_after(_utc("2026-06-05T23:30"), 1, "17:00") == _utc("2026-06-08T16:00")
    assert cal.working_days_after("2026-06-05T23:30:00+00:00", 1, "17:00") == _utc("2026-06-08T16:00")
    assert cal.working_days_after(D("2026-06-05"), 1, "17:00") == _utc("2026-06-08T16:00")
    with pytest.raises(ValueError):
        cal.working_days_after("2026-06-05T23:30:00", 1, "17:00")  # naive text
    with pytest.raises(ValueError):
        cal.working_days_after("next week", 1, "17:00")


def test_results_are_aware_utc(cal: WorkingCalendar) -> None:
    result = cal.day_at(D("2026-12-18"), 15, "17:00")
    assert result.utcoffset() == timedelta(0)
    assert result == _utc("2027-01-12T17:00")  # GMT in January
    assert to_london(result).strftime("%Y-%m-%d %H:%M %Z") == "2027-01-12 17:00 GMT"


def test_london_time_uses_gmt_or_bst_for_the_date() -> None:
    assert london_time("2026-01-15", "09:00") == _utc("2026-01-15T09:00")
    assert london_time(D("2026-07-15"), "09:00") == _utc("2026-07-15T08:00")


@pytest.mark.parametrize("bad", ["9am", "24:00", "12:60", "", "12.30", "1230"])
def test_parse_hhmm_rejects_anything_but_hh_mm(bad: str) -> None:
    with pytest.raises(ValueError, match="expected HH:MM"):
        parse_hhmm(bad)


def test_parse_hhmm_reads_hours_and_minutes() -> None:
    assert parse_hhmm("09:05") == time(9, 5)
    assert parse_hhmm("17:00") == time(17, 0)


# --- configuration ----------------------------------------------------------------------------------


def _gov_uk_file(tmp_path: Path, events: list[dict[str, str]]) -> Path:
    path = tmp_path / "bank-holidays.json"
    path.write_text(json.dumps({
        "england-and-wales": {"division": "england-and-wales", "events": events},
        "scotland": {"division": "scotland", "events": [{"title": "St Andrew's Day", "date": "2026-11-30"}]},
    }))
    return path


def _event(title: str, day: str, notes: str = "") -> dict[str, str]:
    return {"title": title, "date": day, "notes": notes, "bunting": "true"}


def test_an_override_file_replaces_the_package_for_the_years_it_covers(tmp_path: Path) -> None:
    events = [_event(f"Holiday {d}", d) for d in BANK_HOLIDAYS[2026] if d != "2026-05-25"]
    events.append(_event("Made-up Coronation Day", "2026-06-10"))
    events[-2] = _event("Boxing Day", "2026-12-28", "Substitute day")
    cal = WorkingCalendar.from_settings(_gov_uk_file(tmp_path, events))

    assert cal.closed_reason(D("2026-06-10")) == "Made-up Coronation Day"
    assert cal.is_working_day(D("2026-05-25"))  # dropped by the file
    assert cal.closed_reason(D("2026-12-28")) == "Boxing Day (substitute day)"
    assert cal.closed_reason(D("2026-11-30")) is None  # Scotland is not England and Wales
    # 2027 is not in the file: the package still counts.
    assert cal.closed_reason(D("2027-03-29")) == "Easter Monday"
    # 25 May now counts and 10 June does not: Day 2 moves a day earlier, Day 15 ends up the same.
    assert cal.day_date(D("2026-05-22"), 2) == D("2026-05-25")
    assert cal.day_date(D("2026-05-22"), 13) == D("2026-06-09")
    assert cal.day_date(D("2026-05-22"), 14) == D("2026-06-11")
    assert cal.deadline_date(D("2026-05-22")) == D("2026-06-12")


def test_load_bank_holidays_file_reads_the_england_and_wales_events(tmp_path: Path) -> None:
    path = _gov_uk_file(tmp_path, [_event("Christmas Day", "2027-12-27", "Substitute day")])
    assert load_bank_holidays_file(path) == {D("2027-12-27"): "Christmas Day (substitute day)"}


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"scotland": {"events": []}}), "england-and-wales"),
        (json.dumps({"england-and-wales": {"events": [{"title": "X", "date": "2026-02-30"}]}}), "event 1"),
        (json.dumps({"england-and-wales": {"events": "none"}}), "events"),
    ],
)
def test_a_broken_override_file_is_a_config_error_naming_the_file(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "broken-holidays.json"
    path.write_text(content)
    with pytest.raises(CalendarConfigError, match=complaint) as caught:
        WorkingCalendar.from_settings(path)
    assert "broken-holidays.json" in str(caught.value)


def test_a_missing_override_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarConfigError, match="missing.json"):
        WorkingCalendar.from_settings(tmp_path / "missing.json")


def test_closure_dates_are_not_working_days_and_push_the_deadline() -> None:
    cal = WorkingCalendar.from_settings(None, "2026-12-29, 2026-12-30,2026-12-31,")
    assert cal.closed_reason(D("2026-12-30")) == "Partnership closure"
    assert cal.deadline_date(D("2026-12-18")) == D("2027-01-15")
    assert WorkingCalendar(closures=[D("2026-06-10")]).closed_reason(D("2026-06-10")) == "Partnership closure"
    assert WorkingCalendar.from_settings("", [D("2026-06-10"), "2026-06-11"]).is_working_day(D("2026-06-11")) is False


def test_a_bad_closure_date_is_a_config_error_naming_the_value() -> None:
    with pytest.raises(CalendarConfigError, match="2026-13-01"):
        WorkingCalendar.from_settings(None, "2026-12-24,2026-13-01")


# --- command line -----------------------------------------------------------------------------------


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="rapidreview")
    calendar_command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_calendar_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(calendar_command.ENV_FILE, raising=False)
    monkeypatch.delenv(calendar_command.ENV_CLOSURES, raising=False)


def test_the_cli_prints_day_15(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["calendar", "day", "15", "--from", "2026-05-22"], capsys) == (0, "2026-06-12\n", "")


def test_the_cli_counts_day_one_from_a_weekend_notification(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["calendar", "day", "1", "--from", "2026-06-06"], capsys) == (0, "2026-06-08\n", "")


def test_the_cli_prints_day_one_and_the_deadline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["calendar", "deadline", "--from", "2026-12-18"], capsys)
    assert code == 0
    assert "Day 1: 2026-12-18" in out and "Day 15: 2027-01-12" in out


def test_the_cli_lists_weekday_holidays_with_reasons(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["calendar", "holidays", "--year", "2026"], capsys)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == BANK_HOLIDAYS[2026]
    assert "2026-12-28 Monday Boxing Day (substitute day)" in out


def test_the_cli_reads_closures_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(calendar_command.ENV_CLOSURES, "2026-06-01")
    assert _run(["calendar", "day", "15", "--from", "2026-05-22"], capsys) == (0, "2026-06-15\n", "")


def test_the_cli_reports_a_bad_date_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["calendar", "day", "15", "--from", "2026-02-30"], capsys)
    assert (code, out) == (2, "")
    assert err.startswith("rapidreview: error: ") and "2026-02-30" in err


def test_the_cli_reports_a_bad_environment_cleanly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(calendar_command.ENV_FILE, str(tmp_path / "nope.json"))
    code, _, err = _run(["calendar", "deadline", "--from", "2026-05-22"], capsys)
    assert code == 2 and "rapidreview: error: " in err and "nope.json" in err


# -- Day-1 work and working hours -----------------------------------------------------------------------------

@pytest.mark.parametrize("notified, due", [
    ("2026-05-22T09:30", "2026-05-22T17:00"),   # Friday morning: 17:00 that day
    ("2026-05-22T13:00", "2026-05-22T17:00"),   # 13:00 exactly is not after 13:00
    ("2026-05-22T13:01", "2026-05-26T12:00"),   # Friday afternoon before the late May bank holiday: Tuesday noon
    ("2026-05-22T16:45", "2026-05-26T12:00"),
    ("2026-05-23T16:45", "2026-05-26T17:00"),   # Saturday: Day 1 is Tuesday, all of it
    ("2026-12-24T15:00", "2026-12-29T12:00"),   # Christmas Eve afternoon: Day 2 is after Christmas and Boxing Day
])
def test_day_one_work_is_due_at_five_on_day_one_or_noon_on_day_two_after_a_late_notification(
        cal: WorkingCalendar, notified: str, due: str) -> None:
    when = london_time(D(notified[:10]), notified[11:])
    assert to_london(cal.first_day_due(when)).strftime("%Y-%m-%dT%H:%M") == due


@pytest.mark.parametrize("meeting, hours, due", [
    ("2026-06-03T14:00", 2, "2026-06-03T12:00"),   # Wednesday 14:00: noon the same day
    ("2026-06-03T10:00", 2, "2026-06-02T16:00"),   # 10:00: one hour that day, one the working day before
    ("2026-06-01T10:30", 2, "2026-05-29T16:30"),   # Monday 10:30: 90 minutes that day, 30 on Friday (no weekend)
    ("2026-05-26T09:00", 2, "2026-05-22T15:00"),   # Tuesday 09:00 after the bank holiday Monday
    ("2026-06-03T18:30", 2, "2026-06-03T15:00"),   # after hours counts from 17:00
    ("2026-06-03T14:00", 0, "2026-06-03T14:00"),
])
def test_working_hours_before_counts_only_working_hours(cal: WorkingCalendar, meeting: str, hours: int,
                                                      due: str) -> None:
    when = london_time(D(meeting[:10]), meeting[11:])
    assert to_london(cal.working_hours_before(when, hours)).strftime("%Y-%m-%dT%H:%M") == due
