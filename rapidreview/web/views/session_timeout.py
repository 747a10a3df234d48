"""What the timeout warning asks the server: how long the session has left, and "Stay signed in".

The warning (static/js/timeout-warning.js) opens before the idle limit ends the session. It asks first, since
the person may have been busy in another tab, and asking does not count as activity (the status is read
without touching the session). Both answer 401 when the session has already ended, never a redirect, so the
page can say so in its dialog and keep what is typed on it.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, g, jsonify
from werkzeug.wrappers import Response

from rapidreview import clock
from rapidreview.services.people import sessions
from rapidreview.web import runtime, signed_in_session
from rapidreview.web.access import PUBLIC, allow

bp = Blueprint("session", __name__)


def _answer(ends_at: datetime | None) -> tuple[Response, int]:
    if ends_at is None:
        return jsonify(signed_in=False, seconds_left=0), 401
    return jsonify(signed_in=True, seconds_left=max(0, int((ends_at - clock.now()).total_seconds()))), 200


@bp.get("/session/status")
@allow(PUBLIC)  # answers for whoever asks; an ended or missing session is a 401, not a sign-in page
def status() -> tuple[Response, int]:
    return _answer(g.get("session_ends_at") if g.user is not None else None)


@bp.post("/session/keep-alive")
@allow(PUBLIC)
def keep_alive() -> tuple[Response, int]:
    token = signed_in_session.current_token()
    if g.user is None or token is None:
        return _answer(None)
    return _answer(sessions.keep_alive(runtime(), token, signed_in_session.limits()))
