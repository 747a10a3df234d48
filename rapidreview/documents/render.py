"""Render Word documents (.docx) from docxtpl templates.

Templates live in ``templates/``: the committed .docx files are the source, edited in Word by process owners
(docs/process-owners.md), and ``rapidreview validate`` refuses a tag the context does not provide
(rapidreview.documents.template_check). The context is the display-ready dict built by
rapidreview.documents.report_context / decision_record; :func:`prepare_context` makes it safe to show:

* ``None``, ``""`` and whitespace-only strings become ``"Not recorded"``;
* lists stay lists (blank items are dropped), and ``None`` where a list is expected becomes ``[]``;
* yes/no flags (``outcome.lcspr_recommended`` etc.) keep ``None`` so templates can tell "unknown"
  from "no" (``is true`` / ``is false``).

Rendering uses Jinja autoescaping, so text such as ``<b>&`` is written literally, never as markup.
"""

from __future__ import annotations

import html
import io
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import ChainableUndefined, Environment, TemplateError

from rapidreview.errors import RapidReviewError

log = logging.getLogger(__name__)

NOT_RECORDED = "Not recorded"

#: Dotted paths (items of a list share the list's path) that hold lists in the report context.
LIST_FIELDS: frozenset[str] = frozenset(
    {
        "agencies",
        "agencies_not_returned",
        "sign_offs",
        "criteria.views",
        "meeting.attendees",
        "meeting.present",
        "meeting.agency_leads",
        "report.parallel_processes",
        "outcome.grounds",
        "outcome.key_lines_of_enquiry",
    }
)

#: Yes/no flags: ``None`` stays ``None`` (falsy, and neither ``is true`` nor ``is false`` in a template).
FLAG_FIELDS: frozenset[str] = frozenset(
    {
        "criteria.chair_consulted",
        "meeting.recorded",
        "decision.made",
        "decision.criteria_met",
        "outcome.decided",
        "outcome.lcspr_recommended",
        "outcome.national_review_recommended",
    }
)

# Characters XML 1.0 cannot carry (docxtpl also gives \a and \f special meanings: new paragraph / page).
_XML_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_CORE_TEXT_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")


class DocumentError(RapidReviewError):
    """A document could not be rendered (missing or broken template, bad context)."""


class _NotRecordedUndefined(ChainableUndefined):
    """A key missing from the context renders as "Not recorded" (and is logged), never as blank."""

    def __str__(self) -> str:
        log.warning("document template used a value missing from the context: %s", self._undefined_name)
        return NOT_RECORDED

    def __html__(self) -> str:
        return str(self)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _prepare(value: Any, path: str) -> Any:
    if isinstance(value, Mapping):
        return {
            str(key): _prepare(item, f"{path}.{key}" if path else str(key)) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_prepare(item, path) for item in value if not _is_blank(item)]
    if value is None:
        if path in LIST_FIELDS:
            return []
        if path in FLAG_FIELDS:
            return None
        return NOT_RECORDED
    if isinstance(value, str):
        text = value.strip()
        return text if text else NOT_RECORDED
    return value


def prepare_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``context`` in which empty scalars read "Not recorded" (lists stay lists)."""
    prepared = _prepare(context, "")
    assert isinstance(prepared, dict)
    return prepared


def _docx_text(value: Any) -> Any:
    """Make strings safe for WordprocessingML: no XML-illegal characters; blank lines start a paragraph."""
    if isinstance(value, dict):
        return {key: _docx_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_docx_text(item) for item in value]
    if isinstance(value, str):
        text = value.replace("\r\n", "\n").replace("\r", "\n")
        text = _XML_UNSAFE.sub("", text)
        # docxtpl turns "\n" into a line break and "\a" into a new paragraph with the same style
        return _PARAGRAPH_BREAK.sub("\a", text)
    return value


def render_docx(template: Path, context: Mapping[str, Any], out_path: Path) -> None:
    """Render ``template`` with ``context`` (passed through :func:`prepare_context`) to ``out_path``.

    Raises :class:`DocumentError` naming the template when it is missing, unreadable or has a Jinja error.
    The output is written atomically (a temporary file in the same directory, then renamed).
    """
    template = Path(template)
    out_path = Path(out_path)
    if not template.is_file():
        raise DocumentError(f"document template {template.name!r} not found at {template}")
    try:
        doc = DocxTemplate(template)
        doc.init_docx()
    except Exception as exc:  # zipfile.BadZipFile, docx PackageNotFoundError, KeyError, ...
        raise DocumentError(f"document template {template.name!r} cannot be opened as .docx: {exc}") from exc

    prepared = _docx_text(prepare_context(context))
    env = Environment(autoescape=True, undefined=_NotRecordedUndefined)
    try:
        doc.render(prepared, jinja_env=env, autoescape=True)
    except TemplateError as exc:
        where = ""
        snippet = [line.strip() for line in getattr(exc, "docx_context", None) or [] if line.strip()]
        if snippet:
            where = " near: " + " | ".join(snippet)[:300]
        raise DocumentError(f"error in document template {template.name!r}: {exc}{where}") from exc
    except ValueError as exc:  # lxml refuses a value (e.g. in a core property)
        raise DocumentError(f"cannot render document template {template.name!r}: {exc}") from exc

    # docxtpl renders core properties with the same autoescaping environment: undo the XML escaping there
    props = doc.docx.core_properties
    for name in _CORE_TEXT_PROPERTIES:
        value = getattr(props, name)
        if value:
            setattr(props, name, html.unescape(value).replace("\a", " "))

    # Built in memory, then written with a file we close ourselves: python-docx's zip writer left open on a
    # full disk would fail again whenever the garbage collector finalised it, far from this step.
    buffer = io.BytesIO()
    doc.save(buffer)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.stem}-", suffix=".docx", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(buffer.getbuffer())
        os.replace(tmp_name, out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
