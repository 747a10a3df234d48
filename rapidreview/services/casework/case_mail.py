"""An e-mail about a case: rendered from the templates of the version the case started on, and queued in the
outbox in the caller's transaction. Every e-mail a case sends goes through here, so each one uses the case's
own wording and nothing is sent until the step commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from rapidreview.mail.templates import RenderedEmail, render_email_parts
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import version_templates
from rapidreview.services.platform import outbox
from rapidreview.store.models import Case, OutboxMessage


def render_for_case(rt: Runtime, session: Session, case: Case, template: str, context: Mapping[str, Any],
                    templates_dir: Path | None = None) -> RenderedEmail:
    """``templates_dir``: the case's templates folder when the caller has it already (one look-up a step)."""
    folder = templates_dir or version_templates.folder_for_case(rt, session, case)
    return render_email_parts(folder, template, context)


def queue_case_email(rt: Runtime, session: Session, case: Case, template: str, context: Mapping[str, Any], *,
                     to: Sequence[str], cc: Sequence[str] = (), purpose: str | None = None,
                     tags: dict[str, Any] | None = None, attachments: Sequence[int] = (),
                     reply_to: Sequence[str] = (), templates_dir: Path | None = None) -> OutboxMessage:
    """Render ``template`` for ``case`` and queue it (``purpose`` defaults to the template's name)."""
    mail = render_for_case(rt, session, case, template, context, templates_dir)
    return outbox.queue(session, rt, case_id=case.id, template=template, to=to, cc=cc, subject=mail.subject,
                        body=mail.text, body_html=mail.html, attachments=attachments, purpose=purpose or template,
                        tags=tags, reply_to=reply_to)
