"""Looking at a process version without running a case: does SpiffWorkflow accept it, and what do its
expressions evaluate to on a sample case.

``rapidreview.services.definitions.validation`` does the checks a process owner reads; the parts that need SpiffWorkflow
(its parser and XSD validation, the script environment, its timer parsing) live here so that
``rapidreview.engine`` stays the only package importing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from rapidreview.calendar import WorkingCalendar
from rapidreview.engine.process import ProcessBundle, ProcessDefinitionError, compile_bundle
from rapidreview.engine.scripting import CaseScriptEnvironment


@dataclass(frozen=True)
class ParseProblem:
    file: str | None
    element_id: str | None
    message: str


def parse_problem(files: Mapping[str, bytes], process_id: str) -> ParseProblem | None:
    """None when SpiffWorkflow parses the bundle (XSD-valid, every call activity found), else why not."""
    try:
        compile_bundle(ProcessBundle(dict(files)), process_id)
    except ProcessDefinitionError as exc:
        message = str(exc)
        where = ", ".join(p for p in (exc.file, f"element {exc.element}" if exc.element else None) if p)
        if where and message.startswith(where + ": "):
            message = message[len(where) + 2:]
        return ParseProblem(exc.file, exc.element, message)
    return None


class SampleCase:
    """Evaluates expressions and runs scripts exactly as a case would, on data the caller supplies."""

    def __init__(self, calendar: WorkingCalendar, data: Mapping[str, Any]) -> None:
        self.environment = CaseScriptEnvironment(calendar)
        self.data: dict[str, Any] = dict(data)

    def evaluate(self, expression: str) -> Any:
        return self.environment.evaluate(expression, dict(self.data))

    def run_script(self, script: str) -> None:
        """Run a script task's script; what it sets joins the sample data for later expressions."""
        context = dict(self.data)
        self.environment.execute(script, context)
        self.data = context


def timer_value(kind: str, value: Any) -> datetime | timedelta | str:
    """What a timer expression's value means to the engine; ``ValueError`` says why it cannot be used.

    ``timeDate`` must be a date and time with a UTC offset (naive ones get a fixed offset in SpiffWorkflow,
    wrong half the year); ``timeDuration`` an ISO-8601 duration; ``timeCycle`` a recurring interval.
    """
    if not isinstance(value, str):
        raise ValueError(f"it gave {type(value).__name__} {value!r}, not an ISO-8601 text "
                         "(the calendar functions day(), working_days_after() and london_time() return one)")
    try:
        if kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
            return value
        parsed = TimerEventDefinition.parse_time_or_duration(value)
    except Exception as exc:  # SpiffWorkflow raises whatever its parsing hits
        raise ValueError(f"{value!r} is not an ISO-8601 date and time or duration ({exc})") from None
    if kind == "timeDate":
        if not isinstance(parsed, datetime):
            raise ValueError(f"{value!r} is not a date and time")
        if parsed.tzinfo is None or datetime.fromisoformat(value).tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset; use day(), working_days_after() or london_time()")
    elif kind == "timeDuration" and not isinstance(parsed, timedelta):
        raise ValueError(f"{value!r} is not a duration like 'PT2H'")
    return parsed
