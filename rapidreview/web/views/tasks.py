"""The worklist and the task page."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response

from rapidreview.forms import FieldError
from rapidreview.services.casework import cases, worklist
from rapidreview.services.casework.forms import FormAnswersError
from rapidreview.services.casework.tasks import TaskDetail, save_draft, task_detail
from rapidreview.services.people import policy
from rapidreview.web import runtime
from rapidreview.web.access import SIGNED_IN, allow
from rapidreview.web.schema_forms import build_fields, error_summary, parse_submission, readonly_rows

bp = Blueprint("tasks", __name__)
STORAGE_FULL = ("Your answers could not be submitted because the server has no room to store files at the moment. "
                "Nothing was changed, and your answers are below, kept as a draft where there was room. "
                "Tell your administrator, then submit again later.")


def _keep_as_draft(task_id: int, answers: dict[str, Any]) -> bool:
    """Best effort: the draft lives in the database, which may still have room when the file store has none."""
    try:
        save_draft(runtime(), task_id, answers, actor=g.user.email)
    except Exception:
        current_app.logger.exception("task %s: could not keep the answers as a draft either", task_id)
        return False
    return True


# Answers with errors are kept as the task's draft and the page is shown again by a redirect (post, redirect,
# get), so Back and Refresh never meet the browser's "Confirm form resubmission". The errors travel in the
# session for that one next page of that task; they are messages about fields, never the answers themselves.
_FORM_ERRORS = "task_form_errors"
MAX_KEPT_ERRORS = 2000  # characters of errors carried to the next page; the cookie holds the rest of the session


def _errors_after_redirect(task_id: int) -> list[FieldError]:
    kept = session.pop(_FORM_ERRORS, None)
    if not isinstance(kept, dict) or kept.get("task") != task_id:
        return []
    return [FieldError(str(field), str(message)) for field, message in kept.get("errors", [])]


@bp.get("/")
@allow(SIGNED_IN)
def home() -> Response:
    return redirect(url_for("tasks.worklist"))


@bp.get("/tasks", endpoint="worklist")
@allow(SIGNED_IN)
def worklist_page() -> str:
    page = max(1, request.args.get("page", default=1, type=int) or 1)
    mine, available, more = worklist.worklist(runtime(), g.user, page)
    return render_template("tasks/list.html", title="Tasks" if page == 1 else f"Tasks (page {page})", mine=mine,
                           available=available, page=page, more=more, limit=worklist.AVAILABLE_LIMIT)


def _visible(detail: TaskDetail | None) -> TaskDetail:
    """The task, if there is one the person may see; 404 otherwise, so nobody learns what exists."""
    if detail is None:
        abort(404)
    return detail


def _shown(detail: TaskDetail) -> list[dict[str, Any]]:
    """The task's panels for the template, other forms' answers turned into labelled rows."""
    return [{"name": p.name, "title": p.title, "sections": [
        {"heading": s.heading, "tag": s.tag, "rows": s.rows, "links": s.links,
         "answer_rows": readonly_rows(s.answers.schema, s.answers.registry, s.answers.uischema, s.answers.answers)
         if s.answers else []} for s in p.sections]} for p in detail.panels]


def _render(detail: TaskDetail, answers: dict[str, Any] | None, errors: list[Any], status: int = 200,
            problem: str | None = None, kept: bool = False) -> tuple[str, int]:
    fields = build_fields(detail.schema, detail.registry, detail.uischema, answers, errors) if detail.schema else []
    summary = error_summary(errors, fields) if errors else []
    previous = readonly_rows(detail.schema, detail.registry, detail.uischema, detail.previous_round) \
        if detail.schema and detail.previous_round else []
    return render_template("tasks/show.html", title=f"{detail.task.name}: case {detail.case.reference}", detail=detail,
                           fields=fields, shown=_shown(detail), previous_round=previous,
                           summary=summary, errors=errors, problem=problem, kept=kept,
                           can_complete=detail.task.state == "ready" and detail.task.assignee == g.user.email,
                           eligible=worklist.eligible_users(runtime(), detail.task.id, g.user.partnership_id)
                           if policy.may_reassign(g.user) and detail.task.state == "ready" else []), status


@bp.get("/tasks/<int:task_id>")
@allow(SIGNED_IN)
def show(task_id: int) -> tuple[str, int]:
    detail = _visible(task_detail(runtime(), task_id, g.user))
    # None (not {}) lets the form show each field's schema default for a task nobody has started.
    # ?kept=1: back after signing in, with answers posted when the session had run out (web/kept_answers.py).
    kept = request.args.get("kept") == "1" and bool(detail.task.draft) and detail.task.state == "ready"
    errors = _errors_after_redirect(task_id) if detail.task.state == "ready" else []
    return _render(detail, detail.answers or None, errors, kept=kept)


def _for_page(detail: TaskDetail, task_id: int) -> TaskDetail:
    return task_detail(runtime(), task_id, g.user) or detail


@bp.post("/tasks/<int:task_id>")
@allow(SIGNED_IN)
def submit(task_id: int) -> tuple[str, int] | Response:
    # Without the workflow: completing restores it once; only a page shown again needs the instructions.
    detail = _visible(task_detail(runtime(), task_id, g.user, for_page=False))
    if detail.task.state != "ready":
        flash("This task has already been completed.", "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    if detail.task.assignee != g.user.email:
        flash("Claim this task before you complete it.", "error")
        return redirect(url_for("tasks.show", task_id=task_id))
    answers, form_action = parse_submission(detail.schema, detail.registry, request.form) if detail.schema else ({}, None)
    if form_action is not None:  # add or remove a row: show the form again, nothing saved yet
        return _render(_for_page(detail, task_id), answers, [])
    if request.form.get("action") == "save":
        save_draft(runtime(), task_id, answers, actor=g.user.email)
        flash("Your answers have been saved. You can come back and finish later.", "success")
        return redirect(url_for("tasks.show", task_id=task_id))
    try:
        cases.complete_task(runtime(), task_id, answers, actor=g.user.email)
    except FormAnswersError as exc:
        errors = [[e.field, e.message] for e in exc.errors]
        # The errors ride in the session cookie, which browsers drop past 4 KB: a very long list (many empty
        # rows, say) is shown on this response instead, as is everything when the draft cannot be kept.
        if len(json.dumps(errors)) > MAX_KEPT_ERRORS or not _keep_as_draft(task_id, answers):
            return _render(_for_page(detail, task_id), answers, exc.errors, 400)
        session[_FORM_ERRORS] = {"task": task_id, "errors": errors}
        return redirect(url_for("tasks.show", task_id=task_id) + "#main-content", 303)
    except cases.StorageFull:
        current_app.logger.error("task %s: the step could not write its files (storage full)", task_id)
        _keep_as_draft(task_id, answers)
        return _render(_for_page(detail, task_id), answers, [], 507, problem=STORAGE_FULL)
    except cases.TaskUnavailable as exc:
        flash(str(exc), "error")
        return redirect(url_for("tasks.worklist"))
    flash(f"{detail.task.name} is complete for case {detail.case.reference}.", "success")
    return redirect(url_for("tasks.worklist"))


@bp.post("/tasks/<int:task_id>/claim")
@allow(SIGNED_IN)
def claim(task_id: int) -> Response:
    try:
        worklist.claim(runtime(), task_id, g.user)
    except worklist.TaskNotFound:
        abort(404)
    except worklist.ClaimError as exc:
        flash(str(exc), "error")
        return redirect(url_for("tasks.worklist"))
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/release")
@allow(SIGNED_IN)
def release(task_id: int) -> Response:
    try:
        worklist.release(runtime(), task_id, g.user)
        flash("The task is back in the available list.", "success")
    except worklist.TaskNotFound:
        abort(404)
    except worklist.TaskClosed as exc:
        abort(409, description=str(exc))
    except worklist.ClaimError as exc:
        flash(str(exc), "error")
    return redirect(url_for("tasks.worklist"))


@bp.post("/tasks/<int:task_id>/reassign")
@allow(*policy.TASK_REASSIGNERS)
def reassign(task_id: int) -> Response:
    try:
        worklist.reassign(runtime(), task_id, request.form.get("assignee", ""), g.user)
        flash("The task has been reassigned.", "success")
    except worklist.TaskNotFound:
        abort(404)
    except worklist.ClaimError as exc:
        flash(str(exc), "error")
    return redirect(url_for("tasks.show", task_id=task_id))
