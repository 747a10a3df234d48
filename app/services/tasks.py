"""Reading a task for someone about to complete it: its form and the answers to start from."""

from __future__ import annotations

from typing import Any

from app.services.defaults import computed_defaults
from app.services.forms import example_answers
from app.services.runtime import Runtime
from app.store.db import transaction
from app.store.models import Case, HumanTask


def starting_answers(rt: Runtime, task_id: int, *, with_examples: bool) -> dict[str, Any]:
    """The app's computed defaults, over the form's example answers when ``with_examples`` (the simulator)."""
    with transaction(rt.sessions) as session:
        task = session.get(HumanTask, task_id)
        if task is None:
            raise LookupError(f"there is no task {task_id}")
        case = session.get(Case, task.case_id)
        assert case is not None
        answers: dict[str, Any] = {}
        if with_examples and task.form:
            answers.update(example_answers(session, case.process_version_id, task.form))
        view = next((v for v in rt.engine.restore(case.workflow_json).ready_user_tasks() if v.id == task.engine_task_id), None)
        if view is not None:
            answers.update(computed_defaults(rt, case, task.element_id, view.data))
        return answers
