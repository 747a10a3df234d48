"""Service tasks that can wait for the outside world.

A service task calls the application's :class:`~rapidreview.engine.scripting.ServiceHost`. Usually the host
answers with a result and the task completes, as in plain SpiffWorkflow. The host may instead answer
:class:`~rapidreview.engine.scripting.Awaiting`: it handed the work on (the National Panel e-mail is queued in
the outbox) and the task must complete only when that work is done. The task then returns None from its
run, which leaves it STARTED; it is saved that way with the case, survives restarts, and
:meth:`rapidreview.engine.runtime.CaseWorkflow` completes it with the result once the host reports an outcome.

SpiffWorkflow needs to know the class twice: the parser builds it for every ``bpmn:serviceTask`` and the
serializer stores it under its own type name. Cases saved before it existed hold plain ``ServiceTask``
specs and keep completing at once.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import ServiceTaskParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.task_spec import ServiceTaskConverter
from SpiffWorkflow.spiff.specs.defaults import ServiceTask

from rapidreview.engine.scripting import Awaiting

AWAITING = "awaiting"  # key in the task's internal data: what the task waits for


class WaitingServiceTask(ServiceTask):
    def _execute(self, task: Any) -> bool | None:
        outcome = task.workflow.script_engine.start_service(task, self.operation_name, self.evaluate_params(task))
        if isinstance(outcome, Awaiting):
            task.internal_data[AWAITING] = outcome.key
            task.data[self.result_variable] = outcome.queued
            return None  # stays STARTED
        task.data[self.result_variable] = outcome
        return True


class CaseBpmnParser(SpiffBpmnParser):
    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("serviceTask"): (ServiceTaskParser, WaitingServiceTask),
    }


SERIALIZER_CONFIG = {**SPIFF_CONFIG, WaitingServiceTask: ServiceTaskConverter}
