"""Checks a process version before anyone relies on it, with messages a process owner can act on.

A version is its files keyed as they are stored: ``bpmn/<name>.bpmn`` / ``.dmn`` and
``forms/<name>.json``. :func:`validate_files` returns a list of :class:`Problem`; an empty list means
the version may be deployed. The checks follow ``docs/process-model.md``: safe XML, BPMN that
SpiffWorkflow accepts, forms for user tasks, lanes that are roles, known service operators with their
parameters, scripts and conditions that compile, timers that give an aware date and time on a sample
case, a complete diagram, and bpmnlint's recommended rules; ``templates/<name>.docx`` files, when given, are
checked by rapidreview.documents.template_check and ``templates/email/*`` files by rapidreview.mail.template_check.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from rapidreview import forms as form_schemas
from rapidreview import resources
from rapidreview.calendar import WorkingCalendar
from rapidreview.documents.template_check import check_template_files
from rapidreview.engine import inspect
from rapidreview.engine.scripting import RESERVED_NAMES
from rapidreview.mail.template_check import email_template_problems
from rapidreview.operator_table import OPERATORS
from rapidreview.process_contract import AGENCIES, PROCESS_ID, missing_names
from rapidreview.services.definitions import deadline_wording, expression_check, lint_advice
from rapidreview.services.people.roles import LANE_ROLES, PARTNERS

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI, "spiff": SPIFF}
FLOW_NODES = ("task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
              "businessRuleTask", "callActivity", "subProcess", "startEvent", "endEvent", "boundaryEvent",
              "intermediateCatchEvent", "intermediateThrowEvent", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway", "eventBasedGateway", "complexGateway")
FORM_PROPERTY = "formJsonSchemaFilename"
LINT_TIMEOUT = 60


@dataclass(frozen=True)
class Problem:
    file: str
    element_id: str | None
    element_name: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.element_id:
            where += f": {self.element_id}" + (f" ({self.element_name})" if self.element_name else "")
        return f"{where}: {self.message}"


def validate_files(files: Mapping[str, bytes], calendar: WorkingCalendar, *, process_id: str = PROCESS_ID,
                   lint: bool = True) -> list[Problem]:
    """Every problem in a version's files; empty when it may be deployed."""
    return validate_with_warnings(files, calendar, process_id=process_id, lint=lint)[0]


def validate_with_warnings(files: Mapping[str, bytes], calendar: WorkingCalendar, *, process_id: str = PROCESS_ID,
                           lint: bool = True) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings): problems stop a deploy; warnings (words that disagree with the process's
    deadlines) are for the owner to read."""
    warnings: list[Problem] = []
    process_files = {p.split("/", 1)[1]: c for p, c in files.items() if p.startswith("bpmn/")}
    form_files = {p.split("/", 1)[1]: c for p, c in files.items() if p.startswith("forms/")}
    if not any(name.endswith(".bpmn") for name in process_files):
        return [Problem("(version)", None, None, "there is no .bpmn file: add the process files")], []
    problems: list[Problem] = []
    roots: dict[str, Any] = {}
    for name, content in sorted(process_files.items()):
        root, problem = _read_xml(name, content)
        if problem is not None:
            problems.append(problem)
        else:
            roots[name] = root
    if problems:
        return problems, []  # nothing else is safe to look at
    duplicates = _duplicate_processes(roots)
    if duplicates:
        return duplicates, []  # SpiffWorkflow would only say "Duplicate process ID"
    parsed = inspect.parse_problem(process_files, process_id)
    if parsed is not None:
        problems.append(_located(roots, parsed.file or "(version)", parsed.element_id, parsed.message))
    bpmn_roots = {n: r for n, r in roots.items() if n.endswith(".bpmn")}
    examples, form_problems = _check_forms(bpmn_roots, form_files)
    problems += form_problems
    for name, root in bpmn_roots.items():
        problems += _check_lanes(name, root)
        problems += _check_service_tasks(name, root)
        problems += _check_code(name, root)
        problems += _check_diagram(name, root)
    email_templates = {Path(p).stem for p in files if p.startswith("templates/email/") and p.endswith(".txt")}
    sample = sample_case(bpmn_roots, examples, calendar, process_id)
    # A form that could not be read leaves the sample case without its answers: judging expressions on it
    # would blame the process for the form's mistake.
    problems += _check_timers(bpmn_roots, sample, email_templates, on_sample=not form_problems)
    wording_problems, wording_warnings = deadline_wording.check_wording(
        files, bpmn_roots, element_moments(bpmn_roots, sample), date.fromisoformat(sample.data["day_one"]), calendar)
    problems += [_located(bpmn_roots, file, element, message) for file, element, message in wording_problems]
    warnings += [_located(bpmn_roots, file, element, message) for file, element, message in wording_warnings]
    problems += _check_contract(bpmn_roots, form_files)
    templates = {p.split("/", 1)[1]: c for p, c in files.items() if p.startswith("templates/") and p.endswith(".docx")}
    if templates:  # the Word templates, when the version's files include them (rapidreview validate does)
        problems += [Problem(f"templates/{name}", None, None, message)
                     for name, message in check_template_files(templates, form_files)]
    problems += [Problem(f"templates/{name}", None, None, message) for name, message in email_template_problems(
        {p.split("/", 1)[1]: c for p, c in files.items() if p.startswith("templates/email/")})]
    if lint:
        problems += lint_problems(bpmn_roots, process_files)
    return problems, warnings


def _check_contract(roots: Mapping[str, Any], form_files: Mapping[str, bytes]) -> list[Problem]:
    """The element ids and data names the application relies on (rapidreview.process_contract) must exist:
    an id as an element, a data name as something the process sets (a name only mentioned, in a comment
    or a task's instructions, would leave the application reading nothing)."""
    ids = {str(el.get("id")) for root in roots.values() for el in root.iter() if el.get("id")}
    return [Problem("(version)", name, None, f"the process has no {name!r}, which the application relies on "
                                            f"({why}): keep this id (or name), or restore it")
            for name, why in missing_names(ids, assigned_data_names(roots, form_files))]


def assigned_data_names(roots: Mapping[str, Any], form_files: Mapping[str, bytes]) -> set[str]:
    """The data names a process sets: assigned by a script (``name = ...`` or ``name[...] = ...``), a question
    of a form one of its user tasks shows, or a multi-instance activity's output collection or data items."""
    names: set[str] = set()
    for root in roots.values():
        scripts = [el.findtext("bpmn:script", namespaces=NS) for el in _elements(root, "scriptTask")]
        scripts += [el.findtext(f"bpmn:extensionElements/spiff:{kind}", namespaces=NS)
                    for el in root.iter() for kind in ("preScript", "postScript")]
        for script in scripts:
            names |= _script_assignments(script or "")
        # The output collection is what the instances set; the input collection (loopDataInputRef) is only read.
        for ref in _elements(root, "loopDataOutputRef"):
            names.add((ref.text or "").strip())
        for item in _elements(root, "inputDataItem", "outputDataItem"):
            names |= {str(v) for v in (item.get("id"), item.get("name")) if v}
        for task in _elements(root, "userTask"):
            names |= _form_questions(form_files.get(task_properties(task).get(FORM_PROPERTY) or ""))
    return names


def _script_assignments(code: str) -> set[str]:
    """The names a script assigns, whole or by item; none when it does not compile (_check_code reports that)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            target: ast.expr = node
            while isinstance(target, ast.Subscript):  # x["a"] = ... and x["a"]["b"] = ... both set x
                target = target.value
            if isinstance(target, ast.Name):
                names.add(target.id)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def _form_questions(content: bytes | None) -> set[str]:
    """A form's top-level questions; none when it cannot be read (_check_forms reports that)."""
    try:
        schema = json.loads(content) if content else {}
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
        return set()
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return set(properties) if isinstance(properties, dict) else set()


# ---- XML ---------------------------------------------------------------------------------------------


def _read_xml(name: str, content: bytes) -> tuple[Any, Problem | None]:
    if b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        return None, Problem(name, None, None, "the file declares a DOCTYPE or an entity, which could read other "
                                               "files or the network: remove the <!DOCTYPE ...> part")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        return None, Problem(name, None, None, f"the file is not well-formed XML ({exc}): save it again from the modeler")
    if root.getroottree().docinfo.doctype:
        return None, Problem(name, None, None, "the file has a DOCTYPE: remove it")
    return root, None


def _q(tag: str) -> str:
    prefix, local = tag.split(":")
    return f"{{{NS[prefix]}}}{local}"


def _elements(root: Any, *tags: str) -> Iterator[Any]:
    for tag in tags:
        yield from root.iter(_q(f"bpmn:{tag}"))


def _problem(file: str, element: Any, message: str) -> Problem:
    return Problem(file, element.get("id"), element.get("name") or None, message)


def _located(roots: Mapping[str, Any], file: str, element_id: str | None, message: str) -> Problem:
    """A problem reported by id, with the element's name looked up so the owner can find it."""
    name = None
    if element_id:
        for root in [roots[file]] if file in roots else roots.values():
            found = root.xpath("//*[@id=$id]", id=element_id)
            if found:
                name = found[0].get("name")
                break
    return Problem(file, element_id, name, message)


def _properties(element: Any) -> dict[str, str]:
    return {p.get("name"): p.get("value", "") for p in element.iterfind("bpmn:extensionElements/spiff:properties/"
                                                                         "spiff:property", NS)}


def process_ids(root: Any) -> list[str]:
    return [p.get("id") for p in root.iterfind("bpmn:process", NS) if p.get("id")]


def _duplicate_processes(roots: Mapping[str, Any]) -> list[Problem]:
    """Two files holding the same process: usually a changed file uploaded under the name the modeler gave it
    (diagram.bpmn, information_sharing (1).bpmn) beside the version's own."""
    holders: dict[str, list[str]] = {}
    for name, root in sorted(roots.items()):
        for pid in process_ids(root):
            holders.setdefault(pid, []).append(name)
    problems = []
    for pid, names in holders.items():
        if len(names) > 1:
            problems.append(Problem(names[-1], pid, None, f"{' and '.join(names)} both hold the process {pid}: keep "
                                                          f"only one, named {pid}.bpmn (rename the changed file to "
                                                          f"{pid}.bpmn and upload it again)"))
    return problems


def task_properties(element: Any) -> dict[str, str]:
    """A task's spiffworkflow properties (its form, say) by name."""
    return _properties(element)


def form_examples(roots: Mapping[str, Any], form_files: Mapping[str, bytes]) -> dict[str, Any]:
    """Each user task's example answer by task id, from its form (what the sample case holds)."""
    return _check_forms(roots, form_files)[0]


# ---- forms and lanes ---------------------------------------------------------------------------------


def _check_forms(roots: Mapping[str, Any], form_files: Mapping[str, bytes]) -> tuple[dict[str, Any], list[Problem]]:
    """Each user task's form exists, is a valid JSON Schema and has a valid example; returns the examples."""
    problems: list[Problem] = []
    examples: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rapidreview-forms-") as scratch:
        folder = Path(scratch)
        for name, content in form_files.items():
            (folder / Path(name).name).write_bytes(content)
        try:
            registry = form_schemas.load_registry(folder)
        except form_schemas.FormError as exc:
            message = str(exc).replace(str(folder) + "/", "")
            if "not valid JSON" in message:
                message += (": open the file in a text editor at that line; a comma, a quote, a colon or a bracket "
                            "is missing or one too many")
            return examples, [Problem("forms", None, None, message)]
        for file, root in roots.items():
            for task in _elements(root, "userTask"):
                filename = _properties(task).get(FORM_PROPERTY)
                if not filename:
                    problems.append(_problem(file, task, f"the user task has no form: add the property {FORM_PROPERTY} "
                                                         f"with the name of its form, e.g. {task.get('id')}.schema.json"))
                    continue
                if filename not in form_files:
                    problems.append(_problem(file, task, f"its form {filename} is not in the version: add "
                                                         f"forms/{filename} or correct {FORM_PROPERTY}"))
                    continue
                try:
                    schema = form_schemas.load_schema(folder, filename, registry)
                    example = form_schemas.example_answers(schema)
                except form_schemas.FormError as exc:
                    problems.append(_problem(file, task, str(exc).replace(str(folder) + "/", "")))
                    continue
                unknown = [q for q in schema.get("required", []) if q not in (schema.get("properties") or {})]
                if unknown:
                    problems.append(_problem(file, task, f"{filename} makes {', '.join(unknown)} required, but the form "
                                                         "has no such question: correct the name in \"required\" or "
                                                         "add the question"))
                    continue
                errors = form_schemas.validate_answers(schema, example, registry)
                if errors:
                    details = "; ".join(f"{e.field or 'form'}: {e.message}" for e in errors)
                    problems.append(_problem(file, task, f"the example answer in {filename} does not fit the form: {details}"))
                examples[task.get("id")] = example
    return examples, problems


def _check_lanes(file: str, root: Any) -> list[Problem]:
    problems = []
    laned: set[str] = set()
    for lane in _elements(root, "lane"):
        laned.update(ref.text.strip() for ref in lane.iterfind("bpmn:flowNodeRef", NS) if ref.text)
        if lane.get("name") not in LANE_ROLES:
            problems.append(_problem(file, lane, f"the lane name {lane.get('name')!r} is not a role: rename it to one "
                                                 f"of {', '.join(LANE_ROLES)}"))
    for task in _elements(root, "userTask"):
        if task.get("id") not in laned:
            problems.append(_problem(file, task, "the user task is in no lane, so nobody can do it: put it in the lane "
                                                 "of the role that does it"))
    return problems


# ---- service tasks, scripts, conditions -------------------------------------------------------------


def _check_service_tasks(file: str, root: Any) -> list[Problem]:
    problems = []
    for task in _elements(root, "serviceTask"):
        operator = task.find("bpmn:extensionElements/spiff:serviceTaskOperator", NS)
        if operator is None:
            problems.append(_problem(file, task, f"the service task names no operator: choose one of {', '.join(OPERATORS)}"))
            continue
        name = operator.get("id")
        spec = OPERATORS.get(name or "")
        if spec is None:
            problems.append(_problem(file, task, f"unknown service operator {name!r}: use one of {', '.join(OPERATORS)}"))
            continue
        params = {p.get("id"): p.get("value", "") for p in operator.iterfind("spiff:parameters/spiff:parameter", NS)}
        missing, unknown = spec.problems([str(p) for p in params])
        if missing:
            problems.append(_problem(file, task, f"operator {name} needs the parameter(s) {', '.join(missing)}"))
        if unknown:
            allowed = ", ".join(spec.parameters)
            problems.append(_problem(file, task, f"operator {name} does not take {', '.join(map(str, unknown))} "
                                                 f"(it takes {allowed})"))
        for param, value in params.items():
            error = _compile_error(value, "eval")
            if error:
                problems.append(_problem(file, task, f"parameter {param} of {name} is not a valid expression ({error}); "
                                                     "remember that text needs quotes, e.g. 'reminder'"))
    return problems


def _compile_error(code: str, mode: str) -> str | None:
    try:
        compile(code, "<bpmn>", mode)
    except SyntaxError as exc:
        return f"{exc.msg}, line {exc.lineno}" if mode == "exec" else exc.msg
    return None


def _reserved_assignments(code: str) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in RESERVED_NAMES:
            names.append(node.id)
    return names


def _check_code(file: str, root: Any) -> list[Problem]:
    problems = []
    scripts = [(el, "script", el.findtext("bpmn:script", namespaces=NS)) for el in _elements(root, "scriptTask")]
    for el in root.iter():
        for kind in ("preScript", "postScript"):
            text = el.findtext(f"bpmn:extensionElements/spiff:{kind}", namespaces=NS)
            if text:
                scripts.append((el, kind, text))
    for element, kind, text in scripts:
        if not (text or "").strip():
            problems.append(_problem(file, element, f"the {kind} is empty"))
            continue
        error = _compile_error(text, "exec")
        if error:
            problems.append(_problem(file, element, f"the {kind} is not valid Python ({error})"))
        elif reserved := _reserved_assignments(text):
            problems.append(_problem(file, element, f"the {kind} assigns {', '.join(reserved)}, a reserved name: "
                                                    "choose another variable name"))
    for flow in _elements(root, "sequenceFlow"):
        condition = flow.findtext("bpmn:conditionExpression", namespaces=NS)
        if condition is not None:
            error = _compile_error(condition.strip(), "eval")
            if error:
                problems.append(_problem(file, flow, f"the condition {condition.strip()!r} is not a valid expression ({error})"))
    for el in root.iter():
        for value in el.iterfind("bpmn:extensionElements/spiff:taskMetadataValues/spiff:taskMetadataValue", NS):
            if value.get("name") == "show":
                continue
            error = _compile_error(value.get("value", ""), "eval")
            if error and value.get("name") == "due":
                expression = expression_check.Expression(file, el, "the due date", value.get("value", ""), "eval", "due")
                problems.append(_problem(file, el, expression_check.date_expression_message(expression, error)))
            elif error:
                problems.append(_problem(file, el, f"the task property {value.get('name')} is not a valid expression "
                                                   f"({error})"))
    return problems


# ---- timers on a sample case ------------------------------------------------------------------------


def sample_data(examples: Mapping[str, Any], calendar: WorkingCalendar) -> dict[str, Any]:
    """What a case holds when its timers are armed: start data, every form's example answer under its task
    id, and one instance of each multi-instance item."""
    from datetime import UTC

    notified = datetime(2026, 5, 22, 9, 0, tzinfo=UTC)
    data: dict[str, Any] = {
        "case_reference": "RR-SAMPLE-1", "notified_at": notified.isoformat(),
        "day_one": calendar.day_one(notified).isoformat(),
        "notification": {"child": {"name": "Child S"}, "incident": {"date": "2026-05-20", "summary": "Sample"},
                         "referral": {}, "agencies": []},
        "partners": dict(PARTNERS), "partner": "LA", "signing_partner": "LA",
    }
    data.update(copy.deepcopy(dict(examples)))
    return data


def sample_case(roots: Mapping[str, Any], examples: Mapping[str, Any], calendar: WorkingCalendar,
                process_id: str) -> inspect.SampleCase:
    """The sample case with the model's scripts run on it, so later expressions see what they set."""
    sample = inspect.SampleCase(calendar, sample_data(examples, calendar))
    # The main process's file first, so the agencies exist when the called process's scripts run.
    ordered = sorted(roots.items(), key=lambda item: item[1].find(f"bpmn:process[@id='{process_id}']", NS) is None)
    scripts = [el.findtext("bpmn:script", namespaces=NS) or "" for _, root in ordered for el in _elements(root, "scriptTask")]
    for _ in range(2):  # a second pass sees what later scripts set (the agency of a called process)
        for script in scripts:
            try:
                sample.run_script(script)
            except Exception:  # noqa: S112 - a script that fails on sample data is not itself an error
                continue
        agencies = sample.data.get(AGENCIES)
        if isinstance(agencies, dict) and agencies and "agency" not in sample.data:
            sample.data["agency"] = next(iter(agencies.values()))
    return sample


def element_moments(roots: Mapping[str, Any], sample: inspect.SampleCase) -> dict[str, datetime]:
    """When each element is due or fires on the sample case, where its due date or timer can be worked out."""
    moments: dict[str, datetime] = {}
    for file, root in roots.items():
        for expression in expression_check.expressions_of(file, root):
            if expression.kind not in ("due", "timer") or not expression.element.get("id"):
                continue
            try:
                value = inspect.timer_value("timeDate", sample.evaluate(expression.code))
            except Exception:  # noqa: S112 - validate_files reports the expressions that do not work
                continue
            if isinstance(value, datetime):
                moments.setdefault(expression.element.get("id"), value)
    return moments


def _check_timers(roots: Mapping[str, Any], sample: inspect.SampleCase,
                  email_templates: set[str] | None = None, *, on_sample: bool = True) -> list[Problem]:
    """Due dates and timers give an aware date and time on the sample case; every expression reads only names
    the process sets; conditions and service parameters work on the sample case."""
    problems = []
    known = expression_check.names_set_by_the_process(roots)
    templates = email_templates or set()
    expressions = [e for file, root in roots.items() for e in expression_check.expressions_of(file, root)]
    for expression in expressions:
        error = _compile_error(expression.code, expression.mode) if expression.code else None
        if error and expression.kind == "timer":
            problems.append(_problem(expression.file, expression.element,
                                     expression_check.date_expression_message(expression, error)))
        if error:
            continue  # _check_code reports the others
        names = expression_check.unknown_names(expression.code, expression.mode, known)
        if names:
            problems.append(_problem(expression.file, expression.element,
                                     expression_check.unknown_name_message(expression, names, templates)))
            continue
        if expression.kind in ("due", "timer"):
            kind = "timeDate"
            if expression.kind == "timer":
                kind = next((k for k in ("timeDate", "timeDuration", "timeCycle")
                             if expression.element.find(f".//bpmn:{k}", NS) is not None), "timeDate")
            message = _timer_error(sample, kind, expression) if on_sample else None
            if message:
                problems.append(_problem(expression.file, expression.element, message))
    for expression, message in expression_check.sample_problems(expressions if on_sample else [], sample, templates):
        problems.append(_problem(expression.file, expression.element, message))
    return problems


def _timer_error(sample: inspect.SampleCase, kind: str, expression: expression_check.Expression) -> str | None:
    if not expression.code:
        return expression_check.date_expression_message(expression)
    try:
        value = sample.evaluate(expression.code)
        inspect.timer_value(kind, value)
    except Exception as exc:
        return expression_check.date_expression_message(expression, str(exc))
    return None


# ---- diagram and bpmnlint --------------------------------------------------------------------------


def _check_diagram(file: str, root: Any) -> list[Problem]:
    shapes = {s.get("bpmnElement") for s in root.iter(_q("bpmndi:BPMNShape"))}
    edges = {e.get("bpmnElement") for e in root.iter(_q("bpmndi:BPMNEdge"))}
    problems = [_problem(file, node, "the element has no shape in the diagram: open the file in the modeler, "
                                     "place the element and save")
                for node in _elements(root, *FLOW_NODES) if node.get("id") not in shapes]
    problems += [_problem(file, flow, "the sequence flow is not drawn in the diagram: reconnect it in the modeler and save")
                 for flow in _elements(root, "sequenceFlow") if flow.get("id") not in edges]
    return problems


_LINT_LINE = re.compile(r"^\s+(\S*)\s+(error|warning)\s+(.*?)\s{2,}(\S+)\s*$")


def lint_problems(roots: Mapping[str, Any], process_files: Mapping[str, bytes]) -> list[Problem]:
    """bpmnlint's recommended rules (the project's .bpmnlintrc), when node_modules has bpmnlint.

    An installed package has no node_modules: bpmnlint is a tool of the checkout, where process owners edit
    the model, so there its rules are skipped (``lint_skipped()`` says so) rather than failing every deploy.
    """
    if lint_skipped():
        return []
    modules = resources.node_modules()
    npx = shutil.which("npx")
    if npx is None or modules is None or not (modules / ".bin" / "bpmnlint").exists():
        return [Problem("(version)", None, None, "bpmnlint could not run (it is not installed: run `npm ci`), "
                                                 "so its rules were not checked")]
    with tempfile.TemporaryDirectory(prefix="rapidreview-lint-") as scratch:
        paths = []
        for name in roots:
            path = Path(scratch) / Path(name).name
            path.write_bytes(process_files[name])
            paths.append(str(path))
        try:
            done = subprocess.run([npx, "--no-install", "bpmnlint", "-c", str(resources.CHECKOUT_DIR / ".bpmnlintrc"), *paths],
                                  cwd=resources.CHECKOUT_DIR, capture_output=True, text=True, timeout=LINT_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [Problem("(version)", None, None, f"bpmnlint could not run ({exc}), so its rules were not checked")]
    problems: list[Problem] = []
    current = "(version)"
    for line in done.stdout.splitlines():
        if line.startswith(scratch):
            current = Path(line.strip()).name
        elif match := _LINT_LINE.match(line):
            element_id, severity, message, rule = match.groups()
            if severity == "error":
                problems.append(_located(roots, current, element_id or None, lint_advice.advice_for(rule, message)))
    if done.returncode != 0 and not problems:
        detail = (done.stderr or done.stdout).strip().splitlines()
        problems.append(Problem("(version)", None, None, f"bpmnlint failed: {detail[-1] if detail else done.returncode}"))
    return problems


def lint_skipped() -> bool:
    """True in an installed package, which ships without bpmnlint (a Node.js tool of the checkout)."""
    return not resources.is_checkout()


def problems_as_json(problems: list[Problem]) -> str:
    return json.dumps([p.__dict__ for p in problems], indent=2)
