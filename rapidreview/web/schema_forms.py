"""Turns a form's JSON Schema into GOV.UK form fields, and a submitted HTML form back into answers.

``build_fields`` gives the template (``templates/components/schema_form.html``) everything it needs to
render the questions; ``parse_submission`` reads what the browser sends back; ``error_summary`` links
the validator's messages (``rapidreview.forms.FieldError``) to the fields.

Names and ids come from the answer's path, so the validator's errors find their field:
``agencies/0/contact_email`` is the HTML ``name`` and ``agencies-0-contact_email`` the ``id``.
Repeating groups need no JavaScript: "Add another" and "Remove" are submit buttons named
``form-action`` (values ``add:agencies`` and ``remove:agencies:2``, 0-based), and the page re-renders
with the row added or removed and everything typed kept.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeAlias

from referencing import Registry
from referencing.exceptions import Unresolvable
from werkzeug.datastructures import MultiDict

from rapidreview.forms import FORMS_DIR, FieldError, load_registry

if TYPE_CHECKING:
    # Not exported by referencing, but it is what Registry.resolver() returns.
    from referencing._core import Resolver

FORM_ACTION = "form-action"
# GOV.UK: radios are easier to use than a select; a select only once the list gets long.
MAX_RADIOS = 8
# Answers longer than this need room to write: a textarea rather than a one-line input.
MAX_INPUT_LENGTH = 300
DATE_PARTS = ("day", "month", "year")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_INTEGER = re.compile(r"[+-]?(?:\d+|\d{1,3}(?:,\d{3})+)")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_LOOSE_TIME = re.compile(r"(\d{1,2})[:.](\d{2})")

Schema = Mapping[str, Any]
Path = tuple[str | int, ...]
_Part: TypeAlias = "tuple[Schema, Resolver[Any]]"


class _Missing:
    """An answer left empty: omitted from the answers rather than stored as ``""``."""


MISSING = _Missing()


@dataclass(frozen=True)
class Option:
    value: str  # what the browser sends back
    text: str  # what the person reads (from "x-enum-labels")


@dataclass
class Field:
    """One question (or group of questions) as the template renders it.

    ``kind`` is one of: text, email, integer, number, time, textarea, date, radios, select, boolean
    (Yes/No radios), checkboxes, string_list and object_list (repeating groups; ``children`` are the
    rows) and object (a fieldset of ``children``, such as one row of an object_list).
    """

    path: Path
    kind: str
    label: str
    hint: str | None = None
    required: bool = False
    optional: bool = False  # neither required nor needed by a condition: the label says "(optional)"
    value: str = ""  # as typed or stored; dates as ISO "YYYY-MM-DD" (or the invalid string typed)
    values: list[str] = field(default_factory=list)  # checkboxes: the values ticked
    error: str | None = None
    options: list[Option] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    input_classes: str = ""  # GOV.UK width class sized to the expected answer
    item_label: str = ""  # lists: "agency", for "Add another agency"
    add_action: str | None = None  # lists: "add:agencies" while more rows are allowed
    remove_action: str | None = None  # rows: "remove:agencies:2" when there is more than one row

    @property
    def name(self) -> str:
        return "/".join(str(p) for p in self.path)

    @property
    def id(self) -> str:
        return "-".join(str(p) for p in self.path)

    @property
    def is_group(self) -> bool:
        return self.kind in ("string_list", "object_list", "object")

    @property
    def anchor(self) -> str:
        """The id the error summary links to: the first thing the person can type in or choose."""
        if self.kind == "date":
            return f"{self.id}-day"
        if self.is_group and self.children:
            return self.children[0].anchor
        # Radios and checkboxes give their first item the bare id (govuk-frontend's idPrefix rule).
        return self.id

    @property
    def date_parts(self) -> dict[str, str]:
        """Day, month and year for govukDateInput, from the ISO date (or the parts that were typed)."""
        pieces = self.value.split("-", 2) if self.value else []
        if len(pieces) != 3:
            return dict.fromkeys(DATE_PARTS, "")
        year, month, day = pieces
        # GOV.UK shows "3 6 2026", not "03 06 2026"; a part that is not a number stays as typed.
        return {"day": _unpad(day), "month": _unpad(month), "year": year}

    @property
    def answer_text(self) -> str:
        """The answer as a person reads it (option labels, Yes/No, "3 June 2026"); "" when unanswered.

        For read-only views of a completed task: ``value`` holds what the browser sends, not this.
        """
        labels = {option.value: option.text for option in self.options}
        if self.kind == "checkboxes":
            return "; ".join(labels.get(v, v) for v in self.values)
        if self.kind == "date" and _is_real_date(self.value):
            day = date.fromisoformat(self.value)
            return f"{day.day} {day:%B %Y}"
        if self.kind == "string_list":
            return "; ".join(text for child in self.children if (text := child.answer_text))
        if self.is_group:
            separator = "; " if self.kind == "object_list" else ", "
            return separator.join(text for child in self.children if (text := child.answer_text))
        return labels.get(self.value, self.value)


def _is_real_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return bool(_ISO_DATE.fullmatch(text))


def _unpad(text: str) -> str:
    return str(int(text)) if text.isdigit() else text


# ---- reading schemas -------------------------------------------------------------------------------


@dataclass
class _Node:
    """A schema with its ``$ref`` and ``allOf`` parts folded together: what the form sees of it."""

    keywords: dict[str, Any]
    properties: dict[str, list[_Part]]
    required: set[str]
    conditionals: list[Schema]  # allOf parts with "if" and "then"
    items: _Part | None


def _parts(schema: Schema, resolver: Resolver[Any]) -> Iterator[_Part]:
    # Referenced and allOf parts first, the schema's own keywords last, so its own title wins.
    if isinstance(ref := schema.get("$ref"), str):
        try:
            resolved = resolver.lookup(ref)
        except Unresolvable:
            pass  # load_schema has already rejected forms with broken references
        else:
            yield from _parts(resolved.contents, resolved.resolver)
    for part in schema.get("allOf", []):
        if isinstance(part, Mapping):
            yield from _parts(part, resolver)
    yield schema, resolver


def _node(definitions: Iterable[_Part]) -> _Node:
    node = _Node({}, {}, set(), [], None)
    for definition in definitions:
        for part, resolver in _parts(*definition):
            node.keywords.update({k: v for k, v in part.items() if k not in ("properties", "allOf", "$ref")})
            for name, sub in part.get("properties", {}).items():
                node.properties.setdefault(name, []).append((sub, resolver))
            node.required.update(part.get("required", []))
            if "if" in part and "then" in part:
                node.conditionals.append(part)
            if isinstance(part.get("items"), Mapping):
                node.items = (part["items"], resolver)
    return node


@functools.cache
def _forms_registry() -> Registry[Any]:
    return load_registry(FORMS_DIR)


def _root(schema: Schema, registry: Registry[Any] | None) -> _Node:
    # No registry: the schema may still "$ref" the shared parts in forms/, as the validator allows.
    registry = registry if registry is not None else _forms_registry()
    return _node([(schema, registry.resolver(base_uri=schema.get("$id", "")))])


def _type(node: _Node) -> str | None:
    kind = node.keywords.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the form asks for the string
        kind = next((k for k in kind if k != "null"), None)
    return kind if isinstance(kind, str) else None


def _is_time(node: _Node) -> bool:
    # The schemas say "HH:MM" with a pattern rather than format "time" (which wants seconds and a zone).
    pattern = node.keywords.get("pattern")
    if not isinstance(pattern, str):
        return False
    try:
        return all(
            bool(re.search(pattern, s)) == ok for s, ok in (("14:30", True), ("09:05", True), ("1430", False))
        )
    except re.error:
        return False


def _shape(node: _Node) -> str:
    """What kind of JSON answer the schema wants; the same for rendering and parsing."""
    kind = _type(node)
    if kind == "array":
        items = _node([node.items]) if node.items else None
        if items is None:
            return "string_list"
        if "enum" in items.keywords:
            return "checkboxes"
        return "object_list" if _type(items) == "object" else "string_list"
    if kind == "object" or (kind is None and node.properties):
        return "object"
    if kind == "boolean":
        return "boolean"
    if "enum" in node.keywords:
        return "enum"
    if kind in ("integer", "number"):
        return kind
    if node.keywords.get("format") == "date":
        return "date"
    return "time" if _is_time(node) else "string"


def _kind(node: _Node, ui: Mapping[str, Any]) -> str:
    """The shape refined into a GOV.UK component, honouring the uischema's "ui:widget"."""
    shape, widget = _shape(node), ui.get("ui:widget")
    if shape == "enum":
        if widget in ("select", "radio"):
            return "select" if widget == "select" else "radios"
        return "select" if len(node.keywords["enum"]) > MAX_RADIOS else "radios"
    if shape == "string":
        if widget == "textarea" or node.keywords.get("maxLength", 0) > MAX_INPUT_LENGTH:
            return "textarea"
        return "email" if node.keywords.get("format") == "email" else "text"
    return shape


def _ordered(names: Iterable[str], order: Any) -> list[str]:
    """Names in "ui:order" first (where "*" stands for the rest), then any it leaves out."""
    names = list(names)
    if not isinstance(order, list):
        return names
    listed = [n for n in order if n in names]
    rest = [n for n in names if n not in listed]
    if "*" in order:
        star = order.index("*")
        before = [n for n in order[:star] if n in names]
        return before + rest + [n for n in listed if n not in before]
    return listed + rest


# ---- building fields -------------------------------------------------------------------------------


def build_fields(
    schema: Schema,
    registry: Registry[Any] | None,
    uischema: Mapping[str, Any] | None = None,
    answers: Mapping[str, Any] | None = None,
    errors: Sequence[FieldError] = (),
) -> list[Field]:
    """The form's fields, in the uischema's order, holding ``answers`` and the validator's ``errors``.

    With ``answers=None`` (a form not yet started) fields show their schema "default"; with answers,
    a field left empty stays empty, so the person sees what they submitted.
    """
    root = _root(schema, registry)
    if answers is None:
        answers = _defaults(root)
    fields = _object_fields(root, (), uischema or {}, answers)
    for error in errors:
        target = _target(fields, error.field)
        if target is not None and target.error is None:
            target.error = error.message
    return fields


def _defaults(node: _Node) -> dict[str, Any]:
    defaults = {
        name: _node(parts).keywords.get("default", MISSING) for name, parts in node.properties.items()
    }
    return {name: value for name, value in defaults.items() if value is not MISSING}


def _object_fields(node: _Node, path: Path, ui: Mapping[str, Any], values: Any) -> list[Field]:
    values = values if isinstance(values, Mapping) else {}
    conditions = _conditions(node)
    fields = []
    for name in _ordered(node.properties, ui.get("ui:order")):
        child = _node(node.properties[name])
        required = name in node.required
        # Always required already says it all; a condition only matters for otherwise optional fields.
        condition = None if required else conditions.get(name)
        fields.append(
            _field(child, (*path, name), ui.get(name) or {}, values.get(name), required, condition, name)
        )
    return fields


def _field(
    node: _Node,
    path: Path,
    ui: Mapping[str, Any],
    value: Any,
    required: bool,
    condition: str | None,
    name: str,
) -> Field:
    kind = _kind(node, ui)
    title = str(node.keywords.get("title") or name.replace("_", " ").capitalize())
    result = Field(
        path=path,
        kind=kind,
        label=title,
        hint=_hint(node, kind, condition),
        required=required,
        optional=not required and condition is None,
        input_classes=_width(node, kind),
    )
    if kind in ("radios", "select", "boolean", "checkboxes"):
        result.options = _options(node, kind)
    if kind == "checkboxes":
        result.values = [_as_text(v) for v in value] if isinstance(value, list) else []
    elif kind in ("string_list", "object_list"):
        _fill_rows(result, node, ui, value)
    elif kind == "object":
        result.children = _object_fields(node, path, ui, value)
    else:
        result.value = _as_text(value)
    return result


def _fill_rows(group: Field, node: _Node, ui: Mapping[str, Any], value: Any) -> None:
    """One child per row, and always one row to type in, so an empty list can be started without JS."""
    items = _node([node.items]) if node.items else _node([({"type": "string"}, _NO_RESOLVER)])
    item_title = str(items.keywords.get("title") or "Item")
    rows = value if isinstance(value, list) and value else [None]
    for index, row in enumerate(rows):
        child = _field(items, (*group.path, index), ui.get("items") or {}, row, False, None, item_title)
        # The group's legend and hint explain the list; each row only needs telling apart.
        child.label, child.hint, child.optional = f"{item_title} {index + 1}", None, False
        if len(rows) > 1:
            child.remove_action = f"remove:{group.name}:{index}"
        group.children.append(child)
    group.item_label = _lower_first(item_title)
    if len(rows) < node.keywords.get("maxItems", len(rows) + 1):
        group.add_action = f"add:{group.name}"


# Lists whose items have no schema of their own hold strings; there is nothing to resolve.
_NO_RESOLVER: Resolver[Any] = Registry().resolver()


def _lower_first(text: str) -> str:
    # "Add another agency", but keep acronyms ("LCSPR") as they are.
    return text if text[1:2].isupper() else text[:1].lower() + text[1:]


def _options(node: _Node, kind: str) -> list[Option]:
    if kind == "boolean":
        return [Option("true", "Yes"), Option("false", "No")]
    source = _node([node.items]) if kind == "checkboxes" and node.items else node
    labels: Mapping[str, str] = source.keywords.get("x-enum-labels", {})
    return [Option(_as_text(v), str(labels.get(str(v), v))) for v in source.keywords.get("enum", [])]


def _as_text(value: Any) -> str:
    if value is None or isinstance(value, Mapping | list):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _width(node: _Node, kind: str) -> str:
    # GOV.UK: size inputs to the answer expected, which tells people what to type.
    if kind in ("integer", "number", "time"):
        return "govuk-input--width-5"
    length = node.keywords.get("maxLength")
    if kind != "text" or not isinstance(length, int):
        return ""
    for limit, width in ((4, 4), (10, 10), (40, 20)):
        if length <= limit:
            return f"govuk-input--width-{width}"
    return ""


def _hint(node: _Node, kind: str, condition: str | None) -> str | None:
    description = str(node.keywords.get("description") or "")
    if kind == "date":
        # The schemas give ISO examples; people type day, month and year in separate boxes.
        description = _ISO_DATE.sub(lambda m: f"{int(m[3])} {int(m[2])} {m[1]}", description)
        if "example" not in description.lower():
            description = f"{description} For example, 27 3 2026.".strip()
    if kind == "time" and not re.search(r"\d:\d\d", description):
        description = f"{description} For example, 14:30.".strip()
    text = " ".join(part for part in (description, condition) if part)
    return text or None


# ---- conditional questions -------------------------------------------------------------------------


def _conditions(node: _Node) -> dict[str, str]:
    """For fields an if/then makes necessary, a sentence for the hint saying when they are needed.

    The field is always rendered (without JavaScript nothing can appear on demand), so the hint must
    tell people when to answer it.
    """
    found: dict[str, str] = {}
    for part in node.conditionals:
        then = part["then"]
        needed = set(then.get("required", []))
        for name, sub in then.get("properties", {}).items():
            if isinstance(sub, Mapping) and (sub.get("minLength", 0) > 0 or sub.get("minItems", 0) > 0):
                needed.add(name)
        sentence = _describe_if(part["if"], node)
        for name in needed:
            found.setdefault(name, sentence)
    return found


def _describe_if(condition: Any, node: _Node) -> str:
    clauses = []
    properties = condition.get("properties", {}) if isinstance(condition, Mapping) else {}
    for name, sub in properties.items():
        if not isinstance(sub, Mapping) or "const" not in sub or name not in node.properties:
            return "You may need to answer this, depending on your other answers."
        question = _node(node.properties[name])
        answer = _answer_text(question, sub["const"])
        clauses.append(f"you answer “{answer}” to “{question.keywords.get('title', name)}”")
    if not clauses:
        return "You may need to answer this, depending on your other answers."
    sentence = "Needed if " + " and ".join(clauses)
    # A question already ends in "?": another full stop after the closing quote reads badly.
    return sentence if sentence.endswith("?”") else sentence + "."


def _answer_text(question: _Node, value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    labels: Mapping[str, str] = question.keywords.get("x-enum-labels", {})
    return str(labels.get(str(value), value))


# ---- errors ----------------------------------------------------------------------------------------


def iter_fields(fields: Iterable[Field]) -> Iterator[Field]:
    """Every field and sub-field, in the order the page shows them."""
    for item in fields:
        yield item
        yield from iter_fields(item.children)


def _target(fields: Iterable[Field], path: str) -> Field | None:
    """The field an error belongs to: its own, else the nearest enclosing one ("lcspr_grounds/0")."""
    best: Field | None = None
    for item in iter_fields(fields):
        if (path == item.name or path.startswith(item.name + "/")) and (
            best is None or len(item.name) > len(best.name)
        ):
            best = item
    return best


def error_summary(errors: Sequence[FieldError], fields: Sequence[Field]) -> list[dict[str, str]]:
    """Items for govukErrorSummary, in the order of the form, each linking to its field's first input.

    An error that belongs to no field (the form as a whole) comes first, without a link.
    """
    position = {item.name: index for index, item in enumerate(iter_fields(fields))}
    ranked: list[tuple[int, int, dict[str, str]]] = []
    for number, error in enumerate(errors):
        target = _target(fields, error.field) if error.field else None
        if target is None:
            ranked.append((-1, number, {"text": error.message}))
        else:
            ranked.append(
                (position[target.name], number, {"text": error.message, "href": f"#{target.anchor}"})
            )
    return [item for _, _, item in sorted(ranked, key=lambda r: (r[0], r[1]))]


# ---- reading a submission --------------------------------------------------------------------------


def parse_submission(
    schema: Schema, registry: Registry[Any] | None, form: MultiDict[str, str]
) -> tuple[dict[str, Any], str | None]:
    """The answers a submitted form holds, as JSON types, and the pending "Add"/"Remove" action.

    Empty answers are left out so the validator asks for them; answers that cannot be converted (a
    date that does not exist, "twelve" minutes) are kept as typed so the validator says what is wrong.
    Lists are always present, ``[]`` when empty. On "Add"/"Remove" blank rows are kept (the page shows
    them again) and the action is applied; on a normal submit (action ``None``) blank rows are dropped.
    """
    root = _root(schema, registry)
    action = _read_action(root, form.get(FORM_ACTION, ""))
    answers = _parse_object(root, (), form, keep_blank=action is not None)
    if action is not None:
        _apply(action, answers)
    return answers, (form.get(FORM_ACTION) if action is not None else None)


def _parse_object(node: _Node, path: Path, form: MultiDict[str, str], keep_blank: bool) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for name, definitions in node.properties.items():
        value = _parse_value(_node(definitions), (*path, name), form, keep_blank)
        if value is not MISSING:
            answers[name] = value
    return answers


def _parse_value(node: _Node, path: Path, form: MultiDict[str, str], keep_blank: bool) -> Any:
    name = "/".join(str(p) for p in path)
    shape = _shape(node)
    if shape in ("string_list", "object_list"):
        return _parse_rows(node, path, form, keep_blank)
    if shape == "object":
        nested = _parse_object(node, path, form, keep_blank)
        return nested if nested else MISSING
    if shape == "checkboxes":
        items = _node([node.items]) if node.items else node
        return [_from_choice(items, v.strip()) for v in form.getlist(name) if v.strip()]
    if shape == "date":
        return _parse_date(form, name)
    text = _clean(form.get(name))
    if not text:
        return MISSING
    return _convert(node, shape, text)


def _clean(raw: str | None) -> str:
    # Browsers send textarea line breaks as CRLF; store the plain "\n" that documents and e-mails expect.
    return (raw or "").replace("\r\n", "\n").strip()


def _convert(node: _Node, shape: str, text: str) -> Any:
    if shape == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if shape == "enum":
        return _from_choice(node, text)
    if shape == "integer" and _INTEGER.fullmatch(text):
        return int(text.replace(",", ""))
    if shape == "number" and _NUMBER.fullmatch(text):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    if shape == "time":
        return _normalise_time(text)
    return text  # a string, or a number that is not one: the validator explains


def _from_choice(node: _Node, text: str) -> Any:
    # Enums may hold numbers or booleans; the browser only sends strings.
    return next((v for v in node.keywords.get("enum", []) if _as_text(v) == text), text)


def _normalise_time(text: str) -> str:
    """ "9:30" and "14.30" mean 09:30 and 14:30; anything else stays as typed for the validator."""
    match = _LOOSE_TIME.fullmatch(text)
    if match and int(match[1]) <= 23 and int(match[2]) <= 59:
        return f"{int(match[1]):02d}:{match[2]}"
    return text


def _parse_date(form: MultiDict[str, str], name: str) -> Any:
    """ISO "YYYY-MM-DD" from day, month and year boxes.

    A partial or impossible date comes back as an invalid string ("2026-02-30", "2026--3") rather than
    being dropped, so the validator reports it and the page shows the person what they typed.
    """
    day, month, year = (_clean(form.get(f"{name}-{part}")) for part in DATE_PARTS)
    if not (day or month or year):
        return MISSING
    month = _month_number(month)
    if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return f"{year}-{month}-{day}"


def _month_number(text: str) -> str:
    # GOV.UK: accept month names and abbreviations ("June", "jun") as well as numbers.
    prefix = text[:3].lower()
    if len(text) >= 3 and text.isalpha() and prefix in _MONTHS:
        return str(_MONTHS.index(prefix) + 1)
    return text


def _parse_rows(node: _Node, path: Path, form: MultiDict[str, str], keep_blank: bool) -> list[Any]:
    """The rows present in the form, in order; rows are found from the names of their inputs."""
    if node.items is None:
        return []
    items = _node([node.items])
    name = "/".join(str(p) for p in path)
    found = re.compile(rf"{re.escape(name)}/(\d+)(?:$|/|-)")
    indexes = sorted({int(m[1]) for key in form if (m := found.match(key))})
    rows = []
    for index in indexes:
        value = _parse_value(items, (*path, index), form, keep_blank)
        if _is_blank(value):
            if not keep_blank:
                continue  # an empty row on submit is not an answer
            value = _blank_row(items)
        rows.append(value)
    return rows


def _is_blank(value: Any) -> bool:
    if value is MISSING or value is None or value == "":
        return True
    if isinstance(value, Mapping):
        return all(_is_blank(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_blank(v) for v in value)
    return False


def _blank_row(items: _Node) -> Any:
    return {} if _shape(items) == "object" else ""


# ---- add and remove --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Action:
    path: tuple[str | int, ...]
    remove: int | None  # the row to remove, or None to add one
    list_node: _Node


def _read_action(root: _Node, raw: str) -> _Action | None:
    """``add:<list path>`` or ``remove:<list path>:<row>``, for a list the schema has; else None."""
    verb, _, rest = raw.partition(":")
    remove: int | None = None
    if verb == "remove":
        rest, _, row = rest.rpartition(":")
        if not row.isdigit():
            return None
        remove = int(row)
    elif verb != "add":
        return None
    path = tuple(int(p) if p.isdigit() else p for p in rest.split("/"))
    node = _walk(root, path)
    if node is None or _shape(node) not in ("string_list", "object_list"):
        return None
    return _Action(path, remove, node)


def _walk(node: _Node, path: Path) -> _Node | None:
    for segment in path:
        if isinstance(segment, int):
            if node.items is None:
                return None
            node = _node([node.items])
        elif segment in node.properties:
            node = _node(node.properties[segment])
        else:
            return None
    return node


def _apply(action: _Action, answers: dict[str, Any]) -> None:
    container: Any = answers
    for segment in action.path[:-1]:
        container = _step(container, segment)
        if container is None:
            return  # the row the list sits in is not there: nothing to add to
    last = action.path[-1]
    if not isinstance(container, dict) or not isinstance(last, str):
        return
    rows = container.setdefault(last, [])
    if action.remove is not None:
        if 0 <= action.remove < len(rows):
            del rows[action.remove]
    elif action.list_node.items is not None:
        # The page always shows one row even when the list is empty, so "add" to an empty list adds two.
        wanted = len(rows) + 1 if rows else 2
        limit = action.list_node.keywords.get("maxItems", wanted)
        blank = _blank_row(_node([action.list_node.items]))
        rows.extend(copy.deepcopy(blank) for _ in range(len(rows), min(wanted, limit)))


def _step(container: Any, segment: str | int) -> Any:
    if isinstance(segment, int):
        return container[segment] if isinstance(container, list) and segment < len(container) else None
    return container.get(segment) if isinstance(container, dict) else None


def readonly_rows(schema: Schema, registry: Registry[Any] | None, uischema: Mapping[str, Any] | None,
                  answers: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Another form's answers as (question, answer) rows, labelled as that form labels them; unanswered
    questions are left out."""
    fields = build_fields(schema, registry, uischema, dict(answers or {}), [])
    return [(f.label, text) for f in fields if (text := f.answer_text)]
