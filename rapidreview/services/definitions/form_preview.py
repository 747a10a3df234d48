"""What a form's preview shows above the questions: the instructions of the task that uses it.

The person doing a task reads its instructions first, so the preview shows them too, rendered on the
sample case the checks use (its deadlines worked out from the process, as a real case's would be).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from lxml import etree
from markupsafe import Markup

from rapidreview.calendar import WorkingCalendar
from rapidreview.services.casework.tasks import render_instructions
from rapidreview.services.definitions import validation
from rapidreview.services.reading.moments import describe_moments

NS = validation.NS


@dataclass(frozen=True)
class TaskInstructions:
    element_id: str
    name: str
    instructions: Markup  # safe HTML, as the task page shows it
    due: str  # "5pm on Friday 29 May 2026 (Day 7)" on the sample case, or ""


def instructions_for_form(
    files: Mapping[str, bytes], form: str, calendar: WorkingCalendar, process_id: str
) -> list[TaskInstructions]:
    """Each user task of the version whose form is ``form``, with its instructions as the sample case reads them."""
    roots = _roots(files)
    users = [
        task
        for root in roots.values()
        for task in root.iter(f"{{{validation.BPMN}}}userTask")
        if validation.task_properties(task).get(validation.FORM_PROPERTY) == form
    ]
    if not users:
        return []
    data = _sample_data(roots, files, calendar, process_id)
    moments = data["due"]
    out = []
    for task in users:
        text = task.findtext("bpmn:extensionElements/spiff:instructionsForEndUser", namespaces=NS) or ""
        moment = moments.get(task.get("id"))
        out.append(
            TaskInstructions(
                task.get("id"),
                task.get("name") or task.get("id"),
                render_instructions(text, data),
                moment["at"] if moment else "",
            )
        )
    return out


def sample_instruction_data(
    files: Mapping[str, bytes], calendar: WorkingCalendar, process_id: str
) -> dict[str, Any]:
    """What instructions' placeholders see on the sample case of a version: its data, with ``due`` the
    deadlines worked out from the process (for the process editor's preview of the instructions)."""
    return _sample_data(_roots(files), files, calendar, process_id)


def _roots(files: Mapping[str, bytes]) -> dict[str, Any]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    roots: dict[str, Any] = {}
    for path, content in files.items():
        if path.startswith("bpmn/") and path.endswith(".bpmn"):
            try:
                roots[path.split("/", 1)[1]] = etree.fromstring(content, parser)
            except etree.XMLSyntaxError:
                continue
    return roots


def _sample_data(
    roots: Mapping[str, Any], files: Mapping[str, bytes], calendar: WorkingCalendar, process_id: str
) -> dict[str, Any]:
    form_files = {p.split("/", 1)[1]: c for p, c in files.items() if p.startswith("forms/")}
    examples = validation.form_examples(roots, form_files)
    sample = validation.sample_case(roots, examples, calendar, process_id)
    day_one = date.fromisoformat(sample.data["day_one"])
    moments = describe_moments(
        calendar, day_one, {k: v.isoformat() for k, v in validation.element_moments(roots, sample).items()}
    )
    return {**sample.data, "due": moments}
