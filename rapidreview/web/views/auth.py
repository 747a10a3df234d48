"""Sign in (password, then a TOTP code where the config requires one) and out."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

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

from rapidreview import calendar, clock
from rapidreview.errors import Invalid
from rapidreview.services.casework import notifications
from rapidreview.services.people import users
from rapidreview.services.people.sessions import ProviderSession
from rapidreview.services.people.sign_in_throttle import AccountLocked, LockoutPolicy
from rapidreview.services.people.users import (
    PasswordSignInOff,
    SignedIn,
    UserError,
    authenticate,
    totp_enrolment,
    verify_totp,
)
from rapidreview.web import kept_answers, oidc_client, runtime, signed_in_session, totp_qr
from rapidreview.web.access import PUBLIC, SIGNED_IN, allow

bp = Blueprint("auth", __name__)
# A sign-in through an identity provider waiting for its TOTP code: the provider and its ID token (views.oidc).
PENDING_PROVIDER = "pending_provider"


def same_site_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: never send someone to another site after signing in.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so ``/\t/evil.example`` and
    ``/\\evil.example`` both lead to ``//evil.example``; the check reads the path the way a browser will.
    """
    if not target:
        return None
    cleaned = "".join(ch for ch in target if ch.isprintable()).strip().replace("\\", "/")
    if not cleaned.startswith("/") or cleaned.startswith("//"):
        return None
    parts = urlsplit(cleaned)
    if parts.scheme or parts.netloc:
        return None
    base = "https://this.site/"
    if urlsplit(urljoin(base, cleaned)).netloc != "this.site":
        return None
    return cleaned


def _safe_next(target: str | None) -> str:
    return same_site_path(target) or url_for("tasks.worklist")


def _policy() -> LockoutPolicy:
    c = current_app.config
    return LockoutPolicy(account_failures=c["SIGN_IN_ACCOUNT_FAILURES"], ip_failures=c["SIGN_IN_IP_FAILURES"],
                         window=c["SIGN_IN_WINDOW"], cooling_off=c["SIGN_IN_COOLING_OFF"])


def _locked_message(error: AccountLocked) -> str:
    return ("There have been too many failed attempts to sign in, so signing in is locked for a while. "
            f"Try again after {calendar.to_london(error.until).strftime('%H:%M')}. "
            "If you did not make these attempts, tell your administrator.")


def _start_session(user: SignedIn, target: str | None, provider: ProviderSession | None = None) -> Response:
    signed_in_session.begin(user, provider)
    return redirect(_safe_next(target))


def _pending_provider() -> ProviderSession | None:
    pending = session.get(PENDING_PROVIDER)
    return ProviderSession(str(pending["provider"]), str(pending["id_token"])) if isinstance(pending, dict) else None


def _password_sign_in() -> bool:
    return bool(runtime().settings.password_sign_in)


def sign_in_page(errors: dict[str, str], email: str = "", status: int | None = None) -> tuple[str, int]:
    """The sign-in page: a button for each organisation's identity provider, and the password form unless the
    deployment has turned it off."""
    providers = oidc_client.providers()
    return render_template("auth/sign_in.html", errors=errors, email=email, providers=providers,
                           password_form=_password_sign_in(), next=same_site_path(request.args.get("next")),
                           ended=signed_in_session.pop_ended_reason(), kept_task=kept_answers.pop_kept_task()), \
        status or (400 if errors else 200)


@bp.route("/sign-in", methods=["GET", "POST"])
@allow(PUBLIC)
def sign_in() -> tuple[str, int] | Response:
    errors: dict[str, str] = {}
    email = request.form.get("email", "").strip()
    if request.method == "POST" and not _password_sign_in():
        abort(404)  # the deployment signs everyone in through their organisation's identity provider
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
            except PasswordSignInOff:
                errors["email"] = _password_off_message()
                user = None
            if user is None and not errors:
                errors["email"] = "Enter a correct email address and password"
            elif user is not None and current_app.config["TOTP_REQUIRED"]:
                session.clear()
                session.update(pending_user_id=user.id, pending_at=clock.now().timestamp(),
                               pending_next=same_site_path(request.args.get("next")))
                return redirect(url_for("auth.two_factor"))
            elif user is not None:
                return _start_session(user, request.args.get("next"))
    return sign_in_page(errors, email)


def _password_off_message() -> str:
    labels = " or ".join(f"“Sign in with {p.label}”" for p in oidc_client.providers())
    return ("Your partnership does not use Rapid Review passwords: sign in with your organisation's account"
            + (f" ({labels})." if labels else ". Ask your administrator how."))


@bp.route("/sign-in/code", methods=["GET", "POST"])
@allow(PUBLIC)
def two_factor() -> str | Response:
    """The second step: a 6-digit code; on first sign-in, enrol the authenticator app first."""
    user_id = session.get("pending_user_id")
    if user_id is None:
        return redirect(url_for("auth.sign_in"))
    enrolment = totp_enrolment(runtime(), int(user_id))
    # Setting up an app (finding it, scanning or typing the key) takes longer than reading a code (WCAG 2.2.1).
    pending_for = current_app.config["TWO_FACTOR_ENROLMENT" if not enrolment.enrolled else "TWO_FACTOR_PENDING"]
    if clock.now().timestamp() - float(session.get("pending_at", 0)) > pending_for.total_seconds():
        session.pop("pending_user_id", None)
        return redirect(url_for("auth.sign_in"))
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
            return _start_session(user, session.get("pending_next"), _pending_provider())
        errors.setdefault("code", "Enter the 6-digit code your authenticator app shows now")
    setup = None if enrolment.enrolled else {"key": totp_qr.grouped(enrolment.secret), "uri": enrolment.uri,
                                             "qr": totp_qr.qr_code(enrolment.uri),
                                             "minutes": int(current_app.config["TWO_FACTOR_ENROLMENT"].total_seconds() // 60)}
    return render_template("auth/two_factor.html", errors=errors,  # type: ignore[return-value]
                           enrolment=setup), 400 if errors else 200


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
                # The change ends the person's other sessions; this one carries on.
                users.change_password(runtime(), g.user.id, current, new, ip=request.remote_addr, policy=_policy(),
                                      keep_token=signed_in_session.current_token())
            except UserError as exc:
                errors[exc.field] = str(exc)
            else:
                flash("Your password has been changed.", "success")
                return redirect(url_for("tasks.worklist"))
    return render_template("auth/change_password.html", title="Change your password", errors=errors,
                           required=g.user.must_change_password), 400 if errors else 200


@bp.route("/account", methods=["GET", "POST"])
@allow(SIGNED_IN)
def account() -> tuple[str, int] | Response:
    """Your account: who you are, and whether task e-mails come at once or as one daily summary."""
    errors: dict[str, str] = {}
    current = notifications.preference(runtime(), g.user.id)
    if request.method == "POST":
        choice = request.form.get("notify_by", "")
        try:
            notifications.set_preference(runtime(), g.user.id, choice)
        except Invalid as exc:
            errors["notify_by"] = str(exc)
        else:
            flash("Your choice has been saved.", "success")
            return redirect(url_for("auth.account"))
    choices = [{"value": k, "text": v, "checked": k == current} for k, v in notifications.NOTIFY_CHOICES.items()]
    return render_template("auth/account.html", title="Your account", choices=choices, errors=errors), \
        400 if errors else 200


@bp.post("/sign-out")
@allow(SIGNED_IN)
def sign_out() -> Response:
    signed_out_of = signed_in_session.end()
    # Signed in through an organisation's identity provider: end its session too, where it offers that.
    at_provider = oidc_client.sign_out_redirect(signed_out_of) if signed_out_of is not None else None
    return at_provider or redirect(url_for("auth.sign_in"))
