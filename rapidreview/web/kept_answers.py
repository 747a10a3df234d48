"""Answers posted after the session ended are kept, not lost.

Someone writes a long rationale, is called away past the idle limit and presses Submit. Their session has
ended, so nothing may be completed; but what they typed is theirs, on a task they had claimed. The answers
are stored as the task's draft (the same draft "Save and come back later" keeps) for the person whose
session it was, and after signing in they are brought back to the task, with the answers in the form.

Only a session that ran out (the idle or the absolute limit) qualifies: one ended by signing out, a changed
password or an administrator does not, nor a post whose CSRF token does not match the cookie's.
"""

from __future__ import annotations

from flask import current_app, g, request, session, url_for
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from rapidreview.services.casework.tasks import save_draft, task_detail
from rapidreview.services.people import sessions
from rapidreview.services.people.users import EXPIRED, IDLE
from rapidreview.web.schema_forms import parse_submission

KEPT_TASK = "kept_task"  # the kept task's name, for the sign-in page
TASK_FORMS = frozenset({"tasks.submit"})


def keep_posted_answers() -> str | None:
    """Keep a task form posted just after its session ran out; returns where to go after signing in."""
    owner_id = g.get("ended_session_owner")
    if request.method != "POST" or request.endpoint not in TASK_FORMS or owner_id is None:
        return None
    if g.get("ended_reason") not in (IDLE, EXPIRED):
        return None
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return None
    rt = current_app.extensions["rapidreview"]
    owner = sessions.person(rt, int(owner_id))
    task_id = int((request.view_args or {})["task_id"])
    detail = task_detail(rt, task_id, owner, for_page=False) if owner is not None else None
    if owner is None or detail is None or detail.task.state != "ready" or detail.task.assignee != owner.email:
        return None
    answers, _row_action = (
        parse_submission(detail.schema, detail.registry, request.form) if detail.schema else ({}, None)
    )
    save_draft(rt, task_id, answers, actor=owner.email)
    current_app.logger.info("task %s: answers posted after the session ended kept as its draft", task_id)
    session[KEPT_TASK] = detail.task.name
    return url_for("tasks.show", task_id=task_id, kept="1")


def pop_kept_task() -> str | None:
    name = session.pop(KEPT_TASK, None)
    return str(name) if name else None
