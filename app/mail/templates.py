"""E-mail templates: ``templates/email/<name>.txt``, a ``Subject:`` line, a blank line, the body."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError


class EmailTemplateError(ValueError):
    pass


def render_email(templates_dir: Path, name: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """Return (subject, body). Undefined variables are errors: a half-filled alert is worse than none."""
    folder = templates_dir / "email"
    env = Environment(loader=FileSystemLoader(folder), undefined=StrictUndefined, autoescape=False,
                      keep_trailing_newline=True)
    try:
        text = env.get_template(f"{name}.txt").render(**context)
    except TemplateError as exc:
        raise EmailTemplateError(f"e-mail template {folder / (name + '.txt')}: {exc}") from exc
    head, _, body = text.partition("\n\n")
    if not head.startswith("Subject:"):
        raise EmailTemplateError(f"e-mail template {name}.txt must start with a 'Subject:' line")
    subject = " ".join(head[len("Subject:"):].split())
    return subject, body.strip() + "\n"
