"""Account recovery: an administrator sets a temporary password or resets the authenticator app; people
change their own password. Each change ends the account's other sessions and is audited."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from rapidreview import clock
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, User
from rapidreview.web import create_app
from tests.test_security_sign_in import TotpConfig, try_sign_in
from tests.web.conftest import csrf_of, post, sign_in

NEW_PASSWORD = "lantern orchard velvet compass"
TEMPORARY = "harbour meadow pebble kettle"


def account(app: Flask, email: str) -> User:
    with transaction(app.extensions["rapidreview"].sessions) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def audit_types(app: Flask) -> list[str]:
    with transaction(app.extensions["rapidreview"].sessions) as session:
        return list(session.scalars(select(AuditEvent.type).where(AuditEvent.case_id.is_(None))
                                    .order_by(AuditEvent.id)))


def change(client: FlaskClient, current: str, new: str, confirm: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get("/account/password").get_data(as_text=True)
    return client.post("/account/password", data={"csrf_token": csrf_of(page), "current": current, "new": new,
                                                   "confirm": new if confirm is None else confirm})


def test_a_temporary_password_signs_the_person_out_and_makes_them_choose_their_own(
        app: Flask, virtual_clock: clock.VirtualClock) -> None:
    pm_elsewhere = sign_in(app, "pm@demo.example")
    virtual_clock.set(virtual_clock.now() + timedelta(seconds=5))
    admin = sign_in(app, "admin@demo.example")
    pm = account(app, "pm@demo.example")
    page = admin.get(f"/admin/users/{pm.id}").get_data(as_text=True)
    assert "They have forgotten their password" in page and "Set up" not in page

    weak = admin.post(f"/admin/users/{pm.id}/password", data={"csrf_token": csrf_of(page), "password": "short"})
    assert weak.status_code == 400 and "12 characters or more" in weak.get_data(as_text=True)
    done = admin.post(f"/admin/users/{pm.id}/password", data={"csrf_token": csrf_of(page), "password": TEMPORARY})
    assert done.status_code == 302

    # The session that began before the change has ended, and says why.
    gone = pm_elsewhere.get("/tasks")
    assert gone.status_code == 302 and "/sign-in" in gone.headers["Location"]
    assert "your password or your authenticator app was changed" in pm_elsewhere.get("/sign-in").get_data(as_text=True)
    assert try_sign_in(app.test_client(), "pm@demo.example", DEMO_PASSWORD).status_code == 400

    client = app.test_client()
    assert try_sign_in(client, "pm@demo.example", TEMPORARY).status_code == 302
    for path in ("/tasks", "/cases", "/cases/new"):  # nothing but choosing a password
        assert client.get(path).headers["Location"].endswith("/account/password"), path
    assert "gave you a temporary password" in client.get("/account/password").get_data(as_text=True)
    for current, new, confirm, message in ((TEMPORARY, NEW_PASSWORD, "something else", "Enter the same new password twice"),
                                           ("not my password", NEW_PASSWORD, None, "current password is not correct"),
                                           (TEMPORARY, "password1234", None, "less common password"),
                                           (TEMPORARY, TEMPORARY, None, "different from your current one")):
        refused = change(client, current, new, confirm)
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), message
    assert change(client, TEMPORARY, NEW_PASSWORD).status_code == 302
    assert client.get("/tasks").status_code == 200  # the changing session carries on
    assert account(app, "pm@demo.example").must_change_password is False
    assert try_sign_in(app.test_client(), "pm@demo.example", NEW_PASSWORD).status_code == 302
    types = audit_types(app)
    assert "password_reset" in types and "password_changed" in types and "password_change_failed" in types


def test_changing_your_own_password_ends_your_other_sessions(app: Flask, virtual_clock: clock.VirtualClock) -> None:
    elsewhere = sign_in(app, "la.lead@demo.example")
    virtual_clock.set(virtual_clock.now() + timedelta(seconds=5))
    here = sign_in(app, "la.lead@demo.example")
    assert 'href="/account/password"' in here.get("/account").get_data(as_text=True)
    assert change(here, DEMO_PASSWORD, NEW_PASSWORD).status_code == 302
    assert here.get("/tasks").status_code == 200
    assert elsewhere.get("/tasks").status_code == 302


def test_a_reset_authenticator_is_set_up_again_at_the_next_sign_in(app: Flask, virtual_clock: clock.VirtualClock) -> None:
    totp_app = create_app(TotpConfig, runtime=app.extensions["rapidreview"])
    client = totp_app.test_client()
    try_sign_in(client, "pm@demo.example", DEMO_PASSWORD)
    page = client.get("/sign-in/code").get_data(as_text=True)
    first_key = page.split('id="totp-key">')[1].split("<")[0].replace(" ", "")
    client.post("/sign-in/code", data={"code": pyotp.TOTP(first_key).at(clock.now()), "csrf_token": csrf_of(page)})
    assert client.get("/tasks").status_code == 200
    assert account(app, "pm@demo.example").totp_confirmed_at is not None

    virtual_clock.set(virtual_clock.now() + timedelta(seconds=31))
    admin = sign_in(app, "admin@demo.example")
    pm_id = account(app, "pm@demo.example").id
    assert "Set up" in admin.get(f"/admin/users/{pm_id}").get_data(as_text=True)
    assert post(admin, f"/admin/users/{pm_id}/two-factor", page=f"/admin/users/{pm_id}").status_code == 302
    assert client.get("/tasks").status_code == 302  # signed out

    again = totp_app.test_client()
    try_sign_in(again, "pm@demo.example", DEMO_PASSWORD)
    page = again.get("/sign-in/code").get_data(as_text=True)
    new_key = page.split('id="totp-key">')[1].split("<")[0].replace(" ", "")  # enrolment again, with a new key
    assert new_key != first_key
    assert "totp_reset" in audit_types(app)


def test_an_administrator_cannot_reach_another_partnerships_or_a_missing_account(app: Flask) -> None:
    admin = sign_in(app, "admin@demo.example")
    assert admin.get("/admin/users/999999").status_code == 404
    assert post(admin, "/admin/users/999999/two-factor", page="/admin/users").status_code == 404
    assert sign_in(app, "pm@demo.example").get(f"/admin/users/{account(app, 'pm@demo.example').id}").status_code == 403
