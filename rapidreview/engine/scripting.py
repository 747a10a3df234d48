"""The script environment: what BPMN expressions, scripts and timers may call.

Expressions see a small, explicit set of builtins and the calendar functions below, bound to the case
being evaluated (its ``day_one``). Service tasks are routed to a :class:`ServiceHost` supplied by the
caller, so the engine never talks to a database, mail server or file system itself.
"""

from __future__ import annotations

import ast
import builtins
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from rapidreview import clock
from rapidreview.calendar import WorkingCalendar, to_london
from rapidreview.calendar import london_time as _london_time

# Enough for gateway conditions and short data-shaping scripts; nothing that reaches the outside world.
_ALLOWED_BUILTINS = (
    "len", "all", "any", "sorted", "min", "max", "sum", "str", "int", "float", "bool", "list", "dict",
    "set", "tuple", "round", "abs", "enumerate", "zip", "range", "isinstance", "True", "False", "None",
    "KeyError", "ValueError",
)
SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _ALLOWED_BUILTINS}
MAX_RANGE = 100_000  # range() in BPMN code: enough for any real list, not for a busy loop


class ScriptRejected(ValueError):
    """BPMN code that uses something the restricted environment does not allow."""


def _bounded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise ValueError(f"range() of {len(r)} items in BPMN code: at most {MAX_RANGE}")
    return r


SAFE_BUILTINS["range"] = _bounded_range


def check_code(code: str, kind: str = "expression") -> None:
    """Refuse, before it runs, BPMN code that imports, loops without bound or reaches for private names.

    Any name, attribute or keyword starting with "_" is refused: that closes the dunder escapes
    (``().__class__.__base__.__subclasses__()``) that lead from a restricted eval to ``os``.
    """
    try:
        tree = ast.parse(code, mode="eval" if kind == "expression" else "exec")
    except SyntaxError:
        return  # the engine reports the syntax error itself, with the task
    for node in ast.walk(tree):
        problem = None
        if isinstance(node, ast.Import | ast.ImportFrom):
            problem = "imports are not allowed"
        elif isinstance(node, ast.While):
            problem = "while loops are not allowed (their run time is unbounded)"
        elif isinstance(node, ast.Global | ast.Nonlocal | ast.AsyncFunctionDef | ast.Await | ast.Yield | ast.YieldFrom):
            problem = f"{type(node).__name__} is not allowed"
        elif isinstance(node, ast.Name) and node.id.startswith("_"):
            problem = f"the name {node.id!r} is not allowed (names starting with _ are private)"
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            problem = f"the attribute {node.attr!r} is not allowed (names starting with _ are private)"
        elif isinstance(node, ast.keyword) and node.arg and node.arg.startswith("_"):
            problem = f"the keyword {node.arg!r} is not allowed"
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.alias) and node.name.startswith("_"):
            problem = f"the name {node.name!r} is not allowed"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
            problem = f"the string {node.value!r} is not allowed (it names a private attribute)"
        if problem:
            raise ScriptRejected(f"BPMN {kind} {code.strip()[:200]!r} was refused: {problem}")

CALENDAR_FUNCTIONS = ("day", "day_date", "day_one_due", "working_days_after", "working_hours_before", "london_time",
                      "now", "case_day", "long_date")
RESERVED_NAMES = frozenset(CALENDAR_FUNCTIONS) | frozenset(_ALLOWED_BUILTINS)


@dataclass(frozen=True)
class ServiceCall:
    """One service task asking the application to do something."""

    operation: str
    params: dict[str, Any]
    element_id: str
    task_id: str
    data: Mapping[str, Any]
    # When each element of the case's process is due or fires, as the process says (its due and timer
    # expressions, evaluated with this task's data; ISO text): e-mails give the process's own deadlines.
    times: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Awaiting:
    """A host's answer that it handed the work on: the task waits (STARTED, saved with the case) until
    :meth:`ServiceHost.outcome` reports a result for ``key``. ``queued`` is what the task holds meanwhile."""

    key: str
    queued: dict[str, Any]


class ServiceHost(Protocol):
    def call(self, call: ServiceCall) -> dict[str, Any] | Awaiting: ...

    def outcome(self, key: str) -> dict[str, Any] | None:
        """The result of work handed on with ``Awaiting(key)``, or None while it is not done."""
        ...


class ServiceUnavailable:
    """The host used when a workflow is only inspected: running a service task then is a bug."""

    def call(self, call: ServiceCall) -> dict[str, Any]:
        raise RuntimeError(f"service task {call.element_id} ran without a service host")

    def outcome(self, key: str) -> dict[str, Any] | None:
        raise RuntimeError(f"the outcome of {key} was asked for without a service host")


def calendar_functions(calendar: WorkingCalendar, data: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    """The functions a process owner writes in timers, bound to this case's Day 1."""

    def day_one() -> date:
        value = data.get("day_one")
        if not value:
            raise ValueError("this case has no day_one in its data, so day(...) cannot be computed")
        return date.fromisoformat(str(value))

    def day(n: int, hhmm: str = "09:00") -> str:
        return calendar.day_at(day_one(), int(n), hhmm).isoformat()

    def day_date(n: int) -> str:
        """The date of Day ``n`` of this case, as ``YYYY-MM-DD`` (for a form's date field)."""
        return calendar.day_date(day_one(), int(n)).isoformat()

    def day_one_due() -> str:
        """Day-1 work's due time: 17:00 on Day 1, or 12:00 on Day 2 when notified after 13:00 on Day 1."""
        notified = data.get("notified_at")
        if not notified:
            raise ValueError("this case has no notified_at in its data, so day_one_due() cannot be computed")
        return calendar.first_day_due(datetime.fromisoformat(str(notified))).isoformat()

    def working_hours_before(when: str | datetime, hours: float) -> str:
        return calendar.working_hours_before(when, float(hours)).isoformat()

    def case_day(when: str | date | datetime) -> int:
        """The day of this case ``when`` falls on (Day 1 is 1; a date before Day 1 is 0)."""
        moment = when if isinstance(when, date) else (
            date.fromisoformat(when) if len(str(when)) == 10 else datetime.fromisoformat(str(when)))
        return calendar.case_day(day_one(), moment)

    def long_date(when: str | date | datetime) -> str:
        """A date as people read it: "Friday 12 June 2026"."""
        text = str(when)
        moment = when if isinstance(when, date) else (
            date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text))
        if isinstance(moment, datetime):
            moment = to_london(moment).date()
        return moment.strftime("%A %-d %B %Y")

    def working_days_after(when: str | date | datetime, n: int, hhmm: str = "09:00") -> str:
        return calendar.working_days_after(when, int(n), hhmm).isoformat()

    def london_time(on: str | date, hhmm: str) -> str:
        return _london_time(on, hhmm).isoformat()

    def now() -> str:
        return clock.now().isoformat()

    return {"day": day, "day_date": day_date, "day_one_due": day_one_due, "working_days_after": working_days_after,
            "working_hours_before": working_hours_before, "london_time": london_time, "now": now,
            "case_day": case_day, "long_date": long_date}


class CaseScriptEnvironment(TaskDataEnvironment):
    def __init__(self, calendar: WorkingCalendar) -> None:
        super().__init__({"__builtins__": SAFE_BUILTINS})
        self.calendar = calendar
        self.host: ServiceHost = ServiceUnavailable()

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        check_code(expression, "expression")
        functions = calendar_functions(self.calendar, context)
        return super().evaluate(expression, context, {**functions, **(external_context or {})})

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        check_code(script, "script")
        functions = calendar_functions(self.calendar, context)
        return bool(super().execute(script, context, {**functions, **(external_context or {})}))


class LazyTimes(Mapping[str, str]):
    """Worked out on first use: only operators that write to people (e-mails) read the times."""

    def __init__(self, compute: Callable[[], dict[str, str]]) -> None:
        self._compute = compute
        self._value: dict[str, str] | None = None

    def _get(self) -> dict[str, str]:
        if self._value is None:
            self._value = self._compute()
        return self._value

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self) -> Any:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _time_expression(task_spec: Any) -> str | None:
    """A task's ``due`` metadata, or a timer event's expression."""
    metadata = (getattr(task_spec, "extensions", {}) or {}).get("taskMetadataValues", {}) or {}
    if metadata.get("due"):
        return str(metadata["due"])
    definition = getattr(task_spec, "event_definition", None)
    # Timers parse as TimeDate/Duration/CycleEventDefinition, subclasses of TimerEventDefinition.
    expression = getattr(definition, "expression", None) if isinstance(definition, TimerEventDefinition) else None
    return str(expression) if expression else None


class CaseScriptEngine(PythonScriptEngine):
    environment: CaseScriptEnvironment

    def __init__(self, calendar: WorkingCalendar) -> None:
        super().__init__(environment=CaseScriptEnvironment(calendar))

    def start_service(self, task: Any, operation_name: str, operation_params: Mapping[str, Any]) -> dict[str, Any] | Awaiting:
        """Call the host for a service task: a result, or :class:`Awaiting` when the task must wait."""
        params = {name: spec["value"] for name, spec in operation_params.items()}
        call = ServiceCall(operation=operation_name, params=params, element_id=task.task_spec.bpmn_id,
                           task_id=str(task.id), data=task.data, times=LazyTimes(lambda: self.element_times(task)))
        try:
            return self.environment.host.call(call)
        except WorkflowTaskException:
            raise
        except Exception as exc:
            # SpiffWorkflow 3.2.0's own error branch references an undefined name; raise a task error instead.
            raise WorkflowTaskException(f"service task failed: {exc}", task=task, exception=exc) from exc

    def element_times(self, task: Any) -> dict[str, str]:
        """Every due and timer expression in the case's processes, evaluated with ``task``'s data; those that
        cannot be (their data does not exist yet) are left out."""
        top = task.workflow.top_workflow
        specs = [top.spec, *top.subprocess_specs.values()]
        times: dict[str, str] = {}
        for spec in specs:
            for task_spec in spec.task_specs.values():
                expression = _time_expression(task_spec)
                if not expression or not task_spec.bpmn_id or task_spec.bpmn_id in times:
                    continue
                try:
                    value = self.environment.evaluate(expression, task.data)
                except Exception:
                    continue  # e.g. meeting_starts_at before the meeting is arranged
                if isinstance(value, str):
                    times[task_spec.bpmn_id] = value
        return times

    def call_service(self, task: Any, **kwargs: Any) -> str:
        # Only service tasks saved before tasks could wait come here (rapidreview.engine.service_tasks runs the
        # others): they complete at once, as they always did.
        outcome = self.start_service(task, kwargs["operation_name"], kwargs.get("operation_params", {}))
        return json.dumps(outcome.queued if isinstance(outcome, Awaiting) else outcome)
