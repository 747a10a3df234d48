"""Pages anyone may see: health and the accessibility statement."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text
from werkzeug.wrappers import Response

from rapidreview.web import runtime
from rapidreview.web.access import PUBLIC, allow

bp = Blueprint("pages", __name__)


@bp.get("/healthz")
@allow(PUBLIC)
def healthz() -> tuple[Response, int]:
    status: dict[str, Any] = {"database": "ok"}
    try:
        with runtime().database.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # report, do not raise: a health check must answer
        status["database"] = f"error: {type(exc).__name__}"
    try:
        from rapidreview.scheduler.status import collect

        status["scheduler"] = collect(runtime())
    except ImportError:
        status["scheduler"] = "unknown"
    except Exception as exc:
        status["scheduler"] = f"error: {type(exc).__name__}"
    healthy = status["database"] == "ok"
    status["status"] = "ok" if healthy else "degraded"
    return jsonify(status), 200 if healthy else 503


@bp.get("/accessibility")
@allow(PUBLIC)
def accessibility() -> str:
    return render_template("pages/accessibility.html", title="Accessibility statement")
