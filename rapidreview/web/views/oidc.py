"""Sign in with an organisation's account: off to its identity provider and back (rapidreview.web.oidc_client),
then the account is matched (rapidreview.services.people.identity_providers) and the session begins as a password
sign-in's does: the TOTP step where it still applies, then ``signed_in_session.begin``."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from werkzeug.wrappers import Response

from rapidreview import clock
from rapidreview.oidc_settings import OidcProvider
from rapidreview.services.people import identity_providers as idp
from rapidreview.services.people.sessions import ProviderSession
from rapidreview.web import oidc_client, runtime, signed_in_session
from rapidreview.web.access import PUBLIC, allow
from rapidreview.web.views.auth import PENDING_PROVIDER, same_site_path, sign_in_page

bp = Blueprint("oidc", __name__)
NEXT = "oidc_next"  # where to go after signing in, kept while the person is at the provider


@bp.get("/sign-in/with/<provider_id>")
@allow(PUBLIC)
def start(provider_id: str) -> Response | tuple[str, int]:
    provider = _provider(provider_id)
    session[NEXT] = same_site_path(request.args.get("next"))
    try:
        return oidc_client.authorize_redirect(provider)
    except oidc_client.ProtocolFailure as failure:
        idp.record_refusal(runtime(), provider.id, failure.reason, ip=request.remote_addr, detail=failure.detail)
        return _refused(provider, failure.reason)


@bp.get("/sign-in/with/<provider_id>/callback")
@allow(PUBLIC)
def callback(provider_id: str) -> Response | tuple[str, int]:
    provider = _provider(provider_id)
    try:
        checked = oidc_client.complete(provider)
    except oidc_client.ProtocolFailure as failure:
        idp.record_refusal(runtime(), provider.id, failure.reason, ip=request.remote_addr, detail=failure.detail)
        return _refused(provider, failure.reason)
    try:
        outcome = idp.sign_in(runtime(), provider, checked.claims, totp_required=current_app.config["TOTP_REQUIRED"],
                              ip=request.remote_addr)
    except idp.SignInRefused as refused:
        return _refused(provider, refused.reason, refused.email)
    target = session.pop(NEXT, None)
    if outcome.needs_totp:
        # The same second step as after a password (auth.two_factor), which then begins the session.
        session.clear()
        session.update(pending_user_id=outcome.user.id, pending_at=clock.now().timestamp(), pending_next=target,
                       **{PENDING_PROVIDER: {"provider": provider.id, "id_token": checked.id_token}})
        return redirect(url_for("auth.two_factor"))
    signed_in_session.begin(outcome.user, ProviderSession(provider.id, checked.id_token))
    return redirect(same_site_path(target) or url_for("tasks.worklist"))


def _provider(provider_id: str) -> OidcProvider:
    provider = oidc_client.provider(provider_id)
    if provider is None:
        abort(404)
    return provider


def _refused(provider: OidcProvider, reason: str, email: str | None = None) -> tuple[str, int]:
    message, status = _message(provider, reason, email)
    return sign_in_page({"oidc": message}, status=status)


def _message(provider: OidcProvider, reason: str, email: str | None) -> tuple[str, int]:
    label, address = provider.label, email or "your email address"
    domain = email.rsplit("@", 1)[-1] if email else "your email domain"
    messages: dict[str, tuple[str, int]] = {
        idp.NO_EMAIL: (f"{label} did not give your email address, so you cannot sign in with it. "
                       "Ask your administrator.", 403),
        idp.EMAIL_UNVERIFIED: (f"{label} did not confirm that {address} is yours, so you cannot sign in with it. "
                               "Ask your administrator.", 403),
        idp.DOMAIN_NOT_ALLOWED: (f"Accounts with an email address at {domain} cannot sign in with {label}. "
                                 "Ask your administrator which account to use.", 403),
        idp.NO_ACCOUNT: (f"There is no Rapid Review account for {address}. Signing in does not create one: "
                         "ask your administrator.", 403),
        idp.LINKED_TO_ANOTHER_IDENTITY: (f"The Rapid Review account for {address} is linked to a different {label} "
                                         "account. Ask your administrator to check it.", 403),
        idp.ACCOUNT_CLOSED: ("Your Rapid Review account is not active. Ask your administrator.", 403),
        idp.MISCONFIGURED: (f"Signing in with {label} is not set up correctly. Tell your administrator.", 500),
        idp.STATE_MISMATCH: ("Your sign-in could not be finished: it was started in another browser or window, "
                             "took too long, or was already used. Sign in again.", 400),
        idp.INVALID_TOKEN: (f"The answer from {label} could not be checked, so you have not been signed in. "
                            "Try again. If it happens again, tell your administrator.", 400),
        idp.PROVIDER_ERROR: (f"{label} did not sign you in. Try again.", 400),
        idp.PROVIDER_UNREACHABLE: (f"{label} could not be reached. Try again in a few minutes.", 502),
    }
    messages[idp.OTHER_PARTNERSHIP] = messages[idp.NO_ACCOUNT]
    return messages.get(reason, (f"You could not be signed in with {label}. Try again.", 400))
