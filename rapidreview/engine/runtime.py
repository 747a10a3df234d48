"""A running case's workflow: start, restore, complete user tasks, advance timers, save.

This module, with the others in ``rapidreview.engine``, is the only code that imports SpiffWorkflow. The rest
of the application sees plain values: :class:`UserTaskView`, :class:`FiredTimer`, ISO strings.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BaseMessageDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.specs.defaults import UserTask
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from rapidreview.calendar import WorkingCalendar
from rapidreview.engine import storage, timer_clock
from rapidreview.engine.process import CompiledProcess
from rapidreview.engine.scripting import CaseScriptEngine, LazyTimes, ServiceHost, ServiceUnavailable
from rapidreview.engine.service_tasks import AWAITING

timer_clock.install()


class EngineError(RuntimeError):
    """The engine could not take a step; the caller's transaction must roll back."""


class TaskNotReady(EngineError):
    pass


@dataclass(frozen=True)
class UserTaskView:
    id: str
    element_id: str
    name: str
    process_id: str
    lane: str | None
    form: str | None
    ui_form: str | None
    instructions: str | None
    partner: str | None
    agency: Mapping[str, Any] | None
    due: datetime | None
    previous_answers: Mapping[str, Any] | None
    data: Mapping[str, Any] = field(repr=False)
    # The form's starting answers the process gives (task metadata "default:<field>"), evaluated now.
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # What the task's page shows above the form (task metadata "show": panel names, comma-separated).
    show: tuple[str, ...] = ()
    # When each element of the case's processes is due or fires (ISO text), worked out on first use: the
    # instructions say deadlines from the process, not from words typed into them.
    times: Mapping[str, str] = field(default_factory=dict, repr=False)


DEFAULT_PREFIX = "default:"


@dataclass(frozen=True)
class FiredTimer:
    element_id: str
    name: str
    due: datetime | None
    partner: str | None
    agency: Mapping[str, Any] | None


@dataclass(frozen=True)
class CaseAction:
    """Something a person may do to a case while it waits for it: a message event with a form (moving the
    meeting, say). The BPMN gives the form and, with the property ``sentBy``, the role that may send it."""

    element_id: str
    name: str
    message: str
    form: str | None
    ui_form: str | None
    sent_by: str | None
    data: Mapping[str, Any] = field(repr=False)


CHECK_PREFIX = "check:"  # task metadata "check:<field>": an expression giving a message when the answer is wrong


@dataclass
class StepResult:
    fired_timers: list[FiredTimer] = field(default_factory=list)
    completed_elements: list[str] = field(default_factory=list)


def _timer_definition(task: Any) -> TimerEventDefinition | None:
    definition = getattr(task.task_spec, "event_definition", None)
    return definition if isinstance(definition, TimerEventDefinition) else None


def _timer_due(task: Any) -> datetime | None:
    definition = _timer_definition(task)
    if definition is None:
        return None
    value = definition.details(task).value
    if value is None:
        return None
    if isinstance(value, dict):  # cycle timers keep {"next": ...}
        value = value.get("next")
    parsed = TimerEventDefinition.parse_time_or_duration(value)
    return parsed if isinstance(parsed, datetime) else None


class CaseWorkflow:
    def __init__(self, workflow: BpmnWorkflow, engine: CaseScriptEngine) -> None:
        self._wf = workflow
        self._engine = engine
        workflow.script_engine = engine

    # -- reading -------------------------------------------------------------------------------
    @property
    def is_completed(self) -> bool:
        return bool(self._wf.is_completed())

    def ready_user_tasks(self) -> list[UserTaskView]:
        tasks = self._wf.get_tasks(state=TaskState.READY, manual=True)
        return [self._view(t) for t in tasks if isinstance(t.task_spec, UserTask)]

    def ready_user_task_ids(self) -> list[str]:
        """The ids of :meth:`ready_user_tasks`, in the same order, without building the views: a view
        evaluates the due expression and copies earlier answers, which a step needs only for new tasks."""
        tasks = self._wf.get_tasks(state=TaskState.READY, manual=True)
        return [str(t.id) for t in tasks if isinstance(t.task_spec, UserTask)]

    def user_task_view(self, task_id: str) -> UserTaskView:
        """The view of one task from :meth:`ready_user_task_ids`."""
        return self._view(self._wf.get_task_from_id(UUID(task_id)))

    def completed_element_ids(self) -> set[str]:
        return {t.task_spec.bpmn_id for t in self._wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id}

    def element_states(self) -> dict[str, dict[str, str]]:
        """Per process file, each element's state for the diagram: done, active (people) or waiting (time)."""
        states: dict[str, dict[str, str]] = {}
        rank = {"done": 0, "waiting": 1, "active": 2}
        for task in self._wf.get_tasks():
            spec = task.task_spec
            if not spec.bpmn_id:
                continue
            if task.state == TaskState.COMPLETED:
                state = "done"
            elif task.state == TaskState.READY and isinstance(spec, UserTask):
                state = "active"
            elif task.state == TaskState.WAITING:
                # Timers and other events; started sub-processes stay unmarked so they do not drown the page.
                state = "waiting"
            else:
                continue
            file = getattr(task.workflow.spec, "file", None) or ""
            per_file = states.setdefault(file.rsplit("/", 1)[-1], {})
            if rank[state] >= rank.get(per_file.get(spec.bpmn_id, "done"), 0):
                per_file[spec.bpmn_id] = state
        return states

    def next_timer_due(self) -> datetime | None:
        dues = [d for t in self._wf.get_tasks(state=TaskState.WAITING) if (d := _timer_due(t)) is not None]
        return min(dues) if dues else None

    def element_name(self, element_id: str) -> str | None:
        """The name the process gives an element (any of its processes), or None."""
        for spec in [self._wf.spec, *self._wf.subprocess_specs.values()]:
            for task_spec in spec.task_specs.values():
                if getattr(task_spec, "bpmn_id", None) == element_id:
                    return task_spec.bpmn_name or None
        return None

    def waiting_timers(self) -> list[tuple[str, datetime]]:
        return [(t.task_spec.bpmn_id, d) for t in self._wf.get_tasks(state=TaskState.WAITING)
                if (d := _timer_due(t)) is not None]

    def waiting_actions(self) -> list[CaseAction]:
        """The message events the case waits for that people send from a form."""
        actions = []
        for task in self._wf.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            props = (getattr(task.task_spec, "extensions", {}) or {}).get("properties", {}) or {}
            if isinstance(definition, BaseMessageDefinition) and props.get("formJsonSchemaFilename"):
                spec = task.task_spec
                actions.append(CaseAction(spec.bpmn_id, spec.bpmn_name or spec.bpmn_id, definition.name,
                                          props["formJsonSchemaFilename"], props.get("formUiSchemaFilename"),
                                          props.get("sentBy"), task.data))
        return actions

    def answer_problems(self, element_id: str, answers: Mapping[str, Any], task_id: str | None = None) -> list[tuple[str, str]]:
        """(field, message) for each of the element's ``check:<field>`` expressions that finds fault with
        ``answers``. They see the task's data and ``answers``; a ready user task (``task_id``) or a waiting
        action (``element_id``) is looked up."""
        if task_id is not None:
            task = self._wf.get_task_from_id(UUID(task_id))
        else:
            found = [t for t in self._wf.get_tasks(state=TaskState.WAITING) if t.task_spec.bpmn_id == element_id]
            if not found:
                raise TaskNotReady(f"the case is not waiting for {element_id}")
            task = found[0]
        metadata = (getattr(task.task_spec, "extensions", {}) or {}).get("taskMetadataValues", {}) or {}
        problems = []
        for name, expression in metadata.items():
            if not name.startswith(CHECK_PREFIX):
                continue
            try:
                message = self._engine.environment.evaluate(expression, {**task.data, "answers": dict(answers)})
            except Exception as exc:  # a fault in the process, not in the person's answers: say so plainly
                raise EngineError(f"{element_id}: the check {name!r} failed ({type(exc).__name__}: {exc}); "
                                  "correct it in the process") from exc
            if message:
                problems.append((name[len(CHECK_PREFIX):], str(message)))
        return problems

    def _view(self, task: Any) -> UserTaskView:
        spec = task.task_spec
        ext = getattr(spec, "extensions", {}) or {}
        props = ext.get("properties", {}) or {}
        metadata = ext.get("taskMetadataValues", {}) or {}
        due = None
        if metadata.get("due"):
            try:
                due = datetime.fromisoformat(self._engine.evaluate(task, metadata["due"]))
            except (SpiffWorkflowException, ValueError, TypeError):
                due = None  # a bad due expression must not hide the task; validation reports it
        agency = task.data.get("agency")
        previous = task.data.get(spec.bpmn_id)
        defaults = {}
        for name, expression in metadata.items():
            if name.startswith(DEFAULT_PREFIX):
                # A default is a convenience: a broken one leaves the field empty; validation reports it.
                with contextlib.suppress(SpiffWorkflowException, ValueError, TypeError, KeyError, NameError):
                    defaults[name[len(DEFAULT_PREFIX):]] = self._engine.evaluate(task, expression)
        return UserTaskView(
            id=str(task.id), element_id=spec.bpmn_id, name=spec.bpmn_name or spec.bpmn_id,
            process_id=task.workflow.spec.name, lane=spec.lane, form=props.get("formJsonSchemaFilename"),
            ui_form=props.get("formUiSchemaFilename"), instructions=ext.get("instructionsForEndUser"),
            partner=task.data.get("partner") if isinstance(task.data.get("partner"), str) else None,
            agency=agency if isinstance(agency, dict) else None, due=due,
            previous_answers=copy.deepcopy(previous) if isinstance(previous, dict) else None,
            data=task.data, defaults=defaults,
            show=tuple(p.strip() for p in str(metadata.get("show") or "").split(",") if p.strip()),
            times=LazyTimes(lambda: self._engine.element_times(task)),
        )

    # -- acting ----------------------------------------------------------------------------------
    def complete_user_task(self, task_id: str, answers: Mapping[str, Any], host: ServiceHost) -> StepResult:
        try:
            task = self._wf.get_task_from_id(UUID(task_id))
        except (SpiffWorkflowException, ValueError):
            raise TaskNotReady(f"task {task_id} is not part of this case") from None
        if task.state != TaskState.READY or not isinstance(task.task_spec, UserTask):
            raise TaskNotReady(f"task {task.task_spec.bpmn_id} is not ready (it is {TaskState.get_name(task.state)})")
        # Answers live under the task's id: gateways read e.g. sign_off_final_report["decision"], and a
        # multi-instance task whose output item has the task's id collects them per partner or agency.
        task.data[task.task_spec.bpmn_id] = copy.deepcopy(dict(answers))
        return self._run(host, first=task)

    def send_message(self, element_id: str, payload: Mapping[str, Any], host: ServiceHost) -> StepResult:
        """Deliver the message the waiting action ``element_id`` catches, with ``payload``, and run on."""
        action = next((a for a in self.waiting_actions() if a.element_id == element_id), None)
        if action is None:
            raise TaskNotReady(f"the case is not waiting for {element_id}")
        self._wf.catch(BpmnEvent(MessageEventDefinition(action.message), payload=copy.deepcopy(dict(payload))))
        return self._run(host)

    def advance(self, host: ServiceHost) -> StepResult:
        """Fire every timer due by now and run the engine until it waits for people or time."""
        return self._run(host)

    def _run(self, host: ServiceHost, first: Any = None) -> StepResult:
        result = StepResult()

        def did_complete(task: Any) -> None:
            if task.state != TaskState.COMPLETED:
                return  # run but not done: a service task now waiting for its work (the Panel's e-mail)
            spec = task.task_spec
            if spec.bpmn_id:
                result.completed_elements.append(spec.bpmn_id)
            if isinstance(spec, CatchingEvent) and _timer_definition(task) is not None:
                agency = task.data.get("agency")
                result.fired_timers.append(FiredTimer(
                    element_id=spec.bpmn_id, name=spec.bpmn_name or spec.bpmn_id, due=_timer_due(task),
                    partner=task.data.get("partner") if isinstance(task.data.get("partner"), str) else None,
                    agency=agency if isinstance(agency, dict) else None,
                ))

        self._engine.environment.host = host
        try:
            if self._resume_waiting_tasks(host, did_complete):
                # Finish what the resumed tasks lead to before timers are refreshed: a National Panel e-mail
                # accepted at 16:59 ends the review, so the 17:00 deadline timer must not fire afterwards.
                self._wf.do_engine_steps(did_complete_task=did_complete)
            if first is not None:
                first.run()
                did_complete(first)
            # refresh_timers first: do_engine_steps only refreshes at its end, which would leave a fired
            # timer READY until the next call.
            for _ in range(100):
                self._wf.refresh_timers()
                before = len(result.completed_elements)
                self._wf.do_engine_steps(did_complete_task=did_complete)
                if len(result.completed_elements) == before and not self._ready_engine_tasks():
                    break
        except SpiffWorkflowException as exc:
            raise EngineError(_describe(exc)) from exc
        finally:
            self._engine.environment.host = ServiceUnavailable()
        return result

    def _resume_waiting_tasks(self, host: ServiceHost, did_complete: Any) -> bool:
        """Complete each service task whose handed-on work the host reports done, with its result."""
        resumed = False
        for task in self._wf.get_tasks(state=TaskState.STARTED):
            key = task.internal_data.get(AWAITING)
            if key is None:
                continue
            outcome = host.outcome(key)
            if outcome is None:
                continue
            del task.internal_data[AWAITING]
            variable = task.task_spec.result_variable
            task.data[variable] = {**(task.data.get(variable) or {}), **outcome}
            task.complete()
            did_complete(task)
            resumed = True
        return resumed

    def _ready_engine_tasks(self) -> bool:
        return any(not t.task_spec.manual for t in self._wf.get_tasks(state=TaskState.READY))

    def dump(self) -> str:
        return storage.dumps(self._wf)


def _describe(exc: SpiffWorkflowException) -> str:
    """File, element and the underlying reason, e.g. ``information_sharing.bpmn, element x: ...: bad time``."""
    spec = getattr(exc, "task_spec", None)
    task = getattr(exc, "task", None)
    file = getattr(getattr(getattr(task, "workflow", None), "spec", None), "file", None)
    element = getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)
    where = ", ".join(p for p in (file, f"element {element}" if element else None) if p)
    cause = exc.__cause__ or exc.__context__
    reason = str(exc).strip().rstrip(".")
    if cause is not None and str(cause) and str(cause) not in reason:
        reason = f"{reason}: {cause}"
    return f"{where}: {reason}" if where else reason


class Engine:
    """Starts and restores case workflows with the script environment bound to a working calendar."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar

    def start(self, process: CompiledProcess, start_data: Mapping[str, Any], host: ServiceHost) -> tuple[CaseWorkflow, StepResult]:
        engine = CaseScriptEngine(self.calendar)
        wf = BpmnWorkflow(process.spec, process.subprocess_specs, script_engine=engine)
        # Scripts and expressions see task data only, so the case data goes on the start task.
        start = wf.get_tasks(state=TaskState.READY)[0]
        start.data.update(copy.deepcopy(dict(start_data)))
        case = CaseWorkflow(wf, engine)
        return case, case.advance(host)

    def restore(self, serialized: str, process: CompiledProcess | None = None) -> CaseWorkflow:
        """The stored workflow, on ``process`` (its case's version, parsed once per version): the stored
        form holds the workflow's state only (see :mod:`rapidreview.engine.storage`)."""
        engine = CaseScriptEngine(self.calendar)
        try:
            wf = storage.loads(serialized, process)
        except storage.MissingProcess as exc:
            raise EngineError(str(exc)) from None
        return CaseWorkflow(wf, engine)
