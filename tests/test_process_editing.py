"""The process editor's server side: what it accepts as an edit, and the due-date preview's words."""

from __future__ import annotations

import pytest

from rapidreview.calendar import WorkingCalendar
from rapidreview.services.definitions.process_editing import EditError, merged_files, preview_date

BASE = {"bpmn/rapid_review.bpmn": b"<a/>", "forms/x.schema.json": b"{}"}


def test_an_edit_replaces_only_the_files_it_sends() -> None:
    files = merged_files(BASE, {"bpmn/rapid_review.bpmn": "<b/>"})
    assert files == {"bpmn/rapid_review.bpmn": b"<b/>", "forms/x.schema.json": b"{}"}


@pytest.mark.parametrize(
    "path", ["forms/x.schema.json", "bpmn/../x.bpmn", "bpmn/sub/x.bpmn", "bpmn/x.txt", "x.bpmn"]
)
def test_an_edit_may_not_write_anything_but_a_process_file(path: str) -> None:
    with pytest.raises(EditError, match="is not a process file name"):
        merged_files(BASE, {path: "<b/>"})


def test_an_empty_edit_is_refused() -> None:
    with pytest.raises(EditError, match="nothing has changed"):
        merged_files(BASE, {})


def test_the_preview_gives_the_date_and_day_or_says_how_to_write_it() -> None:
    calendar = WorkingCalendar.from_settings(None, ())
    assert preview_date(calendar, 'day(6, "17:00")').endswith("Monday 1 June 2026 at 17:00, Day 6.")
    assert 'write Day 6 at 17:00 as day(6, "17:00")' in preview_date(calendar, "Day 6 17:00")
    assert "has no UTC offset" in preview_date(calendar, '"2026-06-01T09:00:00"')
    assert "uses data a case has only later" in preview_date(
        calendar, 'working_days_after(meeting_starts_at, 1, "09:00")'
    )
    assert preview_date(calendar, "  ") == ""
