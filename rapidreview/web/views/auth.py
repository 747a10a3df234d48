"""Sign in (password, then a TOTP code where the config requires one) and out."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from rapidreview import calendar, clock
from rapidreview.services import users
from rapidreview.services.users import (
    AccountLocked,
    LockoutPolicy,
    SignedIn,
    UserError,
    authenticate,
    totp_enrolment,
    verify_totp,
)
from rapidreview.web import runtime
from rapidreview.web.access import PUBLIC, SIGNED_IN, allow

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: never send someone to another site after signing in.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("tasks.worklist")


def _policy() -> LockoutPolicy:
    c = current_app.config
    return LockoutPolicy(account_failures=c["SIGN_IN_ACCOUNT_FAILURES"], ip_failures=c["SIGN_IN_IP_FAILURES"],
                         window=c["SIGN_IN_WINDOW"], cooling_off=c["SIGN_IN_COOLING_OFF"])


def _locked_message(error: AccountLocked) -> str:
    return ("There have been too many failed attempts to sign in, so signing in is locked for a while. "
            f"Try again after {calendar.to_london(error.until).strftime('%H:%M')}. "
            "If you did not make these attempts, tell your administrator.")


def _start_session(user: SignedIn, target: str | None) -> Response:
    csrf = session.get("csrf")
    session.clear()  # a new session on sign-in (also drops the "expired" note), so a planted session id is useless
    session.permanent = True
    now = clock.now().timestamp()
    session.update(user_id=user.id, signed_in_at=now, last_seen=now, csrf=csrf)
    return redirect(_safe_next(target))


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
            try:
                user = authenticate(runtime(), email, password, ip=request.remote_addr, policy=_policy())
            except AccountLocked as locked:
                errors["email"] = _locked_message(locked)
                user = None
            if user is None and not errors:
                errors["email"] = "Enter a correct email address and password"
            elif user is not None and current_app.config["TOTP_REQUIRED"]:
                csrf = session.get("csrf")
                session.clear()
                session.update(pending_user_id=user.id, pending_at=clock.now().timestamp(), csrf=csrf,
                               pending_next=request.args.get("next"))
                return redirect(url_for("auth.two_factor"))
            elif user is not None:
                return _start_session(user, request.args.get("next"))
    status = 400 if errors else 200
    return render_template("auth/sign_in.html", errors=errors, email=email,
                           expired=bool(session.pop("expired", False)),
                           credentials_changed=bool(session.pop("credentials_changed", False))), status  # type: ignore[return-value]


@bp.route("/sign-in/code", methods=["GET", "POST"])
@allow(PUBLIC)
def two_factor() -> str | Response:
    """The second step: a 6-digit code; on first sign-in, enrol the authenticator app first."""
    user_id = session.get("pending_user_id")
    pending_for = current_app.config["TWO_FACTOR_PENDING"].total_seconds()
    if user_id is None or clock.now().timestamp() - float(session.get("pending_at", 0)) > pending_for:
        session.pop("pending_user_id", None)
        return redirect(url_for("auth.sign_in"))
    enrolment = totp_enrolment(runtime(), int(user_id))
    errors: dict[str, str] = {}
    if request.method == "POST":
        code = request.form.get("code", "")
        try:
            user = verify_totp(runtime(), int(user_id), code, ip=request.remote_addr, policy=_policy())
        except AccountLocked as locked:
            session.pop("pending_user_id", None)
            errors["code"] = _locked_message(locked)
            user = None
        if user is not None:
            return _start_session(user, session.get("pending_next"))
        errors.setdefault("code", "Enter the 6-digit code your authenticator app shows now")
    return render_template("auth/two_factor.html", errors=errors,  # type: ignore[return-value]
                           enrolment=None if enrolment.enrolled else enrolment), 400 if errors else 200


@bp.route("/account/password", methods=["GET", "POST"])
@allow(SIGNED_IN)
def change_password() -> tuple[str, int] | Response:
    """Change your own password; the only page open while an administrator's temporary password is in use."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        current, new = request.form.get("current", ""), request.form.get("new", "")
        if not current:
            errors["current"] = "Enter your current password"
        if not new:
            errors["new"] = "Enter a new password"
        elif new != request.form.get("confirm", ""):
            errors["confirm"] = "Enter the same new password twice"
        if not errors:
            try:
                users.change_password(runtime(), g.user.id, current, new, ip=request.remote_addr, policy=_policy())
            except UserError as exc:
                errors[exc.field] = str(exc)
            else:
                # The change ends older sessions; this one carries on as a fresh sign-in.
                session["signed_in_at"] = clock.now().timestamp()
                flash("Your password has been changed.", "success")
                return redirect(url_for("tasks.worklist"))
    return render_template("auth/change_password.html", title="Change your password", errors=errors,
                           required=g.user.must_change_password), 400 if errors else 200


@bp.post("/sign-out")
@allow(SIGNED_IN)
def sign_out() -> Response:
    session.clear()
    return redirect(url_for("auth.sign_in"))
