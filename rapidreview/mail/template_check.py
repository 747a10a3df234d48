"""Checks a version's e-mail templates before any case sends from them.

Each ``email/<name>.txt`` must be valid Jinja and start with a ``Subject:`` line; each ``.html`` must be valid
Jinja (its ``{% extends %}`` and ``{% import %}`` are resolved against the same version's files). A template
may use only the names its sending code gives it: the e-mails the application sends itself (task
notifications, digests, invitations) have their own fixed contexts; every other e-mail is sent by a
``send_email`` service task, whose context is :meth:`rapidreview.services.casework.operators.CaseOperators.email_context`.
Partials (names starting with ``_``) are rendered inside other templates, so they may use any of those names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from jinja2 import DictLoader, Environment, TemplateSyntaxError, meta, nodes
from jinja2.defaults import DEFAULT_NAMESPACE

# The top-level names each sender passes (keep in step with the code named in each comment).
PROCESS_EMAIL_NAMES = frozenset({  # services/casework/operators.py CaseOperators.email_context
    "case", "agency", "meeting", "link", "partnership_name", "chair_name", "due", "partner_name",
    "national_panel_address", "submission"})
FIXED_EMAIL_NAMES: dict[str, frozenset[str]] = {
    "your_turn": frozenset({"case", "task", "partnership_name"}),  # services/casework/notifications.py _context
    "task_overdue": frozenset({"case", "task", "partnership_name"}),
    "task_digest": frozenset({"tasks", "name", "partnership_name"}),  # notifications.send_due_digests
    "agency_invitation": frozenset({"name", "case", "agency", "link", "partnership_name", "invitation"}),
    "invitation_lapsed": frozenset({"case", "agency", "invitation", "link", "partnership_name"}),
    "test_message": frozenset({"partnership_name"}),  # commands/mail.py test_message
}
HTML_EXTRA = frozenset({"subject"})  # rapidreview.mail.templates.render_email_html adds the rendered subject
EMAIL_DIR = "email/"


def _names_for(name: str) -> frozenset[str]:
    stem, _, suffix = name.rpartition(".")
    if stem.startswith("_"):
        return PROCESS_EMAIL_NAMES.union(*FIXED_EMAIL_NAMES.values(), HTML_EXTRA)
    names = FIXED_EMAIL_NAMES.get(stem, PROCESS_EMAIL_NAMES)
    return names | HTML_EXTRA if suffix == "html" else names


def _line_of(source: str, name: str) -> int | None:
    """The first line that uses ``name`` inside a Jinja tag, for the message."""
    word = re.compile(rf"(\{{\{{|\{{%)[^}}]*\b{re.escape(name)}\b")
    return next((n for n, line in enumerate(source.splitlines(), 1) if word.search(line)), None)


def _defined_at_top(tree: nodes.Template) -> set[str]:
    """Names the template imports, defines as macros or sets at its top level. Jinja counts a block's use of
    them as undeclared (a block is compiled apart), but at render time the block sees them."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, nodes.FromImport):
            names.update(n[1] if isinstance(n, tuple) else n for n in node.names)
        elif isinstance(node, nodes.Import | nodes.Macro):
            names.add(node.target if isinstance(node, nodes.Import) else node.name)
        elif isinstance(node, nodes.Assign | nodes.AssignBlock):
            names.update(n.name for n in node.target.find_all(nodes.Name))
    return names


def email_template_problems(files: Mapping[str, bytes]) -> list[tuple[str, str]]:
    """(file, problem) for the e-mail templates among ``files`` (keyed ``email/<name>``, as under a templates
    folder); [] when there are none or all is well."""
    sources: dict[str, str] = {}
    problems: list[tuple[str, str]] = []
    for path, content in sorted(files.items()):
        if not path.startswith(EMAIL_DIR) or not path.endswith((".txt", ".html")):
            continue
        try:
            sources[path[len(EMAIL_DIR):]] = content.decode("utf-8")
        except UnicodeDecodeError:
            problems.append((path, "is not UTF-8 text: save it as UTF-8"))
    if not sources:
        return problems
    environment = Environment(loader=DictLoader(sources), keep_trailing_newline=True)
    for name, source in sorted(sources.items()):
        path = EMAIL_DIR + name
        try:
            tree = environment.parse(source, name=name)
        except TemplateSyntaxError as exc:
            problems.append((path, f"line {exc.lineno}: {exc.message}"))
            continue
        if name.endswith(".txt") and not source.startswith("Subject:"):
            problems.append((path, "line 1: an e-mail template must start with a 'Subject:' line, then a blank line, "
                                   "then the body"))
        for parent in meta.find_referenced_templates(tree):
            if parent is not None and parent not in sources:
                problems.append((path, f"line {_line_of(source, parent) or 1}: uses {parent}, which is not among "
                                       "the e-mail templates"))
        allowed = _names_for(name)
        for unknown in sorted(meta.find_undeclared_variables(tree) - allowed - set(DEFAULT_NAMESPACE)
                              - _defined_at_top(tree)):
            line = _line_of(source, unknown)
            problems.append((path, f"{f'line {line}: ' if line else ''}uses {unknown!r}, which this e-mail is not "
                                   f"given (it has {', '.join(sorted(allowed))})"))
    stems = {n.rpartition(".")[0] for n in sources}
    problems += [(f"{EMAIL_DIR}{stem}.html", "has no plain-text version: add email/" + stem + ".txt")
                 for stem in sorted(stems) if not stem.startswith("_") and stem + ".txt" not in sources]
    problems += [(f"{EMAIL_DIR}{stem}.txt", "the e-mail is missing: the application sends it itself")
                 for stem in sorted(FIXED_EMAIL_NAMES) if stem + ".txt" not in sources and stem != "test_message"]
    return problems
