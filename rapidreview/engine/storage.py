"""How a case's workflow is stored: its state only, not the process definition it runs on.

SpiffWorkflow's serializer writes the whole parsed process (every task spec of the main process and of
each called process) into every workflow it saves: about 72 of a fresh case's 85 kB, rewritten on every
step and rebuilt into objects on every restore. A case's process version is immutable and already
stored, so we store the workflow without it and, on restore, give SpiffWorkflow the specs parsed once per
version (``CompiledProcess``). A workflow saved with its spec embedded (before this format) still restores
from what it carries.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from rapidreview.engine.process import CompiledProcess
from rapidreview.engine.service_tasks import SERIALIZER_CONFIG

# Marks the stored form, and names the process it needs, so a mismatch is caught rather than misread.
PROCESS_KEY = "rapidreview_process"


class MissingProcess(ValueError):
    """A stored workflow without its spec was restored without the process version it needs."""


def _in_restore_order(workflow: Any) -> dict[Any, Any]:
    """The workflow's sub-processes in the order the loader rebuilds them (each parent's tasks in turn, a
    sub-process before its own children), so a saved case saved again after a restore is the same text."""
    ordered: dict[Any, Any] = {}

    def visit(owner: Any) -> None:
        for task in owner.tasks.values():
            sub = workflow.subprocesses.get(task.id)
            if sub is not None and task.id not in ordered:
                ordered[task.id] = sub
                visit(sub)

    visit(workflow)
    for key, sub in workflow.subprocesses.items():  # anything unreachable (should not happen) keeps its place
        ordered.setdefault(key, sub)
    return ordered


class _StateOnlyConverter(BpmnWorkflowConverter):
    """SpiffWorkflow's converter for the top-level workflow, minus the specs."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        # The parent's to_dict converts the specs first; skip straight to the state it adds after them.
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct[PROCESS_KEY] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(_in_restore_order(workflow))
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], process: CompiledProcess | None = None) -> Any:
        if "spec" in dct:  # stored with its spec embedded
            return super().from_dict(dct)
        name = dct.pop(PROCESS_KEY, None)
        if process is None:
            raise MissingProcess("this workflow is stored without its process definition: restore it with the "
                                 "case's process version")
        if name != process.process_id:
            raise MissingProcess(f"this workflow runs process {name!r}, not {process.process_id!r}")
        # The same steps as BpmnWorkflowConverter.from_dict, with the specs given instead of rebuilt. The
        # subprocess mapping is copied: moving a case to another version replaces it on the workflow.
        workflow = self.target_class(process.spec, dict(process.subprocess_specs), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_state_serializer = BpmnWorkflowSerializer(
    BpmnWorkflowSerializer.configure({**SERIALIZER_CONFIG, BpmnWorkflow: _StateOnlyConverter}))
# Converts our specs too: what comparing two versions' specs (rapidreview.engine.migration) needs.
REGISTRY = _state_serializer.registry


def dumps(workflow: Any) -> str:
    return str(_state_serializer.serialize_json(workflow))


def loads(serialized: str, process: CompiledProcess | None) -> Any:
    dct = json.loads(serialized, cls=_state_serializer.json_decoder_cls)
    _state_serializer.migrate(dct)
    return _state_serializer.from_dict(dct, process=process)
