"""Every expression of a process version read the way a case will read it, with advice a process owner can act on.

Syntax alone lets through the mistake that hurts most: a service parameter written ``information_sharing_reminder``
instead of ``'information_sharing_reminder'`` is a valid expression, deploys, passes the happy path, and fails
only when the reminder fires in a live case. So each expression (conditions, service parameters, scripts,
task metadata, due dates, timers) is checked for names that nothing in the process ever sets, and
evaluated on the sample case, so the owner hears about it before activation, naming the element.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rapidreview.engine.scripting import CALENDAR_FUNCTIONS, SAFE_BUILTINS

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "spiff": SPIFF}

# Names a case holds from its start (rapidreview.services.casework.cases.start_case) or that the engine gives
# certain expressions ("answers" for a task's check:<field> metadata).
START_DATA = ("case_reference", "notified_at", "day_one", "notification", "partners")
EXPRESSION_EXTRAS = ("answers",)
DATE_HINT = 'write the working day of the case and the time, e.g. day(7, "17:00") for 5pm on Day 7'


@dataclass(frozen=True)
class Expression:
    """One piece of code in the model: where it is, what it is, and its text."""

    file: str
    element: Any  # the lxml element the owner edits
    what: str  # "the condition", "parameter template of send_email", "the due date"
    code: str
    mode: str  # "eval" or "exec"
    kind: str  # "condition", "parameter", "script", "metadata", "due", "timer"


def expressions_of(file: str, root: Any) -> Iterator[Expression]:
    """Every expression and script in one BPMN file."""
    for task in root.iter(f"{{{BPMN}}}scriptTask"):
        yield Expression(
            file, task, "the script", task.findtext("bpmn:script", namespaces=NS) or "", "exec", "script"
        )
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        for kind in ("preScript", "postScript"):
            text = el.findtext(f"bpmn:extensionElements/spiff:{kind}", namespaces=NS)
            if text:
                yield Expression(file, el, f"the {kind}", text, "exec", "script")
        for value in el.iterfind(
            "bpmn:extensionElements/spiff:taskMetadataValues/spiff:taskMetadataValue", NS
        ):
            name = value.get("name", "")
            if name == "show":  # panel names, not an expression
                continue
            kind = "due" if name == "due" else "metadata"
            what = "the due date" if kind == "due" else f"the task property {name}"
            yield Expression(file, el, what, value.get("value", ""), "eval", kind)
        operator = el.find("bpmn:extensionElements/spiff:serviceTaskOperator", NS)
        if operator is not None:
            for param in operator.iterfind("spiff:parameters/spiff:parameter", NS):
                yield Expression(
                    file,
                    el,
                    f"the parameter {param.get('id')} of {operator.get('id')}",
                    param.get("value", ""),
                    "eval",
                    "parameter",
                )
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        condition = flow.findtext("bpmn:conditionExpression", namespaces=NS)
        if condition is not None:
            yield Expression(file, flow, "the condition", condition.strip(), "eval", "condition")
    for definition in root.iter(f"{{{BPMN}}}timerEventDefinition"):
        for kind in ("timeDate", "timeDuration", "timeCycle"):
            text = definition.findtext(f"bpmn:{kind}", namespaces=NS)
            if text is not None:
                yield Expression(file, definition.getparent(), "the timer", text.strip(), "eval", "timer")


def names_set_by_the_process(roots: Mapping[str, Any]) -> set[str]:
    """Every name a case may hold: start data, answers (kept under the task's id), what scripts assign, service
    results, multi-instance items and data objects."""
    known = set(START_DATA) | set(EXPRESSION_EXTRAS) | set(CALENDAR_FUNCTIONS) | set(SAFE_BUILTINS)
    for root in roots.values():
        for el in root.iter():
            if not isinstance(el.tag, str):
                continue
            local = el.tag.rsplit("}", 1)[-1]
            if local in (
                "userTask",
                "manualTask",
                "dataObject",
                "dataObjectReference",
                "dataInput",
                "dataOutput",
                "inputDataItem",
                "outputDataItem",
            ):
                known.update(filter(None, (el.get("id"), el.get("name"))))
            elif local in ("loopDataInputRef", "loopDataOutputRef", "messageVariable") and el.text:
                known.add(el.text.strip())  # a multi-instance's list, what a message event receives
            elif local == "serviceTaskOperator" and el.get("resultVariable"):
                known.add(el.get("resultVariable"))
        for expression in expressions_of("", root):
            if expression.kind == "script":
                known.update(_assigned(expression.code))
    return known


def _assigned(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def unknown_names(code: str, mode: str, known: set[str]) -> list[str]:
    """Names the code reads that neither it nor the process sets (comprehension variables count as its own)."""
    try:
        tree = ast.parse(code, mode=mode)
    except SyntaxError:
        return []
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    own |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.Lambda) for a in n.args.args}
    found: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and node.id not in known | own
            and node.id not in found
        ):
            found.append(node.id)
    return found


def unknown_name_message(expression: Expression, names: list[str], templates: set[str]) -> str:
    """Why a name nothing sets is almost always a missing pair of quotes, said in those words."""
    listed = ", ".join(names)
    if expression.kind == "parameter" and len(names) == 1:
        name = names[0]
        extra = f" (there is an e-mail template called {name})" if name in templates else ""
        return (
            f"{expression.what} is written {expression.code} without quotes, so the process would look for "
            f"case data called {name}, which nothing sets, and the step would fail when a case reaches it"
            f"{extra}. Text needs quotes: write '{expression.code}' with the single quotes"
        )
    if expression.kind in ("due", "timer"):
        return f"{expression.what} {expression.code!r} uses {listed}, which the process does not know: {_date_hint(expression.code)}"
    return (
        f"{expression.what} uses {listed}, which nothing in the process sets (check the spelling; "
        "text needs quotes, e.g. 'approve')"
    )


_DAY_TEXT = re.compile(
    r"day\w*\s*\(?\s*(\d+)\s*[,)]?\s*(?:at\s*)?[\"']?(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?", re.IGNORECASE
)
_ISO_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})")


def _date_hint(code: str) -> str:
    """The fix, concrete when the owner's intent can be read from what they wrote ("Day 6 17:00")."""
    match = _DAY_TEXT.search(code)
    if match:
        hour = int(match.group(2)) % 24
        if (match.group(4) or "").lower() == "pm" and hour < 12:
            hour += 12
        return f'write day({int(match.group(1))}, "{hour:02d}:{match.group(3) or "00"}")'
    match = _ISO_TEXT.search(code)
    if match:
        return (
            f"{DATE_HINT} (or, for the same fixed date in every case, "
            f'london_time("{match.group(1)}", "{match.group(2)}:{match.group(3)}"))'
        )
    return DATE_HINT


def date_expression_message(expression: Expression, detail: str | None = None) -> str:
    """A due date or timer that does not give a date and time, in words and with the fix."""
    code = expression.code
    if not code:
        return f"{expression.what} is empty: {DATE_HINT}"
    if _ISO_TEXT.search(code) and (detail is None or "offset" in detail or "syntax" in detail):
        return (
            f"{expression.what} {code!r} is a fixed date and time without its time zone, so it would be an hour "
            f"out half the year: {_date_hint(code)}"
        )
    return f"{expression.what} {code!r} is not a date and time the process can work out: {_date_hint(code)}"


def sample_problems(
    expressions: list[Expression], sample: Any, templates: set[str]
) -> Iterator[tuple[Expression, str]]:
    """Conditions and service parameters evaluated on the sample case (after its scripts ran).

    An expression whose names the sample does not hold (data of another path) is not judged here: the
    static check above has already made sure something in the process sets them.
    """
    for expression in expressions:
        if expression.kind not in ("condition", "parameter") or expression.mode != "eval":
            continue
        try:
            tree = ast.parse(expression.code, mode="eval")
        except SyntaxError:
            continue
        reads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if not reads <= set(sample.data) | set(CALENDAR_FUNCTIONS) | set(SAFE_BUILTINS):
            continue
        try:
            value = sample.evaluate(expression.code)
        except Exception as exc:  # noqa: BLE001 - whatever a live case would hit, said to the owner
            yield (
                expression,
                (
                    f"{expression.what} {expression.code!r} fails on a sample case "
                    f"({type(exc).__name__}: {exc}): check the names and the quotes"
                ),
            )
            continue
        is_template = expression.what.startswith("the parameter template") and bool(templates)
        if is_template and (not isinstance(value, str) or value not in templates):
            known = ", ".join(sorted(templates))
            yield (
                expression,
                f"{expression.what} gives {value!r}, which is not an e-mail template: use one of {known}",
            )
