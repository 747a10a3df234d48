"""Reading a task for someone about to complete it: its form and the answers to start from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from rapidreview import instructions_markdown
from rapidreview.errors import NotAllowed, NotFound
from rapidreview.runtime import Runtime
from rapidreview.services.casework import agency_register
from rapidreview.services.casework.defaults import computed_defaults
from rapidreview.services.casework.forms import example_answers, form_schema, form_uischema
from rapidreview.services.people import policy
from rapidreview.services.people.users import SignedIn, named
from rapidreview.services.reading.moments import describe_moments
from rapidreview.services.reading.snapshots import snapshot
from rapidreview.services.reading.task_context import Panel, panels
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, HumanTask


def starting_answers(rt: Runtime, task_id: int, *, with_examples: bool) -> dict[str, Any]:
    """The app's computed defaults, over the form's example answers when ``with_examples`` (the simulator)."""
    with transaction(rt.sessions) as session:
        task = session.get(HumanTask, task_id)
        if task is None:
            raise NotFound(f"there is no task {task_id}")
        case = session.get(Case, task.case_id)
        assert case is not None
        answers: dict[str, Any] = {}
        if with_examples and task.form:
            answers.update(example_answers(session, case.process_version_id, task.form))
        view = next((v for v in rt.restore(case).ready_user_tasks() if v.id == task.engine_task_id), None)
        if view is not None:
            schema = form_schema(session, case.process_version_id, task.form)[0] if task.form else None
            answers.update(computed_defaults(rt, case, task.element_id, view.data, schema, view.defaults))
        return answers


@dataclass(frozen=True)
class TaskDetail:
    task: HumanTask
    case: Case
    instructions: Markup  # safe HTML, from the instructions' Markdown
    schema: Any
    registry: Any
    uischema: dict[str, Any] | None
    answers: dict[str, Any]
    previous_round: dict[str, Any] | None = None  # what was sent last time, when the task has come back
    panels: list[Panel] = field(default_factory=list)  # the facts the page shows above the form
    people: dict[str, str] = field(default_factory=dict)  # the holder's and completer's e-mail -> name and role


def task_detail(rt: Runtime, task_id: int, user: SignedIn, *, for_page: bool = True) -> TaskDetail | None:
    """Everything the task page shows: the form, the BPMN's instructions, and the answers to start from;
    None when there is no such task or ``user`` may not see it (:func:`policy.may_see_task`).

    ``for_page=False`` (a submission about to complete the task) skips restoring the workflow for the
    instructions and computed defaults: the completion restores it anyway, and once is enough.
    """
    with transaction(rt.sessions) as session:
        task = session.get(HumanTask, task_id)
        if task is None:
            return None
        case = session.get(Case, task.case_id)
        assert case is not None
        if not policy.may_see_task(user, task, case, policy.chair_has_account(session, case)):
            return None
        schema = registry = uischema = None
        if task.form:
            schema, registry = form_schema(session, case.process_version_id, task.form)
            # A choice of the partnership's agencies, where the form asks for one (the agency list).
            schema = agency_register.with_agency_options(session, schema, case.partnership_id)
            uischema = form_uischema(session, case.process_version_id, task.form)
        instructions = Markup()
        previous_round: dict[str, Any] | None = None
        shown: list[Panel] = []
        answers: dict[str, Any] = dict(task.draft or {})
        if task.state == "ready" and for_page:
            view = next((v for v in rt.restore(case).ready_user_tasks() if v.id == task.engine_task_id), None)
            if view is not None:
                due = describe_moments(rt.calendar, case.day_one, view.times)
                instructions = render_instructions(view.instructions or "", {**view.data, "due": due})
                previous_round = dict(view.previous_answers) if view.previous_answers else None
                shown = panels(rt, session, case, task, view.data, list(view.show))
                if not answers:
                    answers = computed_defaults(rt, case, task.element_id, view.data, schema, view.defaults)
        elif task.answers:
            answers = dict(task.answers)
        people = named(session, case.partnership_id, [task.assignee, task.completed_by])
        return TaskDetail(snapshot(task), snapshot(case), instructions, schema, registry, uischema, answers,
                          previous_round, shown, people)


def render_instructions(text: str, data: Mapping[str, Any]) -> Markup:
    """Instructions may say ``{{ case_reference }}`` or ``{{ agency.name }}`` and use a little Markdown;
    the result is safe HTML, each filled value shown as written (see ``instructions_markdown``)."""
    return instructions_markdown.render(text, data)


def save_draft(rt: Runtime, task_id: int, answers: dict[str, Any], *, actor: str) -> None:
    """Keep unfinished answers: nothing typed is lost when someone stops half way."""
    with transaction(rt.sessions) as session:
        task = session.get(HumanTask, task_id, with_for_update=True)
        if task is None or task.state != "ready":
            raise NotFound("This task is no longer open")
        if task.assignee != actor:
            raise NotAllowed("Claim this task before saving answers")
        task.draft = answers
