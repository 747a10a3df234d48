"""Invitations: accepting one (a public page reached from the e-mail), and the Partnership Manager's and the
administrator's actions on them."""

from __future__ import annotations

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

from rapidreview import clock
from rapidreview.errors import NotFound
from rapidreview.services.people import invitations, invited_access, partnerships, policy
from rapidreview.services.people.users import UserError
from rapidreview.web import oidc_client, runtime, signed_in_session
from rapidreview.web.access import PUBLIC, allow

bp = Blueprint("invitations", __name__)


def _problem(state: str, partnership_id: int | None = None) -> tuple[str, int]:
    """A page that says what went wrong and how to get a new link, and nothing about any case."""
    return render_template(
        "auth/invitation_problem.html",
        title="This link cannot be used",
        state=state,
        contact=partnerships.contact_email(runtime(), partnership_id),
    ), 404 if state == invitations.UNKNOWN else 410


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@allow(PUBLIC)
def accept(token: str) -> tuple[str, int] | Response:
    shown = invitations.page(runtime(), token, g.user)
    if shown.state != invitations.VALID:
        return _problem(shown.state, shown.partnership_id)
    errors: dict[str, str] = {}
    values = {"email": "", "name": shown.name}
    if request.method == "POST":
        values = {
            "email": request.form.get("email", "").strip(),
            "name": request.form.get("name", "").strip(),
        }
        password = request.form.get("password", "")
        if not values["email"]:
            errors["email"] = "Enter the email address this invitation was sent to"
        if not values["name"]:
            errors["name"] = "Enter your full name"
        if not password:
            errors["password"] = "Enter a password"
        elif password != request.form.get("confirm", ""):
            errors["confirm"] = "Enter the same password twice"
        if not errors:
            try:
                user = invitations.accept(
                    runtime(),
                    token,
                    email=values["email"],
                    name=values["name"],
                    password=password,
                    ip=request.remote_addr,
                )
            except invitations.InvitationProblem as problem:
                return _problem(problem.state, shown.partnership_id)
            except UserError as exc:
                errors[exc.field] = str(exc)
            else:
                if current_app.config["TOTP_REQUIRED"]:
                    # Straight on to setting up the authenticator app, as a first sign-in does (auth.two_factor).
                    session.clear()
                    session.update(
                        pending_user_id=user.id, pending_at=clock.now().timestamp(), pending_next=None
                    )
                    return redirect(url_for("auth.two_factor"))
                signed_in_session.begin(user)
                flash("Your account is ready. Your agency's tasks are below.", "success")
                return redirect(url_for("tasks.worklist"))
    return render_template(
        "auth/invitation.html",
        title="Set up your account",
        invitation=shown,
        values=values,
        errors=errors,
        providers=oidc_client.providers(),
        password_form=runtime().settings.password_sign_in,
    ), 400 if errors else 200


def _own_case(case_id: int) -> invited_access.CaseAgencies:
    """A case of the Partnership Manager's partnership, with its agencies (404 for any other)."""
    try:
        return invited_access.agencies_of_case(runtime(), case_id, g.user.partnership_id)
    except NotFound:
        abort(404)


@bp.post("/case-agencies/<int:case_id>/people/<int:user_id>/resend")
@allow(*policy.AGENCY_CONTACT_MANAGERS)
def resend(case_id: int, user_id: int) -> Response:
    case = _own_case(case_id)
    try:
        email = invitations.resend(
            runtime(), case_id, user_id, actor=g.user.email, partnership_id=g.user.partnership_id
        )
    except NotFound:
        abort(404)
    except UserError as exc:
        flash(str(exc))
    else:
        flash(f"A new invitation has been sent to {email}. The earlier link no longer works.", "success")
    return redirect(url_for("cases.show", reference=case.reference) + "#agencies")


@bp.route("/case-agencies/<int:case_id>/<agency_id>/contact", methods=["GET", "POST"])
@allow(*policy.AGENCY_CONTACT_MANAGERS)
def change_contact(case_id: int, agency_id: str) -> tuple[str, int] | Response:
    case = _own_case(case_id)
    rt = runtime()
    agency = case.agencies.get(agency_id)
    if agency is None:
        abort(404)
    errors: dict[str, str] = {}
    values = {
        "role": request.form.get("role", "agency_practitioner"),
        "email": request.form.get("email", "").strip(),
        "name": request.form.get("name", "").strip(),
    }
    if request.method == "POST":
        if not values["name"]:
            errors["name"] = "Enter the person's full name"
        if not values["email"]:
            errors["email"] = "Enter the person's email address"
        if not errors:
            try:
                email = invitations.change_contact(
                    rt,
                    case_id,
                    agency_id,
                    values["role"],
                    email=values["email"],
                    name=values["name"],
                    actor=g.user.email,
                    partnership_id=g.user.partnership_id,
                )
            except NotFound:
                abort(404)
            except UserError as exc:
                errors[exc.field] = str(exc)
            else:
                flash(
                    f"{agency.name}'s {'manager' if values['role'] == 'agency_manager' else 'contact'} for this case "
                    f"is now {email}.",
                    "success",
                )
                return redirect(url_for("cases.show", reference=case.reference) + "#agencies")
    return render_template(
        "cases/agency_contact.html",
        title=f"Change {agency.name}'s contact",
        case=case,
        agency=agency,
        values=values,
        errors=errors,
    ), 400 if errors else 200


@bp.get("/admin/invitations")
@allow(policy.ADMIN)
def invited() -> str:
    rows = invited_access.invited_accounts(runtime(), g.user.partnership_id)
    return render_template("admin/invitations.html", title="Invited people", rows=rows)
