"""Moving a running case's workflow to another version of its process, where that is safe.

SpiffWorkflow's diff (``SpiffWorkflow.bpmn.util.diff``) aligns the case's task specs with the new
version's by element id and reports which were removed or changed. We decide from it, per case:

* A task the case has reached (done, running, waiting) whose element the new version removed: refused.
  Its history would point at an element that no longer exists. Tasks merely predicted are re-predicted.
* A process the case is running (a call activity or sub-process) that the new version lacks: refused.
* A changed element the case is *inside* (a started call activity, an error): refused, unless only its
  name or documentation changed. Moving would not restart it, so it would finish under neither
  version's rules.
* A changed element the case is *waiting at* (a ready user task, a waiting timer): allowed. It is
  reset, so the new definition applies: a timer re-evaluates its expression, a task its due date.
* A changed element the case has already *done*: allowed and reported; it is not re-run.

The case's ready tasks keep their identity (SpiffWorkflow resets a task in place), so claims and drafts
held against them survive a move. After moving, the caller runs the engine so reset tasks become ready
or waiting again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow
from SpiffWorkflow.util.task import TaskState

from rapidreview.calendar import clock_time, to_london
from rapidreview.engine.process import CompiledProcess
from rapidreview.engine.runtime import CaseWorkflow
from rapidreview.engine.storage import REGISTRY

# What a changed attribute means to a process owner (SpiffWorkflow's serialized spec keys).
_ATTRIBUTE_WORDS = {
    "event_definition": "timer or event",
    "extensions": "form, script or properties",
    "cond_task_specs": "conditions",
    "documentation": "documentation",
    "bpmn_name": "name",
    "lane": "lane",
    "typename": "element type",
    "inputs": "incoming flows",
    "outputs": "outgoing flows",
    "data_input": "input data",
    "data_output": "output data",
    "loop_condition": "loop",
    "condition": "completion condition",
    "prescript": "pre-script",
    "postscript": "post-script",
    "script": "script",
}
_INSIDE = TaskState.STARTED | TaskState.ERROR
_COSMETIC = {"bpmn_name", "documentation"}  # a new label or description changes nothing a case does
_WAITING_AT = TaskState.READY | TaskState.WAITING


@dataclass(frozen=True)
class ElementNote:
    """One element of the case the move touches, in a process owner's words."""

    element_id: str
    name: str
    process: str
    state: str
    detail: str

    def __str__(self) -> str:
        label = f"'{self.name}' ({self.element_id})" if self.name != self.element_id else self.element_id
        return f"{label} in {self.process}, {self.state}: {self.detail}"


@dataclass
class MigrationPlan:
    """What moving one case would do. ``obstacles`` empty means the move is safe."""

    obstacles: list[ElementNote] = field(default_factory=list)
    reset: list[ElementNote] = field(default_factory=list)  # waiting there now; the new definition applies
    already_done: list[ElementNote] = field(default_factory=list)  # changed but done; not re-run

    @property
    def safe(self) -> bool:
        return not self.obstacles


class MigrationRefused(RuntimeError):
    def __init__(self, plan: MigrationPlan) -> None:
        self.plan = plan
        super().__init__("; ".join(str(o) for o in plan.obstacles))


def _state(task: Any) -> str:
    return {TaskState.COMPLETED: "done", TaskState.READY: "ready", TaskState.WAITING: "waiting",
            TaskState.STARTED: "in progress", TaskState.ERROR: "failed", TaskState.CANCELLED: "cancelled",
            TaskState.FUTURE: "next", TaskState.LIKELY: "ahead", TaskState.MAYBE: "possibly ahead"}.get(
        task.state, TaskState.get_name(task.state).lower())


def _note(task: Any, detail: str) -> ElementNote:
    spec = task.task_spec
    element = spec.bpmn_id or spec.name
    return ElementNote(element_id=element, name=spec.bpmn_name or element,
                       process=task.workflow.spec.name, state=_state(task), detail=detail)


def _changed_words(attributes: list[str]) -> str:
    words = sorted({_ATTRIBUTE_WORDS.get(a, a.replace("_", " ")) for a in attributes})
    return "its " + ", ".join(words) + (" change" if len(words) > 1 else " changes")


def _where(task: Any) -> str:
    """Where the case stands at an element, in words that never claim more than is true."""
    if task.has_state(TaskState.COMPLETED):
        return "which this case has done"
    if task.has_state(_WAITING_AT):
        return "where this case is waiting now"
    if task.has_state(_INSIDE):
        return "which this case is in the middle of"
    return "which is already lined up as one of this case's next steps"


def _new_due(task: Any, new_spec: Any) -> str:
    """When a reset task or timer will be due under the new definition, and when it was due, as people read it."""
    engine = task.workflow.script_engine
    calendar = getattr(getattr(engine, "environment", None), "calendar", None)
    day_one = task.data.get("day_one")
    if calendar is None or not day_one:
        return ""

    def when(spec: Any) -> datetime | None:
        metadata = (getattr(spec, "extensions", {}) or {}).get("taskMetadataValues", {}) or {}
        definition = getattr(spec, "event_definition", None)
        expression = metadata.get("due") or (getattr(definition, "expression", None)
                                             if isinstance(definition, TimerEventDefinition) else None)
        if not expression:
            return None
        try:
            value = datetime.fromisoformat(str(engine.environment.evaluate(expression, dict(task.data))))
        except Exception:  # noqa: BLE001 - a time that cannot be worked out is simply not shown
            return None
        return value if value.tzinfo is not None else None

    def words(moment: datetime) -> str:
        day = calendar.case_day(date.fromisoformat(str(day_one)), moment)
        return f"{clock_time(moment)} on {to_london(moment).strftime('%A %-d %B %Y')} (Day {day})"

    new, old = when(new_spec), when(task.task_spec)
    if new is None:
        return ""
    if old is not None and old != new:
        return f"; it will be due {words(new)} instead of {words(old)}"
    return f"; it will be due {words(new)}"


def _judge(diff: WorkflowDiff, spec_changes: dict[Any, list[str]], plan: MigrationPlan) -> None:
    for task in diff.removed:
        # Internal specs (start and end markers) have no element of their own; a merely predicted task is
        # dropped and re-predicted from the new version.
        if task.task_spec.bpmn_id and not task.has_state(TaskState.PREDICTED_MASK):
            plan.obstacles.append(_note(task, f"the new version removes this element, {_where(task)}"))
    for task in diff.changed:
        if not task.task_spec.bpmn_id:
            continue
        attributes = spec_changes.get(task.task_spec, [])
        detail = _changed_words(attributes)
        if task.has_state(_INSIDE) and not set(attributes) <= _COSMETIC:
            plan.obstacles.append(_note(task, f"{detail} while this case is inside it, so it would finish under "
                                              "neither version's rules"))
        elif task.has_state(_WAITING_AT):
            due = _new_due(task, diff.alignment.get(task))
            plan.reset.append(_note(task, f"{detail}; the new definition applies from the move{due}"))
        elif task.has_state(TaskState.COMPLETED | _INSIDE):
            plan.already_done.append(_note(task, f"{detail}; already under way or done, not re-run"))


_Diffs = tuple[WorkflowDiff, dict[Any, WorkflowDiff | None]]


def plan_migration(workflow: CaseWorkflow, target: CompiledProcess) -> MigrationPlan:
    return _assess(workflow, target)[0]


def _assess(workflow: CaseWorkflow, target: CompiledProcess) -> tuple[MigrationPlan, _Diffs | None]:
    """The plan, and the diffs it was made from (none when the main process differs)."""
    plan = MigrationPlan()
    wf = workflow._wf
    if wf.spec.name != target.process_id:
        plan.obstacles.append(ElementNote(wf.spec.name, wf.spec.name, wf.spec.name, "running",
                                          f"the new version's main process is {target.process_id!r}, not this one"))
        return plan, None
    top, subprocesses = diff_workflow(REGISTRY, wf, target.spec, target.subprocess_specs)
    _judge(top, _spec_changes(top), plan)
    for sp_id, diff in subprocesses.items():
        sub = wf.subprocesses[sp_id]
        if diff is None:
            plan.obstacles.append(ElementNote(sub.spec.name, sub.spec.name, sub.spec.name, "running",
                                              "the new version has no process of this id, and this case is in it"))
            continue
        _judge(diff, _spec_changes(diff), plan)
    return plan, (top, subprocesses)


def migrate(workflow: CaseWorkflow, target: CompiledProcess) -> MigrationPlan:
    """Move ``workflow`` to ``target`` in place, or raise :class:`MigrationRefused` leaving it untouched."""
    plan, diffs = _assess(workflow, target)
    if not plan.safe or diffs is None:
        raise MigrationRefused(plan)
    wf = workflow._wf
    top, subprocesses = diffs
    _move(top, wf, target.spec)
    for sp_id, diff in subprocesses.items():
        sub = wf.subprocesses[sp_id]
        assert diff is not None  # plan_migration refused otherwise
        _move(diff, sub, target.subprocess_specs[sub.spec.name])
    wf.subprocess_specs = dict(target.subprocess_specs)
    return plan


def _spec_changes(diff: WorkflowDiff) -> dict[Any, list[str]]:
    """Changed attribute names per old task spec. WorkflowDiff keeps only the tasks, so compare again."""
    changes: dict[Any, list[str]] = {}
    for task in diff.changed:
        new = diff.alignment.get(task)
        if new is None:
            continue
        old_dict = REGISTRY.convert(task.task_spec)
        new_dict = REGISTRY.convert(new)
        if old_dict.get("typename") != new_dict.get("typename"):
            changes[task.task_spec] = ["typename"]
        else:
            changes[task.task_spec] = [k for k, v in old_dict.items() if new_dict.get(k) != v]
    return changes


def _move(diff: WorkflowDiff, wf: Any, spec: Any) -> None:
    """SpiffWorkflow's ``migrate_workflow``, with two differences.

    Only the ready and waiting tasks whose element changed are reset (the library resets them all): an
    unchanged timer keeps the due time it was given, which matters for one relative to when it started.
    And a reset task keeps its own data: the library gives it its parent's, which drops what a
    multi-instance parent gave each instance (our ``partner`` or ``agency``).
    """
    changed = {task.id for task in diff.changed if task.has_state(_WAITING_AT)}
    dropped = [task.id for task in diff.removed if task.has_state(TaskState.PREDICTED_MASK)]
    wf.spec = spec
    for task in wf.tasks.values():
        new_spec = diff.alignment.get(task)
        if new_spec is not None:
            task.task_spec = new_spec
    for task_id in dropped:
        if task_id in wf.tasks:  # removing a parent removes its children
            wf._remove_task(task_id)
    for task in list(wf.get_tasks(state=_WAITING_AT, skip_subprocesses=True)):
        if task.id in changed and task.id in wf.tasks:  # an earlier reset may have dropped it
            task.reset_branch(task.data)
    if wf.last_task not in wf.tasks:
        wf.last_task = None
