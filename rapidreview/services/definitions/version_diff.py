"""What changed between two process versions, property by property, in a process owner's words.

A list of element ids hides the change. Each element is read as a set of properties (its name, form,
instructions, due date, timer, condition, operator and parameters, scripts, the arrows in and out) and
each one that differs is shown before and after: ``due date: day(7, "17:00") -> day(6, "17:00")``.
The diagram's layout (shapes, waypoints, label positions, the order a modeler writes things in) is not a
property, so moving a box changes nothing here. Forms are compared by question: added, removed, and
text changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DIFFED = {
    f"{{{BPMN}}}{tag}"
    for tag in (
        "process",
        "lane",
        "sequenceFlow",
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "startEvent",
        "endEvent",
        "boundaryEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
        "dataObject",
        "dataObjectReference",
    )
}
_CONTAINERS = {f"{{{BPMN}}}laneSet"}  # holds lanes, which are compared on their own
_SETS = {"incoming": "arrows in", "outgoing": "arrows out", "flowNodeRef": "steps in the lane"}
_ATTRIBUTE_WORDS = {
    "name": "name",
    "sourceRef": "arrow from",
    "targetRef": "arrow to",
    "attachedToRef": "attached to",
    "cancelActivity": "stops the step it is attached to",
    "calledElement": "calls the process",
    "default": "default arrow",
    "scriptFormat": "script language",
}


@dataclass(frozen=True)
class PropertyChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ElementChange:
    file: str
    element_id: str
    name: str
    kind: str  # the BPMN element type, e.g. userTask
    changes: tuple[PropertyChange, ...] = ()


@dataclass(frozen=True)
class FormChange:
    name: str
    added: tuple[str, ...] = ()  # questions, by their title
    removed: tuple[str, ...] = ()
    changes: tuple[PropertyChange, ...] = ()  # text changed: the form's or a question's title or hint


@dataclass
class VersionDiff:
    added: list[ElementChange] = field(default_factory=list)
    removed: list[ElementChange] = field(default_factory=list)
    changed: list[ElementChange] = field(default_factory=list)
    forms_added: list[str] = field(default_factory=list)
    forms_removed: list[str] = field(default_factory=list)
    forms_changed: list[str] = field(default_factory=list)
    form_changes: list[FormChange] = field(default_factory=list)
    # E-mail and Word templates, by their path under templates/ (email/your_turn.txt, rapid_review_report.docx)
    templates_added: list[str] = field(default_factory=list)
    templates_removed: list[str] = field(default_factory=list)
    templates_changed: list[str] = field(default_factory=list)
    other_changed: list[str] = field(default_factory=list)  # any other files, by path

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) for name in self.__dataclass_fields__)

    def diagram_states(self) -> dict[str, dict[str, str]]:
        """Per BPMN file, the added and changed elements, for marking them on the new version's diagram."""
        states: dict[str, dict[str, str]] = {}
        for change, state in [(c, "added") for c in self.added] + [(c, "changed") for c in self.changed]:
            states.setdefault(change.file, {})[change.element_id] = state
        return states


def _local(tag: str) -> str:
    return etree.QName(tag).localname


def _text(el: Any) -> str:
    return " ".join((el.text or "").split())


def _properties(el: Any) -> dict[str, str]:
    """The element's own properties, by the words a process owner knows them by."""
    props: dict[str, str] = {}
    for key, value in el.attrib.items():
        if key != "id" and not key.startswith("{"):
            props[_ATTRIBUTE_WORDS.get(key, key)] = value
    sets: dict[str, list[str]] = {}
    _collect(el, props, sets, top=True)
    for label, items in sets.items():
        props[label] = ", ".join(sorted(items))
    return props


def _collect(el: Any, props: dict[str, str], sets: dict[str, list[str]], *, top: bool = False) -> None:
    for child in el:
        if (
            not isinstance(child.tag, str)
            or (not top and child.tag in DIFFED)
            or child.tag in DIFFED
            or child.tag in _CONTAINERS
        ):
            continue
        local = _local(child.tag)
        if local in _SETS:
            sets.setdefault(_SETS[local], []).append(_text(child))
        elif local == "property":
            props[
                {"formJsonSchemaFilename": "form", "formUiSchemaFilename": "form layout"}.get(
                    child.get("name", ""), f"property {child.get('name')}"
                )
            ] = child.get("value", "")
        elif local == "taskMetadataValue":
            name = child.get("name", "")
            props["due date" if name == "due" else f"task property {name}"] = child.get("value", "")
        elif local == "instructionsForEndUser":
            props["instructions"] = _text(child)
        elif local == "serviceTaskOperator":
            props["operator"] = child.get("id", "")
            if child.get("resultVariable"):
                props["result kept as"] = child.get("resultVariable", "")
            for param in child.iterfind(f"{{{SPIFF}}}parameters/{{{SPIFF}}}parameter"):
                props[f"parameter {param.get('id')}"] = param.get("value", "")
        elif local in ("timeDate", "timeDuration", "timeCycle"):
            props["timer"] = _text(child)
        elif local == "conditionExpression":
            props["condition"] = _text(child)
        elif local in ("script", "preScript", "postScript", "documentation", "messageVariable"):
            props[{"preScript": "pre-script", "postScript": "post-script"}.get(local, local)] = _text(child)
        elif len(child) == 0:
            attrs = ", ".join(f"{k}={v}" for k, v in sorted(child.attrib.items()) if k != "id")
            props[local] = " ".join(p for p in (attrs, _text(child)) if p) or "yes"
        else:
            _collect(child, props, sets)


def _elements(files: Mapping[str, bytes]) -> dict[tuple[str, str], tuple[ElementChange, dict[str, str]]]:
    found: dict[tuple[str, str], tuple[ElementChange, dict[str, str]]] = {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True)
    for path, content in files.items():
        if not path.startswith("bpmn/"):
            continue
        name = path.split("/", 1)[1]
        try:
            root = etree.fromstring(content, parser)
        except etree.XMLSyntaxError:
            continue
        for el in root.iter(*DIFFED):
            if el.get("id"):
                found[(name, el.get("id"))] = (
                    ElementChange(name, el.get("id"), el.get("name") or "", _local(el.tag)),
                    _properties(el),
                )
    return found


def _property_changes(before: dict[str, str], after: dict[str, str]) -> tuple[PropertyChange, ...]:
    return tuple(
        PropertyChange(label, before.get(label, ""), after.get(label, ""))
        for label in sorted(before.keys() | after.keys())
        if before.get(label, "") != after.get(label, "")
    )


def _questions(schema: Any, prefix: str = "") -> dict[str, dict[str, str]]:
    """Each question of a form by its path, with its title and hint."""
    out: dict[str, dict[str, str]] = {}
    if not isinstance(schema, dict):
        return out
    for key, node in (schema.get("properties") or {}).items():
        if not isinstance(node, dict):
            continue
        path = f"{prefix}{key}"
        out[path] = {
            "title": str(node.get("title", key)),
            "description": str(node.get("description", "")),
            "required": "yes" if key in (schema.get("required") or []) else "no",
        }
        out.update(_questions(node, path + "."))
        out.update(_questions(node.get("items"), path + "[]."))
    return out


def form_change(name: str, old: bytes, new: bytes) -> FormChange:
    try:
        before, after = json.loads(old), json.loads(new)
        _questions(before), _questions(after)
    except (ValueError, RecursionError):
        return FormChange(name, changes=(PropertyChange("file", "(changed)", "(not valid JSON)"),))
    if name.endswith(".uischema.json") or not isinstance(before, dict) or not isinstance(after, dict):
        return FormChange(name, changes=(PropertyChange("layout hints", "as before", "changed"),))
    old_q, new_q = _questions(before), _questions(after)
    changes = [
        PropertyChange(f"form {label}", str(before.get(key, "")), str(after.get(key, "")))
        for key, label in (("title", "title"), ("description", "text"))
        if before.get(key, "") != after.get(key, "")
    ]
    for path in sorted(old_q.keys() & new_q.keys()):
        for key, label in (("title", "question"), ("description", "hint"), ("required", "required")):
            if old_q[path][key] != new_q[path][key]:
                changes.append(
                    PropertyChange(f"{label} of {new_q[path]['title']}", old_q[path][key], new_q[path][key])
                )
    if not changes and old_q.keys() == new_q.keys():
        changes.append(PropertyChange("answers allowed", "as before", "changed (types, choices or limits)"))
    return FormChange(
        name,
        tuple(new_q[p]["title"] for p in sorted(new_q.keys() - old_q.keys())),
        tuple(old_q[p]["title"] for p in sorted(old_q.keys() - new_q.keys())),
        tuple(changes),
    )


def diff_files(old: Mapping[str, bytes], new: Mapping[str, bytes]) -> VersionDiff:
    """Elements added, removed and changed (by id, per file, with each changed property), forms and templates."""
    before, after = _elements(old), _elements(new)
    diff = VersionDiff()
    diff.added = [after[k][0] for k in sorted(after.keys() - before.keys())]
    diff.removed = [before[k][0] for k in sorted(before.keys() - after.keys())]
    for key in sorted(after.keys() & before.keys()):
        changes = _property_changes(before[key][1], after[key][1])
        if changes:
            element = after[key][0]
            diff.changed.append(
                ElementChange(element.file, element.element_id, element.name, element.kind, changes)
            )
    old_forms = {p: c for p, c in old.items() if p.startswith("forms/")}
    new_forms = {p: c for p, c in new.items() if p.startswith("forms/")}
    diff.forms_added = sorted(p.split("/", 1)[1] for p in new_forms.keys() - old_forms.keys())
    diff.forms_removed = sorted(p.split("/", 1)[1] for p in old_forms.keys() - new_forms.keys())
    diff.forms_changed = sorted(
        p.split("/", 1)[1] for p in new_forms.keys() & old_forms.keys() if new_forms[p] != old_forms[p]
    )
    diff.form_changes = [
        form_change(name, old_forms[f"forms/{name}"], new_forms[f"forms/{name}"])
        for name in diff.forms_changed
    ]
    old_templates = {p.split("/", 1)[1]: c for p, c in old.items() if p.startswith("templates/")}
    new_templates = {p.split("/", 1)[1]: c for p, c in new.items() if p.startswith("templates/")}
    diff.templates_added = sorted(new_templates.keys() - old_templates.keys())
    diff.templates_removed = sorted(old_templates.keys() - new_templates.keys())
    diff.templates_changed = sorted(p for p in new_templates.keys() & old_templates.keys()
                                    if new_templates[p] != old_templates[p])
    others_old = {p: c for p, c in old.items() if not p.startswith(("bpmn/", "forms/", "templates/"))}
    others_new = {p: c for p, c in new.items() if not p.startswith(("bpmn/", "forms/", "templates/"))}
    diff.other_changed = sorted(
        p for p in others_old.keys() | others_new.keys() if others_old.get(p) != others_new.get(p)
    )
    return diff
