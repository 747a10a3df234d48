"""Sessions are held on the server: signing out, the limits, changed credentials and administrators end them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from rapidreview import clock
from rapidreview.config import ConfigError, from_environment
from rapidreview.services.people import users
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.store.db import transaction
from rapidreview.store.models import User, WebSession
from tests.web.conftest import csrf_of, post, sign_in

COOKIE = "rapidreview_session"


def _is_signed_in(client: FlaskClient) -> bool:
    return client.get("/cases").status_code == 200


def _replay(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of ``client``'s cookie."""
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def _user_id(app: Flask, email: str) -> int:
    with transaction(app.extensions["rapidreview"].sessions) as session:
        found = session.query(User.id).filter(User.email == email).scalar()
        assert found is not None
        return int(found)


def test_a_copy_of_the_cookie_opens_nothing_after_signing_out(app: Flask) -> None:
    client = sign_in(app, "pm@demo.example")
    copy = _replay(app, client)
    assert _is_signed_in(copy)
    post(client, "/sign-out")
    assert not _is_signed_in(client)
    response = copy.get("/cases")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_cookie_holds_no_user_id_only_a_token_the_server_knows_by_its_hash(app: Flask) -> None:
    client = sign_in(app, "pm@demo.example")
    with client.session_transaction() as cookie:
        assert "user_id" not in cookie
        token = cookie["sid"]
    with transaction(app.extensions["rapidreview"].sessions) as session:
        ids = [row.id for row in session.query(WebSession)]
    assert token not in ids and users.token_id(token) in ids


def test_the_idle_limit_is_kept_by_the_server(app: Flask, virtual_clock: clock.VirtualClock) -> None:
    client = sign_in(app, "pm@demo.example")
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=29))
    assert _is_signed_in(client)
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=31))
    response = client.get("/cases")
    assert response.status_code == 302
    page = client.get("/sign-in").get_data(as_text=True)
    assert "had not done anything for a while" in page


def test_the_idle_limit_is_a_setting(app: Flask, virtual_clock: clock.VirtualClock) -> None:
    app.config["IDLE_TIMEOUT"] = timedelta(minutes=5)
    client = sign_in(app, "pm@demo.example")
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=6))
    assert not _is_signed_in(client)
    assert from_environment({"RAPIDREVIEW_SESSION_IDLE_MINUTES": "45"}).session_idle_minutes == 45
    with pytest.raises(ConfigError, match="RAPIDREVIEW_SESSION_IDLE_MINUTES"):
        from_environment({"RAPIDREVIEW_SESSION_IDLE_MINUTES": "half an hour"})


def test_the_absolute_limit_does_not_restart_with_every_request(app: Flask, virtual_clock: clock.VirtualClock) -> None:
    client = sign_in(app, "pm@demo.example")
    for _ in range(29):  # busy all day: a request every 20 minutes for 9 h 40 min
        virtual_clock.set(virtual_clock.now() + timedelta(minutes=20))
        assert _is_signed_in(client)
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=21))
    assert not _is_signed_in(client)
    assert "signed in for a whole working day" in client.get("/sign-in").get_data(as_text=True)


def test_changing_your_password_ends_your_other_sessions_but_not_this_one(app: Flask) -> None:
    laptop = sign_in(app, "pm@demo.example")
    phone = sign_in(app, "pm@demo.example")
    response = post(laptop, "/account/password", {"current": DEMO_PASSWORD, "new": "a much longer passphrase 42",
                                                  "confirm": "a much longer passphrase 42"})
    assert response.status_code == 302
    assert _is_signed_in(laptop)
    assert not _is_signed_in(phone)
    assert "password or your authenticator app was changed" in phone.get("/sign-in").get_data(as_text=True)


def test_deactivating_an_account_or_resetting_its_authenticator_signs_it_out(app: Flask) -> None:
    rt = app.extensions["rapidreview"]
    lead = sign_in(app, "la.lead@demo.example")
    users.reset_two_factor(rt, _user_id(app, "la.lead@demo.example"), actor="admin@demo.example")
    assert not _is_signed_in(lead)
    officer = sign_in(app, "la.officer@demo.example")
    copy = _replay(app, officer)
    users.set_active(rt, _user_id(app, "la.officer@demo.example"), False, actor="admin@demo.example")
    assert not _is_signed_in(copy)


def test_an_administrator_sees_a_persons_sessions_and_ends_them(app: Flask) -> None:
    first, second = sign_in(app, "chair@demo.example"), sign_in(app, "chair@demo.example")
    admin = sign_in(app, "admin@demo.example")
    chair_id = _user_id(app, "chair@demo.example")
    page = admin.get(f"/admin/users/{chair_id}").get_data(as_text=True)
    assert page.count('name="session"') == 2
    token = csrf_of(page)
    response = admin.post(f"/admin/users/{chair_id}/sessions/end", data={"csrf_token": token})
    assert response.status_code == 302
    assert not _is_signed_in(first) and not _is_signed_in(second)
    assert "signed out by an administrator" in first.get("/sign-in").get_data(as_text=True)
    assert "They are not signed in anywhere" in admin.get(f"/admin/users/{chair_id}").get_data(as_text=True)
    assert _is_signed_in(admin)


def test_only_administrators_end_sessions(app: Flask) -> None:
    chair = sign_in(app, "chair@demo.example")
    manager = sign_in(app, "pm@demo.example")
    response = post(manager, f"/admin/users/{_user_id(app, 'chair@demo.example')}/sessions/end")
    assert response.status_code == 403
    assert _is_signed_in(chair)


def test_a_form_with_a_forged_csrf_token_is_refused_with_a_plain_message(app: Flask) -> None:
    client = sign_in(app, "pm@demo.example")
    response = client.post("/sign-out", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert "Your form was out of date" in response.get_data(as_text=True)
    assert _is_signed_in(client)
