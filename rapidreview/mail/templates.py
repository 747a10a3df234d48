"""E-mail templates: ``templates/email/<name>.txt`` (a ``Subject:`` line, a blank line, the body) and its
HTML alternative ``templates/email/<name>.html``, rendered from the same context with every value escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound

from rapidreview.errors import Invalid


class EmailTemplateError(Invalid):
    pass


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None  # None when the template has no .html alternative


@lru_cache(maxsize=8)
def _environment(folder: Path, html: bool) -> Environment:
    # Plain text must not be HTML-escaped ("Smith & Co" stays as it is); HTML always is.
    return Environment(loader=FileSystemLoader(folder), undefined=StrictUndefined, autoescape=html,
                       keep_trailing_newline=True)


def render_email(templates_dir: Path, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """Return (subject, body). Undefined variables are errors: a half-filled alert is worse than none."""
    folder = templates_dir / "email"
    try:
        text = _environment(folder, False).get_template(f"{name}.txt").render(**context)
    except TemplateError as exc:
        raise EmailTemplateError(f"e-mail template {folder / (name + '.txt')}: {exc}") from exc
    head, _, body = text.partition("\n\n")
    if not head.startswith("Subject:"):
        raise EmailTemplateError(f"e-mail template {name}.txt must start with a 'Subject:' line")
    subject = " ".join(head[len("Subject:"):].split())
    return subject, body.strip() + "\n"


def render_email_html(templates_dir: Path, name: str, context: Mapping[str, Any], subject: str) -> str | None:
    """The HTML alternative of ``name``, or None if the template has none."""
    folder = templates_dir / "email"
    try:
        template = _environment(folder, True).get_template(f"{name}.html")
    except TemplateNotFound:
        return None
    except TemplateError as exc:
        raise EmailTemplateError(f"e-mail template {folder / (name + '.html')}: {exc}") from exc
    try:
        return template.render(**context, subject=subject)
    except TemplateError as exc:
        raise EmailTemplateError(f"e-mail template {folder / (name + '.html')}: {exc}") from exc


def render_email_parts(templates_dir: Path, name: str, context: Mapping[str, Any]) -> RenderedEmail:
    """Subject, plain text and HTML of one e-mail, from one context."""
    subject, text = render_email(templates_dir, name, context)
    return RenderedEmail(subject, text, render_email_html(templates_dir, name, context, subject))
