"""Signing in with an organisation's account, through a real OpenID provider on the loopback interface
(tests/oidc/provider.mjs: the certified oidc-provider package). Nothing at the protocol level is mocked: the
app's Authlib client discovers the provider, runs the code flow with PKCE, state and nonce, and checks the ID
tokens the provider issues, including the spoiled ones some of its clients are given."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pyotp
import pytest
from flask import Flask
from flask import session as flask_session
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from rapidreview.config import Settings
from rapidreview.oidc_settings import OidcProvider, providers_from_environment
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.people import partnerships, users
from rapidreview.services.people.demo import DEMO_PASSWORD, seed_demo
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, User, UserIdentity, WebSession
from rapidreview.web import create_app
from tests.oidc import local_provider
from tests.oidc.local_provider import LocalProvider, ProviderBrowser, certificate_file, requires_provider
from tests.web.conftest import csrf_of, sign_in

pytestmark = requires_provider

APP_BASE = "http://127.0.0.1:5000"  # the test settings' RAPIDREVIEW_BASE_URL
ACCOUNTS: dict[str, dict[str, Any]] = {
    "pm": {"sub": "sub-pm", "email": "pm@demo.example", "email_verified": True, "amr": ["pwd"], "name": "Pat"},
    "chair-mfa": {"sub": "sub-chair", "email": "chair@demo.example", "email_verified": True, "amr": ["pwd", "mfa"]},
    # Microsoft Entra ID sends no email_verified; its optional xms_edov says the tenant owns the domain.
    "admin-entra": {"sub": "sub-admin", "email": "admin@demo.example", "xms_edov": True, "amr": ["pwd", "mfa"]},
    "unverified": {"sub": "sub-lead", "email": "la.lead@demo.example", "email_verified": False},
    "no-email": {"sub": "sub-no-email"},
    "stranger": {"sub": "sub-stranger", "email": "nobody@demo.example", "email_verified": True},
    "outsider": {"sub": "sub-outsider", "email": "ext@elsewhere.example", "email_verified": True},
    # Someone later given the PM's address at the organisation: a different, never-reused subject.
    "pm-successor": {"sub": "sub-successor", "email": "pm@demo.example", "email_verified": True},
    # The PM after a change of name: the same subject, a new address.
    "pm-renamed": {"sub": "sub-pm", "email": "pat.manager@demo.example", "email_verified": True},
}
# Provider id in the app -> the client it uses at the provider, and what the provider does to its ID tokens.
CLIENTS = {"test": ("rapidreview", None), "strict": ("rapidreview-strict", None),
           "wrongaud": ("rapidreview-wrong-audience", "wrong-audience"),
           "expired": ("rapidreview-expired", "expired"), "badsig": ("rapidreview-bad-signature", "bad-signature")}


CERTIFICATE_CLIENT = "rapidreview-certificate"


def provider_clients(base: str = APP_BASE, certificate_jwk: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    clients = [local_provider.client(client_id, base, tamper=tamper, provider_id=pid)
               for pid, (client_id, tamper) in CLIENTS.items()]
    if certificate_jwk is not None:
        # Signs in with a certificate (private_key_jwt), as "cert"; "wrongcert" presents another certificate.
        entry = local_provider.client(CERTIFICATE_CLIENT, base, provider_id="cert")
        entry["redirect_uris"].append(f"{base}/sign-in/with/wrongcert/callback")
        del entry["client_secret"]
        clients.append({**entry, "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [certificate_jwk]}})
    return clients


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("certificates")
    return {name: certificate_file(folder, name) for name in ("registered", "stranger")}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory,
             certificates: dict[str, tuple[Path, dict[str, Any]]]) -> Iterator[LocalProvider]:
    running = local_provider.start(tmp_path_factory.mktemp("oidc"),
                                   provider_clients(certificate_jwk=certificates["registered"][1]), ACCOUNTS)
    yield running
    running.stop()


def app_settings(provider: LocalProvider) -> tuple[OidcProvider, ...]:
    return tuple(provider.settings(CLIENTS[pid][0], id=pid, mfa_satisfies_totp=pid == "test") for pid in CLIENTS)


@pytest.fixture
def make_app(settings: Settings, database: tuple[str, str | None]) -> Iterator[Callable[..., Flask]]:
    """Apps on the test database with the demo accounts, on the system clock (the provider's tokens carry
    real times)."""
    runtimes: list[Runtime] = []

    def make(providers: tuple[OidcProvider, ...], **changes: Any) -> Flask:
        rt = build_runtime(settings.with_(oidc_providers=providers, **changes), schema=database[1])
        runtimes.append(rt)
        seed_demo(rt)
        return create_app("test", runtime=rt)

    yield make
    for rt in runtimes:
        rt.close()


@pytest.fixture
def app(make_app: Callable[..., Flask], provider: LocalProvider) -> Flask:
    return make_app(app_settings(provider))


def rt_of(app: Flask) -> Runtime:
    rt: Runtime = app.extensions["rapidreview"]
    return rt


def go_to_provider(client: FlaskClient, provider_id: str = "test", next_path: str | None = None) -> str:
    query = f"?{urlencode({'next': next_path})}" if next_path else ""
    response = client.get(f"/sign-in/with/{provider_id}{query}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.headers["Location"])


def back_at_app(client: FlaskClient, location: str) -> Any:
    assert location.startswith(f"{APP_BASE}/"), location
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def sign_in_through(app: Flask, provider: LocalProvider, login: str, provider_id: str = "test", *,
                    client: FlaskClient | None = None, browser: ProviderBrowser | None = None,
                    next_path: str | None = None) -> tuple[FlaskClient, Any]:
    client = client or app.test_client()
    browser = browser or ProviderBrowser(provider.issuer)
    back = browser.sign_in(go_to_provider(client, provider_id, next_path), login)
    return client, back_at_app(client, back)


def events(app: Flask, type_: str) -> list[AuditEvent]:
    with transaction(rt_of(app).sessions) as session:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.type == type_).order_by(AuditEvent.id)))
        session.expunge_all()
        return rows


def signed_in_as(client: FlaskClient) -> str | None:
    page = client.get("/tasks")
    if page.status_code != 200:
        return None
    text = page.get_data(as_text=True)
    start = text.find("Signed in as ")
    return text[start + len("Signed in as "):text.find(" (", start)] if start >= 0 else None


def assert_refused(response: Any, client: FlaskClient, message: str, status: int) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert message in text.replace("&#39;", "'"), text
    assert signed_in_as(client) is None


# -- the page and a good sign-in ---------------------------------------------------------------------------


def test_oidc_sign_in_page_offers_each_provider_beside_the_password_form(app: Flask) -> None:
    page = app.test_client().get("/sign-in?next=/cases").get_data(as_text=True)
    assert "Sign in with Test Council" in page
    assert '/sign-in/with/test?next=/cases' in page.replace("%2F", "/")
    assert 'name="password"' in page


def test_oidc_sign_in_uses_pkce_state_and_nonce_and_opens_the_account_an_administrator_created(
        app: Flask, provider: LocalProvider) -> None:
    client = app.test_client()
    authorization = go_to_provider(client)
    query = parse_qs(urlsplit(authorization).query)
    assert authorization.startswith(f"{provider.issuer}/")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [f"{APP_BASE}/sign-in/with/test/callback"]
    assert "openid" in query["scope"][0].split() and "email" in query["scope"][0].split()

    response = back_at_app(client, ProviderBrowser(provider.issuer).sign_in(authorization, "pm"))
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert signed_in_as(client) == "Pat Manager"

    with transaction(rt_of(app).sessions) as session:
        pm = session.scalars(select(User).where(User.email == "pm@demo.example")).one()
        assert pm.role == "partnership_manager"  # the role an administrator gave, nothing from the provider
        identity = session.scalars(select(UserIdentity).where(UserIdentity.user_id == pm.id)).one()
        assert (identity.issuer, identity.subject, identity.provider) == (provider.issuer, "sub-pm", "test")
        row = session.scalars(select(WebSession).where(WebSession.user_id == pm.id)).one()
        assert row.identity_provider == "test" and row.id_token_hint and row.ended_at is None
    [signed_in] = events(app, "oidc_signed_in")
    assert signed_in.actor == "pm@demo.example"
    assert signed_in.payload["provider"] == "test" and signed_in.payload["mfa"] is False
    assert len(events(app, "oidc_identity_linked")) == 1


def test_oidc_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(
        app: Flask, provider: LocalProvider) -> None:
    _client, response = sign_in_through(app, provider, "pm", next_path="/cases")
    assert response.headers["Location"] == "/cases"
    _client, response = sign_in_through(app, provider, "pm", next_path="//evil.example/steal")
    assert response.headers["Location"] == "/tasks"


def test_oidc_audit_trail_never_holds_a_token(app: Flask, provider: LocalProvider) -> None:
    sign_in_through(app, provider, "pm")
    sign_in_through(app, provider, "stranger")
    sign_in_through(app, provider, "pm", "wrongaud")
    with transaction(rt_of(app).sessions) as session:
        payloads = [json.dumps(e.payload) for e in session.scalars(select(AuditEvent))]
    assert payloads and not any("eyJ" in payload for payload in payloads)


# -- tokens the app must refuse: its Authlib checks, against tokens the real provider handed over -----------


@pytest.mark.parametrize(("provider_id", "detail"), [
    ("wrongaud", "aud"),
    ("expired", "expired"),
    ("badsig", "bad_signature"),
])
def test_oidc_id_token_with_wrong_audience_expired_or_bad_signature_is_refused(
        app: Flask, provider: LocalProvider, provider_id: str, detail: str) -> None:
    client, response = sign_in_through(app, provider, "pm", provider_id)
    assert_refused(response, client, "could not be checked, so you have not been signed in", 400)
    [refusal] = events(app, "oidc_sign_in_refused")
    assert refusal.payload["reason"] == "invalid_token" and detail in refusal.payload["detail"]
    assert events(app, "oidc_signed_in") == []


def test_oidc_answer_used_twice_or_never_asked_for_is_refused(app: Flask, provider: LocalProvider) -> None:
    client = app.test_client()
    back = ProviderBrowser(provider.issuer).sign_in(go_to_provider(client), "pm")
    assert back_at_app(client, back).status_code == 302
    # The same answer again, in the same browser and in another: its state was used up.
    assert_refused(back_at_app(client, back), app.test_client(), "was already used", 400)
    other = app.test_client()
    assert_refused(back_at_app(other, back), other, "was already used", 400)
    # An answer for a sign-in this browser never started (a forged or stolen callback).
    stranger = app.test_client()
    forged = ProviderBrowser(provider.issuer).sign_in(go_to_provider(app.test_client()), "pm")
    assert_refused(back_at_app(stranger, forged), stranger, "Sign in again", 400)
    reasons = [e.payload["reason"] for e in events(app, "oidc_sign_in_refused")]
    assert reasons == ["state_mismatch"] * 3


def test_oidc_person_who_gives_up_at_the_provider_is_told_and_not_signed_in(
        app: Flask, provider: LocalProvider) -> None:
    client, response = sign_in_through(app, provider, "cancel")
    assert_refused(response, client, "Test Council did not sign you in", 400)
    [refusal] = events(app, "oidc_sign_in_refused")
    assert refusal.payload["reason"] == "provider_error" and refusal.payload["detail"] == "access_denied"


# -- who the claims may sign in -------------------------------------------------------------------------------


@pytest.mark.parametrize(("login", "message", "reason"), [
    ("unverified", "did not confirm that la.lead@demo.example is yours", "email_unverified"),
    ("no-email", "did not give your email address", "no_email"),
    ("stranger", "There is no Rapid Review account for nobody@demo.example", "no_account"),
])
def test_oidc_unverified_missing_or_unknown_email_signs_nobody_in_and_creates_no_account(
        app: Flask, provider: LocalProvider, login: str, message: str, reason: str) -> None:
    with transaction(rt_of(app).sessions) as session:
        accounts = len(list(session.scalars(select(User.id))))
    client, response = sign_in_through(app, provider, login)
    assert_refused(response, client, message, 403)
    [refusal] = events(app, "oidc_sign_in_refused")
    assert refusal.payload["reason"] == reason
    with transaction(rt_of(app).sessions) as session:
        assert len(list(session.scalars(select(User.id)))) == accounts
        assert list(session.scalars(select(UserIdentity))) == []


def test_oidc_email_domain_the_provider_is_not_allowed_is_refused_even_with_an_account(
        app: Flask, provider: LocalProvider) -> None:
    users.create_user(rt_of(app), email="ext@elsewhere.example", name="Ex Ternal", role="la_officer",
                      password="a long enough password 1")
    client, response = sign_in_through(app, provider, "outsider")
    assert_refused(response, client, "Accounts with an email address at elsewhere.example cannot sign in", 403)
    assert events(app, "oidc_sign_in_refused")[0].payload["reason"] == "domain_not_allowed"


def test_oidc_entra_domain_verified_email_counts_as_verified(app: Flask, provider: LocalProvider) -> None:
    client, response = sign_in_through(app, provider, "admin-entra")
    assert response.status_code == 302
    assert signed_in_as(client) == "Ade Admin"


def test_oidc_linked_identity_keeps_its_account_and_a_reassigned_email_does_not_open_it(
        app: Flask, provider: LocalProvider) -> None:
    sign_in_through(app, provider, "pm")
    client, response = sign_in_through(app, provider, "pm-successor")
    assert_refused(response, client, "is linked to a different Test Council account", 403)
    assert events(app, "oidc_sign_in_refused")[0].payload["reason"] == "linked_to_another_identity"
    # The PM's own identity still opens their account after the organisation changed their address.
    client, response = sign_in_through(app, provider, "pm-renamed")
    assert response.status_code == 302 and signed_in_as(client) == "Pat Manager"


def test_oidc_provider_signs_in_only_its_own_partnerships_accounts(
        make_app: Callable[..., Flask], provider: LocalProvider) -> None:
    app = make_app(tuple(replace(p, partnership="northbridge") if p.id == "test" else p
                         for p in app_settings(provider)))
    partnerships.add_partnership(rt_of(app), "northbridge", "Northbridge Partnership", actor="test")
    client, response = sign_in_through(app, provider, "pm")  # the PM's account is the default partnership's
    assert_refused(response, client, "There is no Rapid Review account for pm@demo.example", 403)
    assert events(app, "oidc_sign_in_refused")[0].payload["reason"] == "other_partnership"


def test_oidc_deactivated_account_is_refused(app: Flask, provider: LocalProvider) -> None:
    with transaction(rt_of(app).sessions) as session:
        pm_id = session.scalars(select(User.id).where(User.email == "pm@demo.example")).one()
    users.set_active(rt_of(app), pm_id, False, actor="test")
    client, response = sign_in_through(app, provider, "pm")
    assert_refused(response, client, "Your Rapid Review account is not active", 403)


# -- the second factor -----------------------------------------------------------------------------------------


def totp_code(app: Flask, email: str) -> str:
    with transaction(rt_of(app).sessions) as session:
        user_id = session.scalars(select(User.id).where(User.email == email)).one()
    return pyotp.TOTP(users.totp_enrolment(rt_of(app), user_id).secret).now()


def test_oidc_reported_mfa_replaces_the_totp_step_where_the_provider_is_trusted_for_it(
        app: Flask, provider: LocalProvider) -> None:
    app.config["TOTP_REQUIRED"] = True
    client, response = sign_in_through(app, provider, "chair-mfa", "test")
    assert response.headers["Location"] == "/tasks" and signed_in_as(client) == "Chris Chair"
    assert events(app, "oidc_signed_in")[0].payload == {"provider": "test", "ip": "127.0.0.1", "mfa": True,
                                                         "totp_next": False}


@pytest.mark.parametrize(("login", "provider_id"), [("pm", "test"), ("chair-mfa", "strict")])
def test_oidc_sign_in_still_asks_for_the_totp_code_without_mfa_or_where_mfa_is_not_trusted(
        app: Flask, provider: LocalProvider, login: str, provider_id: str) -> None:
    app.config["TOTP_REQUIRED"] = True
    client, response = sign_in_through(app, provider, login, provider_id)
    assert response.headers["Location"] == "/sign-in/code"
    assert signed_in_as(client) is None
    email = ACCOUNTS[login]["email"]
    page = client.get("/sign-in/code").get_data(as_text=True)
    response = client.post("/sign-in/code", data={"code": totp_code(app, email), "csrf_token": csrf_of(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/tasks"
    assert signed_in_as(client) is not None
    # The session knows its provider, so signing out ends the provider's session too.
    signed_out = client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/tasks").get_data(as_text=True))})
    assert signed_out.headers["Location"].startswith(f"{provider.issuer}/session/end?")


# -- signing out -------------------------------------------------------------------------------------------------


def test_oidc_sign_out_ends_the_app_session_and_the_providers(app: Flask, provider: LocalProvider) -> None:
    browser = ProviderBrowser(provider.issuer)
    client, _response = sign_in_through(app, provider, "pm", browser=browser)
    response = client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/tasks").get_data(as_text=True))})
    end_session = str(response.headers["Location"])
    query = parse_qs(urlsplit(end_session).query)
    assert end_session.startswith(f"{provider.issuer}/session/end?")
    assert query["post_logout_redirect_uri"] == [f"{APP_BASE}/sign-in"] and query["id_token_hint"][0]
    assert signed_in_as(client) is None
    with transaction(rt_of(app).sessions) as session:
        [row] = session.scalars(select(WebSession))
        assert row.ended_reason == "signed_out" and row.id_token_hint is None  # the token is not kept

    assert browser.sign_out(end_session).startswith(f"{APP_BASE}/sign-in")
    # The provider's own session is over: signing in again asks who you are, instead of letting you straight in.
    again = browser.http.get(go_to_provider(app.test_client()), allow_redirects=True, timeout=10)
    assert 'name="login"' in again.text


def test_oidc_password_sign_out_still_returns_to_the_sign_in_page(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    client.post("/sign-in", data={"email": "pm@demo.example", "password": DEMO_PASSWORD, "csrf_token": csrf_of(page)})
    response = client.post("/sign-out", data={"csrf_token": csrf_of(client.get("/tasks").get_data(as_text=True))})
    assert response.headers["Location"] == "/sign-in"


# -- passwords turned off ---------------------------------------------------------------------------------------


def post_password(client: FlaskClient, email: str, password: str) -> Any:
    page = client.get("/sign-in").get_data(as_text=True)
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": csrf_of(page)})


def test_oidc_partnership_without_passwords_refuses_even_the_right_password_and_points_to_its_provider(
        app: Flask, provider: LocalProvider) -> None:
    partnerships.set_profile(rt_of(app), "default", actor="test", password_sign_in=False)
    client = app.test_client()
    response = post_password(client, "pm@demo.example", DEMO_PASSWORD)
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "does not use Rapid Review passwords" in text
    assert "Sign in with Test Council" in text and signed_in_as(client) is None
    # A wrong password gets the usual answer: nothing is told to someone who does not know the password.
    wrong = post_password(app.test_client(), "pm@demo.example", "not the password at all").get_data(as_text=True)
    assert "Enter a correct email address and password" in wrong and "does not use" not in wrong
    assert events(app, "sign_in_refused")[0].payload["reason"] == "password_sign_in_off"
    # Its provider still signs its people in.
    client, response = sign_in_through(app, provider, "pm")
    assert signed_in_as(client) == "Pat Manager"


def test_oidc_deployment_without_passwords_shows_no_password_form_and_refuses_posts(
        make_app: Callable[..., Flask], provider: LocalProvider) -> None:
    app = make_app(app_settings(provider), password_sign_in=False)
    page = app.test_client().get("/sign-in").get_data(as_text=True)
    assert "Sign in with Test Council" in page and 'name="password"' not in page
    # The page has no form, so no CSRF token: make one as a form would carry it, to reach the view itself.
    client = app.test_client()
    with app.test_request_context():
        token, raw = generate_csrf(), flask_session["csrf_token"]
    with client.session_transaction() as cookie:
        cookie["csrf_token"] = raw
    response = client.post("/sign-in", data={"email": "pm@demo.example", "password": DEMO_PASSWORD,
                                             "csrf_token": token})
    assert response.status_code == 404 and signed_in_as(client) is None


# -- a certificate instead of a client secret ---------------------------------------------------------------


def certificate_settings(provider: LocalProvider, provider_id: str, pem: Path) -> OidcProvider:
    """Read from the environment as in production, so the certificate file is checked as it would be."""
    prefix = f"RAPIDREVIEW_OIDC_{provider_id.upper()}_"
    [settings] = providers_from_environment({
        "RAPIDREVIEW_OIDC_PROVIDERS": provider_id, f"{prefix}ISSUER": provider.issuer,
        f"{prefix}CLIENT_ID": CERTIFICATE_CLIENT, f"{prefix}CLIENT_CERTIFICATE_FILE": str(pem),
        f"{prefix}DOMAINS": "demo.example", f"{prefix}LABEL": "Test Council"})
    return settings


def test_oidc_client_signs_in_with_a_certificate_instead_of_a_secret(
        make_app: Callable[..., Flask], provider: LocalProvider,
        certificates: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    app = make_app((certificate_settings(provider, "cert", certificates["registered"][0]),
                    certificate_settings(provider, "wrongcert", certificates["stranger"][0])))
    client, response = sign_in_through(app, provider, "pm", "cert")
    assert response.status_code == 302 and signed_in_as(client) == "Pat Manager"
    # A certificate the provider does not hold for this client gets no token.
    client, response = sign_in_through(app, provider, "pm", "wrongcert")
    assert_refused(response, client, "Test Council did not sign you in", 400)
    [refusal] = events(app, "oidc_sign_in_refused")
    assert refusal.payload == {"provider": "wrongcert", "reason": "provider_error", "detail": "invalid_client",
                               "ip": "127.0.0.1"}


# -- the provider's keys and reachability -----------------------------------------------------------------------


def test_oidc_provider_keys_rotated_after_sign_in_are_fetched_again(
        make_app: Callable[..., Flask], tmp_path: Path) -> None:
    first = local_provider.start(tmp_path, provider_clients(), ACCOUNTS, key_id="key-1")
    try:
        app = make_app(app_settings(first))
        client, response = sign_in_through(app, first, "pm")
        assert signed_in_as(client) == "Pat Manager"
    finally:
        first.stop()
    # The provider comes back at the same address signing with a new key the app has not seen.
    second = local_provider.start(tmp_path, provider_clients(), ACCOUNTS, port=first.port, key_id="key-2")
    try:
        client, response = sign_in_through(app, second, "chair-mfa")
        assert response.status_code == 302 and signed_in_as(client) == "Chris Chair"
    finally:
        second.stop()


def test_oidc_provider_that_cannot_be_reached_is_said_so(make_app: Callable[..., Flask],
                                                        provider: LocalProvider) -> None:
    closed = provider.settings(issuer="http://127.0.0.1:9", id="test")
    app = make_app((closed,))
    response = app.test_client().get("/sign-in/with/test")
    assert response.status_code == 502 and "Test Council could not be reached" in response.get_data(as_text=True)
    assert events(app, "oidc_sign_in_refused")[0].payload["reason"] == "provider_unreachable"


def test_oidc_unknown_provider_is_not_found(app: Flask) -> None:
    assert app.test_client().get("/sign-in/with/nobody").status_code == 404
    assert app.test_client().get("/sign-in/with/nobody/callback?code=x&state=y").status_code == 404


# -- administrators ---------------------------------------------------------------------------------------------


def test_oidc_administrator_sees_and_unlinks_an_organisation_account_so_a_new_one_can_link(
        app: Flask, provider: LocalProvider) -> None:
    pm_client, _response = sign_in_through(app, provider, "pm")
    with transaction(rt_of(app).sessions) as session:
        pm_id = session.scalars(select(User.id).where(User.email == "pm@demo.example")).one()
    admin = sign_in(app, "admin@demo.example")
    page = admin.get(f"/admin/users/{pm_id}").get_data(as_text=True)
    assert "Linked to their Test Council account" in page
    response = admin.post(f"/admin/users/{pm_id}/identities/unlink", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 302
    assert "Linked to their" not in admin.get(f"/admin/users/{pm_id}").get_data(as_text=True)
    assert signed_in_as(pm_client) is None  # a change to how the account signs in ends its sessions
    assert events(app, "oidc_identities_unlinked")[0].payload == {"user": "pm@demo.example", "identities": 1}
    # The organisation's new identity for the PM now links on its first sign-in.
    client, _response = sign_in_through(app, provider, "pm-successor")
    assert signed_in_as(client) == "Pat Manager"
