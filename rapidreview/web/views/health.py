"""Health for load balancers (JSON, no identifiers) and the Service status page for people.

``/healthz/live``: the process answers (no database). ``/healthz/ready`` (and ``/healthz``, kept for
monitors set up before it): the database answers, the schema is this release's, a scheduler is alive; 503
otherwise. ``/status``: the same in words; an administrator also sees their own partnership's cases and
e-mails that need a person (rapidreview.services.platform.scheduler_status, scoped to the partnership).
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, render_template
from werkzeug.wrappers import Response

from rapidreview.services.platform.health import readiness
from rapidreview.web import runtime
from rapidreview.web.access import PUBLIC, allow

bp = Blueprint("health", __name__)

# Who sees their partnership's detail on the status page.
STATUS_DETAIL_ROLES = frozenset({"admin", "partnership_manager"})


@bp.get("/healthz/live")
@allow(PUBLIC)
def live() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/healthz/ready")
@bp.get("/healthz")
@allow(PUBLIC)
def ready() -> tuple[Response, int]:
    state = readiness(runtime())
    return jsonify(state.as_json()), 200 if state.ready else 503


@bp.get("/status")
@allow(PUBLIC)
def status_page() -> str:
    from rapidreview.services.platform.scheduler_status import collect

    state = readiness(runtime())
    detail = None
    if g.user is not None and g.user.role in STATUS_DETAIL_ROLES:
        detail = collect(runtime(), partnership_id=g.user.partnership_id)
    return render_template("pages/status.html", title="Service status", state=state, detail=detail)
