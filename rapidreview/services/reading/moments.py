"""When a step of a case is due or fires, said the way people read it.

E-mails, instructions and previews all say deadlines from the process's own due dates and timers
(``due.<element>.at``), never from words typed into a template, so changing the BPMN changes the words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from rapidreview.calendar import WorkingCalendar, clock_time, to_london


class Moments(dict[str, dict[str, Any]]):
    """Element id -> its moment; an element whose time is not known yet is None, so a template can ask."""

    def __missing__(self, key: str) -> None:
        return None


def describe_moments(calendar: WorkingCalendar, day_one: date, times: Mapping[str, str]) -> Moments:
    """Each element's due or firing time: ``.time`` "5pm", ``.date`` "Wednesday 30 December 2026", ``.day`` 7,
    ``.at`` "5pm on Wednesday 30 December 2026 (Day 7)"."""
    out = Moments()
    for element, value in times.items():
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            continue
        day = calendar.case_day(day_one, when)
        date_text = to_london(when).strftime("%A %-d %B %Y")
        out[element] = {
            "time": clock_time(when),
            "date": date_text,
            "day": day,
            "at": f"{clock_time(when)} on {date_text} (Day {day})",
        }
    return out
