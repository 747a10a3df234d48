"""Cases: the list, starting one, the case page, documents."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from rapidreview import forms as form_schemas
from rapidreview.calendar import london_time
from rapidreview.errors import NotFound
from rapidreview.services.casework import case_actions, cases, demo_clock, draft_comments
from rapidreview.services.casework.forms import FormAnswersError
from rapidreview.services.people import policy
from rapidreview.services.reading import case_views
from rapidreview.web import HERE, runtime
from rapidreview.web.access import SIGNED_IN, allow
from rapidreview.web.downloads import send_stored
from rapidreview.web.schema_forms import build_fields, error_summary, parse_submission

bp = Blueprint("cases", __name__)
NOTIFICATION_SCHEMA: dict[str, Any] = json.loads((HERE / "forms" / "notification.schema.json").read_text())


@bp.get("/cases")
@allow(SIGNED_IN)
def index() -> str:
    status = request.args.get("status")
    rows, rate = case_views.list_cases(runtime(), g.user, status if status in case_views.FILTERS else None)
    return render_template("cases/list.html", title="Cases", rows=rows, rate=rate, status=status,
                           filters=case_views.FILTERS, can_start=policy.may_start_cases(g.user))


def _notification_form(answers: dict[str, Any] | None, errors: list[Any], status: int = 200) -> tuple[str, int]:
    fields = build_fields(NOTIFICATION_SCHEMA, None, None, answers, errors)
    return render_template("cases/new.html", title="Start a Rapid Review", fields=fields, errors=errors,
                           summary=error_summary(errors, fields) if errors else []), status


@bp.get("/cases/new")
@allow(*policy.STARTERS)
def new() -> tuple[str, int]:
    return _notification_form(None, [])


@bp.post("/cases/new")
@allow(*policy.STARTERS)
def create() -> tuple[str, int] | Response:
    answers, form_action = parse_submission(NOTIFICATION_SCHEMA, None, request.form)
    if form_action is not None:
        return _notification_form(answers, [])
    errors = form_schemas.validate_answers(NOTIFICATION_SCHEMA, answers)
    if errors:
        return _notification_form(answers, errors, 400)
    notified_at: datetime = london_time(answers["notified_on"], answers["notified_time"])
    notification = cases.Notification(
        reference=answers["reference"], notified_at=notified_at,
        child={k: v for k, v in {"name": answers["child_name"], "date_of_birth": answers.get("child_date_of_birth"),
                                 "sex": answers.get("child_sex")}.items() if v},
        incident={"date": answers["incident_date"], "summary": answers["incident_summary"]},
        referral={"summary": answers["referral_summary"]} if answers.get("referral_summary") else {},
    )
    try:
        cases.start_case(runtime(), notification, actor=g.user.email, partnership_id=g.user.partnership_id)
    except cases.CaseError as exc:
        errors = [form_schemas.FieldError("reference", str(exc)[0].upper() + str(exc)[1:])]
        return _notification_form(answers, errors, 400)
    flash(f"Rapid Review {notification.reference} has started. The statutory partners have been asked for their views.",
          "success")
    return redirect(url_for("cases.show", reference=notification.reference))


@bp.get("/cases/<path:reference>")
@allow(SIGNED_IN)
def show(reference: str) -> str | tuple[str, int]:
    try:
        page = case_views.case_page(runtime(), g.user, reference)
    except case_views.NeedToKnow as restricted:
        return render_template("cases/restricted.html", title=f"Case {reference}", restricted=restricted,
                               errors={}), 403
    if page is None:
        abort(404)
    diagram = {"files": page.diagram_files, "states": page.states}
    return render_template("cases/show.html", title=f"Case {reference}", page=page,
                           diagram_json=json.dumps(diagram),
                           actions=case_actions.available(runtime(), g.user, reference),
                           comments=draft_comments.comment_state(runtime(), g.user, reference),
                           may_manage_contacts=policy.may_manage_agency_contacts(g.user),
                           time_travel=demo_clock.offer(runtime(), g.user, reference)
                           if current_app.config.get("DEMO_TIME_TRAVEL") else None)


@bp.post("/cases/<path:reference>/demo-clock")
@allow(SIGNED_IN)
def demo_clock_move(reference: str) -> tuple[str, int] | Response:
    """Move a demonstration case to its next timed event; refused outside a demonstration deployment."""
    try:
        event = demo_clock.go_to_next(runtime(), g.user, reference,
                                      enabled=bool(current_app.config.get("DEMO_TIME_TRAVEL")))
    except NotFound:
        abort(404)
    except demo_clock.TimeTravelRefused as exc:
        return render_template("errors/error.html", title="The case cannot be moved in time",
                               message=[str(exc)]), 403
    flash(f"The case is now at {event.label}. Its timers have fired and its tasks are as they would be then.",
          "success")
    return redirect(url_for("cases.show", reference=reference))


def _comments_page(reference: str, body: str = "", error: str | None = None, status: int = 200) -> tuple[str, int]:
    try:
        page = draft_comments.comments_page(runtime(), g.user, reference)
    except NotFound:
        abort(404)
    return render_template("cases/comments.html", title=f"Comments on the final draft: case {reference}",
                           page=page, body=body, error=error), status


@bp.get("/cases/<path:reference>/comments")
@allow(SIGNED_IN)
def comments(reference: str) -> tuple[str, int]:
    """The final draft's comments: add one while the window is open (late ones are marked), read them all."""
    return _comments_page(reference)


@bp.post("/cases/<path:reference>/comments")
@allow(SIGNED_IN)
def add_comment(reference: str) -> tuple[str, int] | Response:
    body = request.form.get("comment", "")
    try:
        added = draft_comments.add_comment(runtime(), g.user, reference, body)
    except NotFound:
        abort(404)
    except draft_comments.CommentRefused as exc:
        return _comments_page(reference, body, str(exc), 400)
    flash("Your comment has been sent to the Partnership Manager" + (" (after the comment window closed)"
                                                                     if added.late else "") + ".", "success")
    return redirect(url_for("cases.comments", reference=reference))


@bp.get("/cases/<path:reference>/documents/<int:document_id>")
@allow(SIGNED_IN)
def document(reference: str, document_id: int) -> Response:
    found = case_views.document_file(runtime(), g.user, reference, document_id)
    return send_stored(found, url_for("cases.show", reference=reference))


@bp.post("/cases/<path:reference>/break-glass")
@allow(policy.ADMIN)
def break_glass(reference: str) -> tuple[str, int] | Response:
    """An administrator opens a case they have no role in, for a reason that is recorded and shown on the case."""
    reason = request.form.get("reason", "").strip()
    try:
        case_views.break_glass(runtime(), g.user, reference, reason)
    except case_views.BreakGlassRefused as exc:
        restricted = case_views.NeedToKnow(reference, may_break_glass=True)
        return render_template("cases/restricted.html", title=f"Case {reference}", restricted=restricted,
                               errors={"reason": str(exc)}, reason=reason), 400
    except NotFound:
        abort(404)
    flash("You can see this case for the next hour. Your reason has been recorded and is shown on the case.",
          "success")
    return redirect(url_for("cases.show", reference=reference))


def _action_page(action: case_actions.ActionForm, answers: dict[str, Any] | None, errors: list[Any],
                 status: int = 200) -> tuple[str, int]:
    fields = build_fields(action.schema, action.registry, action.uischema, answers, errors)
    return render_template("cases/action.html", title=f"{action.name}: case {action.case_reference}", action=action,
                           fields=fields, summary=error_summary(errors, fields) if errors else []), status


@bp.get("/cases/<path:reference>/actions/<element_id>")
@allow(SIGNED_IN)
def action(reference: str, element_id: str) -> tuple[str, int]:
    """A case action's form (moving or cancelling the meeting): only for whom the process names, while the case
    waits for it."""
    found = case_actions.action_form(runtime(), g.user, reference, element_id)
    if found is None:
        abort(404)
    return _action_page(found, None, [])


@bp.post("/cases/<path:reference>/actions/<element_id>")
@allow(SIGNED_IN)
def take_action(reference: str, element_id: str) -> tuple[str, int] | Response:
    found = case_actions.action_form(runtime(), g.user, reference, element_id)
    if found is None:
        abort(404)
    answers, form_action = parse_submission(found.schema, found.registry, request.form)
    if form_action is not None:
        return _action_page(found, answers, [])
    try:
        case_actions.send(runtime(), g.user, reference, element_id, answers)
    except FormAnswersError as exc:
        return _action_page(found, answers, exc.errors, 400)
    except NotFound:
        abort(404)
    except cases.TaskUnavailable as exc:
        flash(str(exc), "error")
        return redirect(url_for("cases.show", reference=reference))
    flash(f"{found.name}: done. Everyone concerned has been told.", "success")
    return redirect(url_for("cases.show", reference=reference))
