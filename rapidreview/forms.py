"""User-task forms: the JSON Schemas in ``forms/`` and plain-English validation of answers.

A form is ``forms/<task id>.schema.json`` (JSON Schema 2020-12) with an optional
``forms/<task id>.uischema.json``. Schemas may ``$ref`` each other by file name (the report forms share
``report_content.schema.json``); a schema marked ``"x-fragment": true`` is such a shared part, not a form.

Error messages come from each field's ``x-error-messages`` (keyed by the failing JSON Schema keyword,
with ``required`` also used for empty, wrong-type and out-of-list answers), else from its ``title``.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators
from jsonschema.exceptions import SchemaError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

FORMS_DIR = Path(__file__).resolve().parent.parent / "forms"
SCHEMA_SUFFIX = ".schema.json"
UISCHEMA_SUFFIX = ".uischema.json"

EMAIL_MESSAGE = "Enter an email address in the correct format, like name@example.com"

# Messages that fall back to the field's "required" message: to the person filling in the form, an
# empty answer, an answer of the wrong kind and a choice that is not on the list all mean "answer this".
_ANSWER_THIS = {"required", "minLength", "minItems", "type", "enum", "const"}

_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Schema = dict[str, Any]


class FormError(Exception):
    """A form file is missing, is not valid JSON, or is not a valid schema."""


@dataclass(frozen=True)
class FieldError:
    field: str  # path to the answer, like "agencies/0/contact_email"; "" for the form as a whole
    message: str


FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("email")
def _is_email(instance: object) -> bool:
    # jsonschema's own check only looks for an "@"; people mistype addresses far more subtly.
    return not isinstance(instance, str) or (len(instance) <= 254 and bool(_EMAIL.match(instance)))


@FORMAT_CHECKER.checks("date", raises=ValueError)
def _is_date(instance: object) -> bool:
    return not isinstance(instance, str) or bool(_DATE.match(instance) and date.fromisoformat(instance))


def _unique_property(validator: Any, name: str, instance: Any, schema: Schema) -> Iterator[ValidationError]:
    """``"x-unique-property": "id"`` on an array of objects: no two items share the same ``id``."""
    if not validator.is_type(instance, "array"):
        return
    seen: set[Any] = set()
    for index, item in enumerate(instance):
        value = item.get(name) if isinstance(item, dict) else None
        if isinstance(value, str | int):
            if value in seen:
                yield ValidationError(f"{name} {value!r} is used more than once", path=[index, name])
            seen.add(value)


FormValidator = validators.extend(Draft202012Validator, {"x-unique-property": _unique_property})


@dataclass(frozen=True)
class Form:
    task_id: str
    schema: Schema
    uischema: Schema | None = None
    registry: Registry[Any] = field(default_factory=Registry, repr=False, compare=False)

    @property
    def title(self) -> str:
        return str(self.schema.get("title", self.task_id))

    def validate(self, answers: Any) -> list[FieldError]:
        return validate_answers(self.schema, answers, self.registry)

    def example(self) -> dict[str, Any]:
        return example_answers(self.schema)


# A real form nests a few levels (an object, a list of rows, a row's fields); validators and the page builder
# walk schemas recursively, so a file nested thousands deep must be refused before anything walks it.
MAX_NESTING = 40


def _read_json(path: Path) -> Any:
    try:
        contents = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormError(f"Form file {path} does not exist") from None
    except RecursionError:
        raise FormError(f"Form file {path} is nested too deeply: a form may nest at most {MAX_NESTING} levels "
                        "of objects and lists") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormError(f"Form file {path} is not valid JSON: {exc}") from exc
    depth = nesting(contents)
    if depth > MAX_NESTING:
        raise FormError(f"Form file {path} is nested {depth} levels deep: a form may nest at most {MAX_NESTING} "
                        "levels of objects and lists")
    return contents


def nesting(value: Any) -> int:
    """How many objects and lists deep ``value`` goes, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def load_registry(forms_dir: Path | str) -> Registry[Any]:
    """Every ``*.schema.json`` in the directory, registered under its file name for ``$ref``."""
    resources = []
    for path in sorted(Path(forms_dir).glob(f"*{SCHEMA_SUFFIX}")):
        contents = _read_json(path)
        if not isinstance(contents, dict):
            raise FormError(f"Form file {path} must hold a JSON object")
        if contents.get("$id", path.name) != path.name:
            # "$id" is the base for relative "$ref"s, so it must match the name others use.
            raise FormError(f'Form file {path} has "$id" {contents["$id"]!r}; it must be {path.name!r}')
        resources.append((path.name, Resource.from_contents(contents, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@functools.cache
def _default_registry() -> Registry[Any]:
    return load_registry(FORMS_DIR)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key not in ("examples", "default", "const", "enum"):
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def load_schema(forms_dir: Path | str, filename: str, registry: Registry[Any] | None = None) -> Schema:
    """Load and check one schema; every ``$ref`` in it must resolve within the forms directory."""
    path = Path(forms_dir) / filename
    schema = _read_json(path)
    if not isinstance(schema, dict):
        raise FormError(f"Form file {path} must hold a JSON object")
    try:
        FormValidator.check_schema(schema)
    except SchemaError as exc:
        raise FormError(f"Form file {path} is not a valid JSON Schema: {exc.message}") from exc
    registry = registry if registry is not None else load_registry(forms_dir)
    resolver = registry.resolver(base_uri=schema.get("$id", filename))
    for ref in _refs(schema):
        try:
            resolver.lookup(ref)
        except Unresolvable:
            raise FormError(f"Form file {path} refers to {ref!r}, which is not in {forms_dir}") from None
    return schema


def load_forms(forms_dir: Path | str = FORMS_DIR) -> dict[str, Form]:
    """Every form in the directory, keyed by task id (shared fragments are left out)."""
    forms_dir = Path(forms_dir)
    registry = load_registry(forms_dir)
    forms: dict[str, Form] = {}
    for path in sorted(forms_dir.glob(f"*{SCHEMA_SUFFIX}")):
        schema = load_schema(forms_dir, path.name, registry)
        if schema.get("x-fragment"):
            continue
        task_id = path.name.removesuffix(SCHEMA_SUFFIX)
        ui_path = forms_dir / f"{task_id}{UISCHEMA_SUFFIX}"
        uischema = _read_json(ui_path) if ui_path.exists() else None
        forms[task_id] = Form(task_id, schema, uischema, registry)
    return forms


def example_answers(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the form's complete example answer (``examples[0]``)."""
    examples = schema.get("examples")
    if not examples or not isinstance(examples[0], dict):
        raise FormError(f"Form {schema.get('$id', schema.get('title', '?'))!r} has no example answer")
    return copy.deepcopy(examples[0])


# ---- validation ------------------------------------------------------------------------------------


class _Walker:
    """Finds the schema that describes the answer at a path, following ``$ref`` and ``allOf``."""

    def __init__(self, schema: Schema, registry: Registry[Any]) -> None:
        self.root = schema
        self.resolver = registry.resolver(base_uri=schema.get("$id", ""))

    def _parts(self, schema: Schema, resolver: Any) -> Iterator[tuple[Schema, Any]]:
        if isinstance(ref := schema.get("$ref"), str):
            try:
                resolved = resolver.lookup(ref)
            except Unresolvable:
                pass
            else:
                yield from self._parts(resolved.contents, resolved.resolver)
        for part in schema.get("allOf", []):
            if isinstance(part, dict):
                yield from self._parts(part, resolver)
        yield schema, resolver

    def properties(self, schema: Schema, resolver: Any) -> dict[str, tuple[Schema, Any]]:
        found: dict[str, tuple[Schema, Any]] = {}
        for part, part_resolver in self._parts(schema, resolver):
            for name, sub in part.get("properties", {}).items():
                found.setdefault(name, (sub, part_resolver))
        return found

    def chain(self, path: list[str | int]) -> list[tuple[Schema, Any]]:
        """The schemas from the root down to the answer at ``path`` (shorter if the path leaves the schema)."""
        schema, resolver = self.root, self.resolver
        chain = [(schema, resolver)]
        for segment in path:
            if isinstance(segment, int):
                items = next((p.get("items") for p, _ in self._parts(schema, resolver) if "items" in p), None)
                if not isinstance(items, dict):
                    break
                schema = items
            else:
                found = self.properties(schema, resolver).get(segment)
                if found is None:
                    break
                schema, resolver = found
            chain.append((schema, resolver))
        return chain

    def schemas(self, path: list[str | int]) -> list[Schema]:
        return [schema for schema, _ in self.chain(path)]

    def known_names(self, path: list[str | int]) -> set[str]:
        schema, resolver = self.chain(path)[-1]
        return set(self.properties(schema, resolver))


def _lower_first(text: str) -> str:
    # Keep acronyms ("LCSPR") as they are.
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _message(chain: list[Schema], keyword: str, error: ValidationError | None) -> str:
    # Items of a list of choices have no title of their own: describe them by the list.
    described = [s for s in chain[1:] if "title" in s or "x-error-messages" in s]
    schema = described[-1] if described else {}
    custom: Mapping[str, str] = schema.get("x-error-messages", {})
    title = str(schema.get("title", "this answer"))
    if keyword in custom:
        return custom[keyword]
    if keyword in _ANSWER_THIS:
        if "required" in custom:
            return custom["required"]
        choice = schema.get("type") in ("boolean", "array") or "enum" in schema
        return f"{'Select' if choice else 'Enter'} {_lower_first(title)}"
    value = error.validator_value if error is not None else None
    if keyword == "format":
        if value == "email":
            return EMAIL_MESSAGE
        if value == "date":
            return f"{title} must be a real date, like 2026-06-03"
    if keyword == "maxLength":
        return f"{title} must be {value} characters or fewer"
    if keyword == "maxItems":
        return f"{title} must have {value} entries or fewer"
    if keyword == "minimum":
        return f"{title} must be {value} or more"
    if keyword == "maximum":
        return f"{title} must be {value} or less"
    if keyword == "uniqueItems":
        return f"{title} has the same answer more than once"
    return f"Enter {_lower_first(title)} in the correct format"


def _key(path: list[str | int]) -> str:
    return "/".join(str(p) for p in path)


def validate_answers(schema: Schema, answers: Any, registry: Registry[Any] | None = None) -> list[FieldError]:
    """Plain-English errors for a form's answers, one per field, in the form's order.

    ``registry`` resolves ``$ref``s; by default it holds the schemas in the app's ``forms/`` directory.
    """
    registry = registry if registry is not None else _default_registry()
    validator = FormValidator(schema, registry=registry, format_checker=FORMAT_CHECKER)
    walker = _Walker(schema, registry)
    if not isinstance(answers, dict):
        return [FieldError("", "Answer the questions on the form")]

    found: list[tuple[list[str | int], str]] = []
    for error in validator.iter_errors(answers):
        path = list(error.absolute_path)
        if error.validator == "required":
            for name in error.validator_value:
                if isinstance(error.instance, dict) and name not in error.instance:
                    found.append((path + [name], _message(walker.schemas(path + [name]), "required", None)))
        elif error.validator in ("additionalProperties", "unevaluatedProperties"):
            known = walker.known_names(path)
            for name in error.instance if isinstance(error.instance, dict) else ():
                if name not in known:
                    found.append((path + [name], f"Remove '{name}': it is not a question on this form"))
        else:
            found.append((path, _message(walker.schemas(path), str(error.validator), error)))

    # Show errors in the order of the form; the sort is stable, so fields within an item keep theirs.
    order = {name: index for index, name in enumerate(walker.properties(schema, walker.resolver))}
    found.sort(
        key=lambda item: (
            order.get(str(item[0][0]), len(order)) if item[0] else -1,
            [p for p in item[0] if isinstance(p, int)],
        )
    )
    errors: list[FieldError] = []
    seen: set[str] = set()
    for path, message in found:
        key = _key(path)
        if key not in seen:
            seen.add(key)
            errors.append(FieldError(key, message))
    return errors


DECISION = "x-decision"  # a field that records someone's decision: never pre-filled for a person


def decision_fields(schema: Mapping[str, Any]) -> set[str]:
    """The top-level fields marked ``"x-decision": true``, including those of the parts it refers to."""
    found: set[str] = set()
    parts: list[Any] = [schema]
    while parts:
        part = parts.pop()
        if not isinstance(part, Mapping):
            continue
        for name, spec in (part.get("properties") or {}).items():
            if isinstance(spec, Mapping) and spec.get(DECISION):
                found.add(name)
        parts.extend(part.get("allOf") or [])
    return found


def without_decisions(schema: Mapping[str, Any] | None, answers: Mapping[str, Any] | None) -> dict[str, Any]:
    """``answers`` with every decision left out: what a person may find already filled in."""
    if not answers:
        return {}
    decisions = decision_fields(schema) if schema is not None else set()
    return {k: v for k, v in answers.items() if k not in decisions}
