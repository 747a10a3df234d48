"""The deadlines people read agree with the process.

E-mails, form text and instructions say a deadline by asking the process (``{{ due.<element>.at }}``:
"5pm on Friday 29 May 2026 (Day 7)"), so a process owner who moves a due date or a timer changes the words
with it. What is still written by hand ("by 5pm on Day 7", "within one week", ``case.days[7]``) is found
here and compared with the days the process's due dates and timers fall on for a sample case: a day
the process no longer uses is a warning naming the file and the words. A ``due.<element>`` that names no
element with a due date or timer would fail when the e-mail is sent, so that one is a problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any

from rapidreview.calendar import WorkingCalendar, to_london

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiff": SPIFF}
STATUTORY_DAY = 15  # the Panel's deadline is set by law, not by the model
LAST_DAY = 20

# "5pm on Day 7", "17:00 on Day 7", "by Day 14", "due by the end of Day 14", "Day 7, 17:00", "Day 7 at 17:00"
_DEADLINE_DAY = re.compile(
    r"\b(?P<time>\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2})\s+on\s+Day\s+(?P<day>\d{1,2})\b"
    r"|\b(?:by|due|until|before)\s+(?:the\s+end\s+of\s+)?Day\s+(?P<day2>\d{1,2})\b"
    r"|\bDay\s+(?P<day3>\d{1,2}),?\s+(?:at\s+)?(?P<time3>\d{1,2}[:.]\d{2})",
    re.IGNORECASE,
)
_CASE_DAYS = re.compile(r"case\.days\[(\d+)\]")
_WEEKS = re.compile(
    r"\b(?:within|in)\s+(?:one|a|two|1|2)\s+weeks?\b|\bdeadline of (?:one|a|two) weeks?\b", re.I
)
_DUE_REFERENCE = re.compile(r"(?<![\w.])due\.(\w+)")
_NAME_DAY = re.compile(r"\bDay\s+(\d{1,2})\b")


def _texts(files: Mapping[str, bytes], roots: Mapping[str, Any]) -> Iterator[tuple[str, str | None, str]]:
    """(file, element id or None, text) for everything a person reads that may state a deadline."""
    for path, content in sorted(files.items()):
        if path.startswith("templates/email/") and path.endswith((".txt", ".html")):
            yield path, None, content.decode("utf-8", "replace")
        elif path.startswith("forms/") and path.endswith(".json"):
            try:
                schema = json.loads(content)
                texts = list(_strings(schema))
            except (ValueError, RecursionError):
                continue  # the form checks report it
            yield from ((path.split("/", 1)[1], None, text) for text in texts)
    for name, root in roots.items():
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            text = el.findtext("bpmn:extensionElements/spiff:instructionsForEndUser", namespaces=NS)
            if text:
                yield name, el.get("id"), text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("title", "description") and isinstance(item, str):
                yield item
            else:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def timed_elements(roots: Mapping[str, Any]) -> set[str]:
    """Ids of the elements that have a due date or a timer: what ``due.<element>`` may name."""
    ids: set[str] = set()
    for root in roots.values():
        for el in root.iter():
            if not isinstance(el.tag, str) or not el.get("id"):
                continue
            has_due = any(
                v.get("name") == "due"
                for v in el.iterfind(
                    "bpmn:extensionElements/spiff:taskMetadataValues/spiff:taskMetadataValue", NS
                )
            )
            if has_due or el.find("bpmn:timerEventDefinition", NS) is not None:
                ids.add(el.get("id"))
    return ids


def check_wording(
    files: Mapping[str, bytes],
    roots: Mapping[str, Any],
    moments: Mapping[str, datetime],
    day_one: date,
    calendar: WorkingCalendar,
) -> tuple[list[tuple[str, str | None, str]], list[tuple[str, str | None, str]]]:
    """(problems, warnings), each as (file, element id, message)."""
    # Only the working days of a review: a sample expression that reads "now" lands far beyond them.
    at = {(calendar.case_day(day_one, m), to_london(m).strftime("%H:%M")) for m in moments.values()}
    at = {(day, hhmm) for day, hhmm in at if day <= LAST_DAY}
    days = {day for day, _ in at} | {STATUTORY_DAY}
    listed = ", ".join(f"Day {d}" for d in sorted(days))
    timed = timed_elements(roots)
    problems: list[tuple[str, str | None, str]] = []
    warnings: list[tuple[str, str | None, str]] = []
    for file, element, text in _texts(files, roots):
        for match in _DEADLINE_DAY.finditer(text):
            day = int(match.group("day") or match.group("day2") or match.group("day3"))
            hhmm = _hhmm(match.group("time") or match.group("time3"))
            if hhmm is not None and (day, hhmm) not in at and not (day == STATUTORY_DAY and day in days):
                when = f"at {hhmm} on Day {day}"
            elif day not in days:
                when = f"on Day {day}"
            else:
                continue
            warnings.append(
                (
                    file,
                    element,
                    f"the words {match.group(0)!r} give a deadline {when}, but no due date or "
                    f"timer of the process falls {when} (they fall on {listed}): say the "
                    "deadline with {{ due.<step id>.at }} so it follows the process",
                )
            )
        for match in _CASE_DAYS.finditer(text):
            day = int(match.group(1))
            if day not in days:
                warnings.append(
                    (
                        file,
                        element,
                        f"{match.group(0)} is the date of Day {day}, on which no due date or "
                        f"timer of the process falls ({listed}): use {{{{ due.<step id>.at }}}}",
                    )
                )
        for match in _WEEKS.finditer(text):
            warnings.append(
                (
                    file,
                    element,
                    f"the words {match.group(0)!r} state a deadline the process does not "
                    "know: say it with {{ due.<step id>.at }} (e.g. "
                    "due.complete_information_sharing_form.at)",
                )
            )
        for match in _DUE_REFERENCE.finditer(text):
            if match.group(1) not in timed:
                problems.append(
                    (
                        file,
                        element,
                        f"due.{match.group(1)} names no step with a due date or timer, so "
                        f"the text could not be written: use one of {', '.join(sorted(timed))}",
                    )
                )
    for root in roots.values():
        for el in root.iter(f"{{{BPMN}}}boundaryEvent", f"{{{BPMN}}}intermediateCatchEvent"):
            named = _NAME_DAY.search(el.get("name") or "")
            moment = moments.get(el.get("id") or "")
            if named and moment is not None and int(named.group(1)) != calendar.case_day(day_one, moment):
                fires = calendar.case_day(day_one, moment)
                warnings.append(
                    (
                        _file_of(roots, root),
                        el.get("id"),
                        f"its name says Day {named.group(1)} but its timer fires on Day {fires}: rename it",
                    )
                )
    return problems, warnings


def _hhmm(text: str | None) -> str | None:
    """ "5pm", "5.30pm", "17:00" -> "17:00"."""
    if not text:
        return None
    match = re.match(r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?", text.strip(), re.IGNORECASE)
    if match is None:
        return None
    hour = int(match.group(1)) % 24
    if (match.group(3) or "").lower() == "pm" and hour < 12:
        hour += 12
    if (match.group(3) or "").lower() == "am" and hour == 12:
        hour = 0
    return f"{hour:02d}:{match.group(2) or '00'}"


def _file_of(roots: Mapping[str, Any], root: Any) -> str:
    return next(name for name, r in roots.items() if r is root)
