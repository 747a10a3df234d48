"""Pages anyone may see: the accessibility statement (health is in views/health.py)."""

from __future__ import annotations

from flask import Blueprint, render_template

from rapidreview.web import app_config
from rapidreview.web.access import PUBLIC, allow

bp = Blueprint("pages", __name__)


@bp.get("/accessibility")
@allow(PUBLIC)
def accessibility() -> str:
    return render_template("pages/accessibility.html", title="Accessibility statement",
                           idle_minutes=int(app_config("IDLE_TIMEOUT").total_seconds() // 60))
