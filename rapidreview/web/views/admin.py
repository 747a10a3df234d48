"""Administration: users, agencies, and the outbox."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from rapidreview.errors import Conflict
from rapidreview.services.people import identity_providers, partnerships, policy, sessions, users
from rapidreview.services.platform import outbox as outbox_service
from rapidreview.services.reading import case_views
from rapidreview.web import oidc_client, runtime, signed_in_session
from rapidreview.web.access import allow

bp = Blueprint("admin", __name__)


def _user_form(values: dict[str, str], errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    return render_template("admin/user_new.html", title="Add a user", values=values, errors=errors,
                           agencies=users.agencies(runtime(), g.user.partnership_id)), status


@bp.get("/admin/users", endpoint="users")
@allow(*policy.USER_ADMINS)
def users_list() -> str:
    # An administrator manages their own partnership's accounts and agencies.
    return render_template("admin/users.html", title="Users", rows=users.accounts(runtime(), g.user.partnership_id))



@bp.get("/admin/users/new")
@allow(*policy.USER_ADMINS)
def user_new() -> tuple[str, int]:
    return _user_form({}, {})


@bp.post("/admin/users/new")
@allow(*policy.USER_ADMINS)
def user_create() -> tuple[str, int] | Response:
    values = {k: request.form.get(k, "").strip() for k in ("email", "name", "role", "agency_id")}
    try:
        users.create_user(runtime(), email=values["email"], name=values["name"], role=values["role"],
                          agency_id=values["agency_id"] or None, password=request.form.get("password", ""),
                          actor=g.user.email, partnership_id=g.user.partnership_id)
    except users.UserError as exc:
        return _user_form(values, {exc.field: str(exc)}, 400)
    flash(f"{values['name']} can now sign in.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/admin/users/<int:user_id>/active")
@allow(*policy.USER_ADMINS)
def user_active(user_id: int) -> Response:
    active = request.form.get("active") == "true"
    if user_id == g.user.id and not active:
        flash("You cannot deactivate your own account.", "error")
    else:
        try:
            users.set_active(runtime(), user_id, active, actor=g.user.email, partnership_id=g.user.partnership_id)
        except users.UserError:
            abort(404)
    return redirect(url_for("admin.users"))


def _account(user_id: int) -> tuple[users.Account, str | None]:
    """A user of the administrator's partnership (404 for anyone else's) and their agency's name."""
    account = users.account(runtime(), user_id, g.user.partnership_id)
    return account, account.agency_name


def _account_page(user_id: int, errors: dict[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    user, agency = _account(user_id)
    active = sessions.active_sessions(runtime(), user_id, signed_in_session.limits())
    return render_template("admin/user.html", title=user.name, account=user, agency=agency, sessions=active,
                           identities=identity_providers.linked_identities(runtime(), user_id),
                           providers={p.id: p.label for p in oidc_client.providers()},
                           errors=errors or {}), status


@bp.post("/admin/users/<int:user_id>/sessions/end")
@allow(*policy.USER_ADMINS)
def user_sessions_end(user_id: int) -> Response:
    """End one of a person's sessions (``session``) or all of them: they must sign in again."""
    account, _ = _account(user_id)
    which = request.form.get("session") or None
    ended = sessions.end_for_admin(runtime(), user_id, which, actor=g.user.email, partnership_id=g.user.partnership_id)
    if ended:
        flash(f"{account.name} has been signed out of {'that session' if which else 'every session'}.", "success")
    else:
        flash(f"{account.name} had no such session open: nothing was changed.")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.get("/admin/users/<int:user_id>")
@allow(*policy.USER_ADMINS)
def user(user_id: int) -> tuple[str, int]:
    return _account_page(user_id)


@bp.post("/admin/users/<int:user_id>/password")
@allow(*policy.USER_ADMINS)
def user_password(user_id: int) -> tuple[str, int] | Response:
    account, _ = _account(user_id)
    try:
        users.set_temporary_password(runtime(), user_id, request.form.get("password", ""), actor=g.user.email,
                                     partnership_id=g.user.partnership_id)
    except users.UserError as exc:
        return _account_page(user_id, {"password": str(exc)}, 400)
    flash(f"{account.name} has a temporary password. Give it to them securely: they must choose their own "
          "when they next sign in. They have been signed out everywhere.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/two-factor")
@allow(*policy.USER_ADMINS)
def user_two_factor(user_id: int) -> Response:
    account, _ = _account(user_id)
    users.reset_two_factor(runtime(), user_id, actor=g.user.email, partnership_id=g.user.partnership_id)
    flash(f"{account.name}'s authenticator app has been reset. They set up a new one when they next sign in, "
          "and have been signed out everywhere.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/identities/unlink")
@allow(*policy.USER_ADMINS)
def user_identities_unlink(user_id: int) -> Response:
    """Forget the organisation accounts linked to this one: the next sign-in links again, by verified e-mail."""
    account, _ = _account(user_id)
    identity_providers.unlink_identities(runtime(), user_id, actor=g.user.email, partnership_id=g.user.partnership_id)
    flash(f"{account.name}'s organisation account has been unlinked. The next time someone signs in with an "
          f"organisation account showing {account.email}, it is linked to this account. They have been signed "
          "out everywhere.", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.route("/admin/agencies", methods=["GET", "POST"])
@allow(*policy.USER_ADMINS)
def agencies() -> tuple[str, int] | Response:
    errors: dict[str, str] = {}
    values = {k: request.form.get(k, "").strip() for k in ("id", "name", "contact_email", "manager_email")}
    if request.method == "POST":
        try:
            users.save_agency(runtime(), **values, actor=g.user.email, partnership_id=g.user.partnership_id)
            flash(f"{values['name']} has been saved.", "success")
            return redirect(url_for("admin.agencies"))
        except users.UserError as exc:
            errors[exc.field] = str(exc)
    rows = users.agencies(runtime(), g.user.partnership_id)
    return render_template("admin/agencies.html", title="Agencies", rows=rows, values=values,
                           errors=errors), 400 if errors else 200


@bp.route("/admin/meeting-contacts", methods=["GET", "POST"])
@allow(*policy.USER_ADMINS)
def meeting_contacts() -> tuple[str, int] | Response:
    """The partnership's standing meeting invitees (Legal Services, the Designated Health Professionals, the PCFSW)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        rows = [partnerships.MeetingContact(*(request.form.get(f"{k}-{n}", "").strip()
                                              for k in ("role", "name", "email", "organisation")))
                for n in range(1, partnerships.MAX_MEETING_CONTACTS + 1) if f"role-{n}" in request.form]
        try:
            partnerships.set_meeting_contacts(runtime(), g.user.partnership_id, rows, actor=g.user.email)
        except partnerships.PartnershipError as exc:
            number = str(exc).split(":", 1)[0].replace("row ", "")
            errors[f"row-{number}" if number.isdigit() else "row-1"] = str(exc)[0].upper() + str(exc)[1:]
        else:
            flash("The people every meeting invites have been saved.", "success")
            return redirect(url_for("admin.meeting_contacts"))
    else:
        rows = partnerships.standing_meeting_contacts(runtime(), g.user.partnership_id)
    return render_template("admin/meeting_contacts.html", title="Meeting invitees", rows=rows,
                           errors=errors), 400 if errors else 200


def _own_message(message_id: int) -> None:
    """Another partnership's message is not found, as its cases are."""
    if not case_views.outbox_message_visible(runtime(), g.user.partnership_id, message_id):
        abort(404)


@bp.post("/outbox/<int:message_id>/retry")
@allow(*policy.OUTBOX_READERS)
def outbox_retry(message_id: int) -> Response:
    return _act_on_message(message_id, lambda: outbox_service.retry_message(runtime(), message_id, actor=g.user.email),
                           "The e-mail will be sent again.")


@bp.post("/outbox/<int:message_id>/cancel")
@allow(*policy.OUTBOX_READERS)
def outbox_cancel(message_id: int) -> Response:
    reason = request.form.get("reason", "").strip() or "cancelled from the Outbox page"
    return _act_on_message(message_id, lambda: outbox_service.cancel_message(runtime(), message_id,
                                                                             actor=g.user.email, reason=reason),
                           "The e-mail has been cancelled.")


def _act_on_message(message_id: int, act: Callable[[], None], done: str) -> Response:
    """Retry or cancel one of the partnership's failed messages; a refusal (it has not failed, a task waits
    for it) is shown on the Outbox page."""
    _own_message(message_id)
    try:
        act()
        flash(done, "success")
    except Conflict as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.outbox"))


@bp.get("/outbox")
@allow(*policy.OUTBOX_READERS)
def outbox() -> str:
    return render_template("admin/outbox.html", title="Outbox",
                           rows=case_views.outbox_messages(runtime(), g.user.partnership_id),
                           transport=runtime().settings.mail_transport, folder=runtime().settings.outbox_dir)
