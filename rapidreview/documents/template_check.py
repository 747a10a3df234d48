"""Check the Word templates that process owners edit: every tag must name something the context provides.

A template is a .docx with docxtpl tags (``{{ child.name }}``, ``{%p if outcome.decided %}``, ``{%tr for
agency in agencies %}``). Word edits can leave a tag misspelt, and rendering would then print "Not
recorded" where the data was: so :func:`check_templates` opens each template, reads every tag exactly as
docxtpl will (body, headers, footers, document properties), follows loop variables into the rows of their
lists, and names each tag the template's context does not provide, with the nearest names that exist.
It also checks that the paper Information Sharing Form asks the web form's questions, in its order.
``rapidreview validate`` runs it (docs/process-owners.md).
"""

from __future__ import annotations

import difflib
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docx
from docxtpl import DocxTemplate
from jinja2 import Environment, TemplateSyntaxError, nodes

from rapidreview.documents.samples import TEMPLATE_CONTEXTS

ISF_TEMPLATE = "information_sharing_form.docx"
ISF_SCHEMA = "complete_information_sharing_form.schema.json"
_QUESTION = re.compile(r"^\d+\. ")
_CORE_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")


# -- the shape of a context: which names exist, and what the rows of each list hold -----------------------

@dataclass(frozen=True)
class Rows:
    """A list in the context; ``item`` is the shape of one of its rows (``TEXT`` for a list of text)."""

    item: Any


TEXT = "text"  # a value shown as it is
ANYTHING = "anything"  # something the check cannot follow (a filter's result, a loop counter): not checked


def shape_of(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): shape_of(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        shapes = [shape_of(item) for item in value]
        merged: Any = TEXT
        for shape in shapes:
            merged = {**merged, **shape} if isinstance(merged, dict) and isinstance(shape, dict) else shape
        return Rows(merged)
    return TEXT


def names(shape: Any, prefix: str = "") -> Iterator[str]:
    """Every name a template can use, as written in a tag (``agencies[]`` stands for a row of the list)."""
    if isinstance(shape, dict):
        for key, item in shape.items():
            path = f"{prefix}.{key}" if prefix else key
            yield path
            yield from names(item, path)
    elif isinstance(shape, Rows) and isinstance(shape.item, dict):
        yield from names(shape.item, f"{prefix}[]")


# -- reading the tags of a .docx ------------------------------------------------------------------------

def template_sources(path: Path) -> list[tuple[str, str]]:
    """(part, Jinja source) for each part docxtpl renders, after docxtpl's own clean-up of Word's XML."""
    template = DocxTemplate(path)
    template.init_docx()
    sources = [("body", template.patch_xml(template.get_xml()))]
    for part_name, uri in (("header", template.HEADER_URI), ("footer", template.FOOTER_URI)):
        for _, part in template.get_headers_footers(uri):
            sources.append((part_name, template.patch_xml(template.get_part_xml(part))))
    props = template.docx.core_properties
    sources += [(f"document property {name}", getattr(props, name) or "") for name in _CORE_PROPERTIES]
    return sources


class _Checker:
    """Walks a parsed template, resolving every name against the context's shape."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.problems: list[str] = []

    def visit(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.For):
            rows = self.resolve(node.iter, scope)[0]
            inner = dict(scope, loop=ANYTHING)
            self.bind(node.target, rows.item if isinstance(rows, Rows) else ANYTHING, inner)
            for child in node.body:
                self.visit(child, inner)
            if node.test is not None:
                self.visit(node.test, inner)
            for child in node.else_:
                self.visit(child, scope)
            return
        if isinstance(node, nodes.Assign):
            self.visit(node.node, scope)
            self.bind(node.target, self.resolve(node.node, scope)[0], scope)
            return
        if isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            self.resolve(node, scope)
            return
        for child in node.iter_child_nodes():
            self.visit(child, scope)

    def bind(self, target: nodes.Node, shape: Any, scope: dict[str, Any]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = shape
        elif isinstance(target, nodes.Tuple):
            for item in target.items:
                self.bind(item, ANYTHING, scope)

    def resolve(self, node: nodes.Node, scope: dict[str, Any]) -> tuple[Any, str]:
        """(shape, the name as written) of an expression; unknown names are reported once, at their root."""
        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name], node.name
            if node.name in self.root:
                return self.root[node.name], node.name
            self.report(node.name, node.name, [*scope, *self.root], "")
            return ANYTHING, node.name
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            key = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
            base, written = self.resolve(node.node, scope)
            if not isinstance(node, nodes.Getattr):
                self.visit(node.arg, scope)
            if base is ANYTHING or not isinstance(key, str):
                return (base.item if isinstance(base, Rows) and isinstance(key, int) else ANYTHING), written
            path = f"{written}.{key}"
            if isinstance(base, dict):
                if key in base:
                    return base[key], path
                self.report(path, key, list(base), written)
            elif base is TEXT and hasattr(str, key):
                return ANYTHING, path  # a text method such as upper()
            else:
                what = "a list" if isinstance(base, Rows) else "text"
                self.problems.append(f"the tag uses {path}, but {written} is {what}, which has no {key}")
            return ANYTHING, path
        self.visit(node, scope)
        return ANYTHING, ""

    def report(self, path: str, key: str, available: list[str], written: str) -> None:
        near = difflib.get_close_matches(key, available, n=3, cutoff=0.6) or sorted(available)[:8]
        prefix = f"{written}." if written else ""
        self.problems.append(f"the tag uses {path}, which the document's context does not provide; "
                             f"nearest valid names: {', '.join(prefix + n for n in near)}")


def tag_problems(path: Path, context: Mapping[str, Any]) -> list[str]:
    """What is wrong with the tags of the template at ``path`` for ``context`` (a sample of its context)."""
    try:
        sources = template_sources(path)
    except Exception as exc:  # not a zip, no document part, broken XML
        return [f"cannot be opened as a Word document ({exc})"]
    checker = _Checker(shape_of(context))
    env = Environment()
    problems: list[str] = []
    for part, source in sources:
        try:
            parsed = env.parse(source)
        except TemplateSyntaxError as exc:
            problems.append(f"{part}: a tag is not valid ({exc.message}); check its braces and percent signs")
            continue
        before = len(checker.problems)
        checker.visit(parsed, {})
        problems += [f"{part}: {p}" for p in checker.problems[before:]]
    return list(dict.fromkeys(problems))  # a misspelt name used twice is one problem


# -- the paper Information Sharing Form asks the web form's questions -----------------------------------

def expected_questions(schema: Mapping[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    return [f"{number}. {spec.get('title', name)}" + (" (required)" if name in required else "")
            for number, (name, spec) in enumerate(schema.get("properties", {}).items(), 1)]


def question_problems(path: Path, schema: Mapping[str, Any]) -> list[str]:
    """The numbered question headings of the paper form against the web form's questions, in order."""
    document = docx.Document(str(path))
    found = [p.text.strip() for p in document.paragraphs
             if _QUESTION.match(p.text.strip()) and p.style is not None and p.style.name.startswith("Heading")]
    wanted = expected_questions(schema)
    if found == wanted:
        return []
    problems = [f"the form does not ask the web form's question {q!r}: add it as a heading" for q in wanted
                if q not in found]
    problems += [f"the form asks {q!r}, which the web form does not: change or remove it" for q in found
                 if q not in wanted]
    if not problems:
        problems.append("the form asks the web form's questions in another order: " + "; ".join(wanted))
    return problems


# -- entry points ---------------------------------------------------------------------------------------

def check_template_files(files: Mapping[str, bytes], forms: Mapping[str, bytes] | None = None,
                         contexts: Mapping[str, Callable[[], dict[str, Any]]] = TEMPLATE_CONTEXTS
                         ) -> list[tuple[str, str]]:
    """(template file name, problem) for .docx templates given as bytes by name; forms (by file name) let
    the paper Information Sharing Form be compared with its web form."""
    problems: list[tuple[str, str]] = []
    for name in sorted(set(contexts) - set(files)):
        problems.append((name, "the template is missing: Rapid Review renders documents from it"))
    with tempfile.TemporaryDirectory(prefix="rapidreview-templates-") as scratch:
        for name, content in sorted(files.items()):
            if name not in contexts:
                problems.append((name, f"Rapid Review renders no document from this template (it uses "
                                       f"{', '.join(sorted(contexts))})"))
                continue
            path = Path(scratch) / name
            path.write_bytes(content)
            problems += [(name, p) for p in tag_problems(path, contexts[name]())]
            schema = (forms or {}).get(ISF_SCHEMA)
            if name == ISF_TEMPLATE and schema is not None and not any(n == name for n, _ in problems):
                problems += [(name, p) for p in question_problems(path, json.load(io.BytesIO(schema)))]
    return problems


def check_templates(templates_dir: Path, forms_dir: Path | None = None) -> list[str]:
    """Every problem with the .docx templates in ``templates_dir``, as "file: problem"; [] when all is well."""
    files = {p.name: p.read_bytes() for p in sorted(Path(templates_dir).glob("*.docx")) if not p.name.startswith("~$")}
    forms = {p.name: p.read_bytes() for p in sorted(Path(forms_dir).glob("*.json"))} if forms_dir else None
    return [f"{name}: {problem}" for name, problem in check_template_files(files, forms)]


def available_names() -> dict[str, list[str]]:
    """Template file -> every value and list its tags may use (the groups that hold them are left out)."""
    return {name: [n for n in names(shape) if not isinstance(_at(shape, n), dict)]
            for name, shape in ((name, shape_of(build())) for name, build in TEMPLATE_CONTEXTS.items())}


def _at(shape: Any, name: str) -> Any:
    for part in name.split("."):
        shape = shape.item if isinstance(shape, Rows) else shape
        shape = shape[part.removesuffix("[]")]
    return shape


def tags_markdown() -> str:
    """The names each template may use, as docs/process-owners.md lists them (``make template-tags``)."""
    lines: list[str] = []
    listed: dict[tuple[str, ...], list[str]] = {}
    for template, used in available_names().items():
        listed.setdefault(tuple(used), []).append(template)
    for found, templates in listed.items():
        lines.append(f"**{' and '.join(f'`{t}`' for t in templates)}**")
        lines.append("")
        groups: dict[str, list[str]] = {}
        for name in found:
            groups.setdefault(name.split(".")[0].split("[")[0], []).append(name)
        lines += [f"- {', '.join(f'`{n}`' for n in group)}" for group in groups.values()]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
