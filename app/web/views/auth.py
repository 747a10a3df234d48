"""Sign in and out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from app import clock
from app.services.users import authenticate
from app.web import runtime
from app.web.access import PUBLIC, SIGNED_IN, allow

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: never send someone to another site after signing in.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("tasks.worklist")


@bp.route("/sign-in", methods=["GET", "POST"])
@allow(PUBLIC)
def sign_in() -> str | Response:
    errors: dict[str, str] = {}
    email = request.form.get("email", "").strip()
    if request.method == "POST":
        password = request.form.get("password", "")
        if not email:
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"
        if not errors:
            user = authenticate(runtime(), email, password)
            if user is None:
                errors["email"] = "Enter a correct email address and password"
            else:
                csrf = session.get("csrf")
                session.clear()  # also drops the "expired" note  # a new session on sign-in, so a planted session id is useless
                session.permanent = True
                session.update(user_id=user.id, signed_in_at=clock.now().timestamp(),
                               last_seen=clock.now().timestamp(), csrf=csrf)
                return redirect(_safe_next(request.args.get("next")))
    status = 400 if errors else 200
    return render_template("auth/sign_in.html", errors=errors, email=email,
                           expired=bool(session.pop("expired", False))), status  # type: ignore[return-value]


@bp.post("/sign-out")
@allow(SIGNED_IN)
def sign_out() -> Response:
    session.clear()
    return redirect(url_for("auth.sign_in"))
