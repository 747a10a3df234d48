"""Editing a form of a process version in the browser: its JSON Schema and layout (uischema) are checked
as they are typed (valid JSON, a valid schema whose references resolve, an example answer that fits), and
saving stores the version with the changed form as a candidate, after every check of ``rapidreview validate``.

Renaming a form renames its files and updates every user task that names it, so no task is left pointing
at a form that is no longer there.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidreview import forms as form_schemas
from rapidreview.errors import Invalid
from rapidreview.services.definitions.validation import FORM_PROPERTY

FORM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,80}\.schema\.json$")
UI_PROPERTY = "formUiSchemaFilename"
MAX_TEXT = 1024 * 1024


class FormEditError(Invalid):
    """The form cannot be saved as it is; ``problems`` says what to change."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class FormCheck:
    """A form as typed: what is wrong with it, and what it needs to be shown."""

    problems: list[str] = field(default_factory=list)
    example_errors: list[form_schemas.FieldError] = field(default_factory=list)
    schema: dict[str, Any] | None = None
    uischema: dict[str, Any] | None = None
    registry: Any = None


def ui_name(name: str) -> str:
    return name.removesuffix(form_schemas.SCHEMA_SUFFIX) + form_schemas.UISCHEMA_SUFFIX


def _parse(label: str, text: str) -> tuple[Any, str | None]:
    if len(text) > MAX_TEXT:
        return None, f"the {label} is larger than 1 MB"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"the {label} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"


def check_form(files: Mapping[str, bytes], name: str, schema_text: str, uischema_text: str) -> FormCheck:
    """Check a form against the version's other forms (its ``$ref``s resolve among them)."""
    check = FormCheck()
    if not FORM_NAME.match(name):
        check.problems.append(
            "the form's name must be lower-case letters, digits and _ ending in .schema.json, "
            "e.g. record_criteria_view.schema.json"
        )
        return check
    schema, problem = _parse("schema", schema_text)
    if problem:
        check.problems.append(problem)
        return check
    if not isinstance(schema, dict):
        check.problems.append("the schema must be a JSON object ({ ... })")
        return check
    if uischema_text.strip():
        uischema, problem = _parse("layout (uischema)", uischema_text)
        if problem:
            check.problems.append(problem)
        elif not isinstance(uischema, dict):
            check.problems.append("the layout (uischema) must be a JSON object ({ ... })")
        else:
            check.uischema = uischema
    schema = {**schema, "$id": name} if "$id" in schema else schema
    with tempfile.TemporaryDirectory(prefix="rapidreview-form-") as scratch:
        folder = Path(scratch)
        for path, content in files.items():
            if path.startswith("forms/") and path.endswith(form_schemas.SCHEMA_SUFFIX):
                (folder / path.split("/", 1)[1]).write_bytes(content)
        (folder / name).write_text(json.dumps(schema))
        try:
            check.registry = form_schemas.load_registry(folder)
            form_schemas.load_schema(folder, name, check.registry)
        except form_schemas.FormError as exc:
            check.problems.append(
                str(exc).replace(str(folder) + "/", "").replace(str(folder), "the version's forms")
            )
            return check
    check.schema = schema
    if schema.get("x-fragment"):
        return check
    try:
        example = form_schemas.example_answers(schema)
    except form_schemas.FormError:
        check.problems.append(
            'the form has no example answer: add "examples": [{ ... }] with a complete answer'
        )
        return check
    check.example_errors = form_schemas.validate_answers(schema, example, check.registry)
    for error in check.example_errors:
        check.problems.append(
            f"the example answer does not fit the form: {error.field or 'form'}: {error.message}"
        )
    return check


def _rename_in_process(text: str, old: str, new: str) -> tuple[str, int]:
    """Point every task's form (and layout) property from ``old`` to ``new``; how many tasks changed."""
    count = 0
    for prop, before, after in ((FORM_PROPERTY, old, new), (UI_PROPERTY, ui_name(old), ui_name(new))):
        pattern = re.compile(rf'(name="{prop}"\s+value=")({re.escape(before)})(")')
        # Names match FORM_NAME (letters, digits, _ and .), so they are safe in a replacement string.
        text, n = pattern.subn(rf"\g<1>{after}\g<3>", text)
        count += n if prop == FORM_PROPERTY else 0
    return text, count


def edited_files(
    files: Mapping[str, bytes], old_name: str | None, new_name: str, schema_text: str, uischema_text: str
) -> tuple[dict[str, bytes], int]:
    """The version's files with the form saved under ``new_name`` (renamed from ``old_name``, if any), and
    how many user tasks were pointed at the new name. Raises ``FormEditError`` when the form has problems."""
    check = check_form(files, new_name, schema_text, uischema_text)
    if check.problems:
        raise FormEditError(check.problems)
    if old_name != new_name and f"forms/{new_name}" in files:
        raise FormEditError([f"there is already a form called {new_name}: choose another name"])
    result = dict(files)
    renamed = 0
    if old_name and old_name != new_name:
        result.pop(f"forms/{old_name}", None)
        result.pop(f"forms/{ui_name(old_name)}", None)
        for path, content in files.items():
            if path.startswith("bpmn/"):
                text, n = _rename_in_process(content.decode("utf-8"), old_name, new_name)
                result[path] = text.encode("utf-8")
                renamed += n
    result[f"forms/{new_name}"] = (json.dumps(check.schema, indent=2, ensure_ascii=False) + "\n").encode(
        "utf-8"
    )
    if check.uischema is not None:
        result[f"forms/{ui_name(new_name)}"] = (
            json.dumps(check.uischema, indent=2, ensure_ascii=False) + "\n"
        ).encode()
    else:
        result.pop(f"forms/{ui_name(new_name)}", None)
    return result, renamed


NEW_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "A new form",
    "description": "What this form asks for, in one sentence.",
    "type": "object",
    "required": ["answer"],
    "properties": {"answer": {"type": "string", "title": "Your answer", "maxLength": 2000}},
    "examples": [{"answer": "An example answer"}],
}
