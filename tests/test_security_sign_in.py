"""Sign-in: password rules, lockout per account and per IP address, and the TOTP second factor."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from rapidreview import clock
from rapidreview.services.people import users
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.web import create_app
from rapidreview.web.config import TestConfig
from tests.web.conftest import csrf_of, sign_in


class TotpConfig(TestConfig):
    TOTP_REQUIRED = True


def try_sign_in(client: FlaskClient, email: str, password: str, ip: str = "198.51.100.7"):  # type: ignore[no-untyped-def]
    page = client.get("/sign-in").get_data(as_text=True)
    return client.post("/sign-in", data={"email": email, "password": password, "csrf_token": csrf_of(page)},
                       environ_base={"REMOTE_ADDR": ip})


@pytest.mark.parametrize("password, problem", [
    ("short pass", "12 characters or more"),
    ("password1234", "less common password"),
    ("aaaaaaaaaaaaaaaa", "less common password"),
    ("PassWord1234", "less common password"),
    ("x" * 300, "256 characters or fewer"),
])
def test_weak_passwords_are_refused(password: str, problem: str) -> None:
    assert problem in (users.password_problem(password) or "")


def test_a_long_uncommon_password_with_no_composition_rules_is_accepted() -> None:
    assert users.password_problem(DEMO_PASSWORD) is None
    assert users.password_problem("correct horse battery staple on tuesday") is None


def test_an_account_locks_after_repeated_failures_and_unlocks_after_cooling_off(
        app: Flask, virtual_clock: clock.VirtualClock) -> None:
    client = app.test_client()
    for _ in range(app.config["SIGN_IN_ACCOUNT_FAILURES"]):
        assert try_sign_in(client, "pm@demo.example", "wrong password!").status_code == 400
    locked = try_sign_in(client, "pm@demo.example", DEMO_PASSWORD)
    assert locked.status_code == 400 and "too many failed attempts" in locked.get_data(as_text=True)
    # Another IP address is refused as well: the lock is on the account.
    assert try_sign_in(app.test_client(), "pm@demo.example", DEMO_PASSWORD, ip="192.0.2.1").status_code == 400
    # Other accounts are not affected.
    assert try_sign_in(app.test_client(), "admin@demo.example", DEMO_PASSWORD).status_code == 302
    virtual_clock.set(virtual_clock.now() + app.config["SIGN_IN_COOLING_OFF"] + timedelta(seconds=1))
    assert try_sign_in(client, "pm@demo.example", DEMO_PASSWORD).status_code == 302


def test_one_ip_address_trying_many_accounts_is_locked(app: Flask) -> None:
    app.config["SIGN_IN_IP_FAILURES"] = 3
    client = app.test_client()
    for n in range(3):
        try_sign_in(client, f"nobody{n}@demo.example", "wrong password!", ip="203.0.113.9")
    response = try_sign_in(client, "admin@demo.example", DEMO_PASSWORD, ip="203.0.113.9")
    assert "too many failed attempts" in response.get_data(as_text=True)
    assert try_sign_in(app.test_client(), "admin@demo.example", DEMO_PASSWORD, ip="203.0.113.10").status_code == 302


def test_an_unknown_account_gets_the_same_answer_as_a_wrong_password(app: Flask) -> None:
    unknown = try_sign_in(app.test_client(), "nobody@demo.example", "wrong password!")
    wrong = try_sign_in(app.test_client(), "pm@demo.example", "wrong password!")
    assert unknown.status_code == wrong.status_code == 400
    assert "Enter a correct email address and password" in unknown.get_data(as_text=True)


def test_production_requires_a_second_factor_and_test_and_development_may_not() -> None:
    from rapidreview.web.config import CONFIGS

    assert CONFIGS["production"].TOTP_REQUIRED is True
    assert CONFIGS["test"].TOTP_REQUIRED is False


def test_first_sign_in_enrols_totp_with_a_typed_key_then_asks_for_codes(app: Flask, virtual_clock: clock.VirtualClock) -> None:
    totp_app = create_app(TotpConfig, runtime=app.extensions["rapidreview"])
    client = totp_app.test_client()
    response = try_sign_in(client, "pm@demo.example", DEMO_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in/code")
    assert client.get("/tasks").status_code == 302  # not signed in yet
    page = client.get("/sign-in/code").get_data(as_text=True)
    assert 'id="totp-qr"' in page and "otpauth://totp/" in page
    secret = page.split('id="totp-key">')[1].split("<")[0].replace(" ", "")
    totp = pyotp.TOTP(secret)

    wrong = client.post("/sign-in/code", data={"code": "000000", "csrf_token": csrf_of(page)})
    assert wrong.status_code == 400 and "6-digit code" in wrong.get_data(as_text=True)
    ok = client.post("/sign-in/code", data={"code": totp.at(clock.now()), "csrf_token": csrf_of(page)})
    assert ok.status_code == 302
    assert client.get("/tasks").status_code == 200

    # Next time: no key shown, a code asked for; the code just used cannot be replayed.
    virtual_clock.set(virtual_clock.now() + timedelta(seconds=31))
    second = totp_app.test_client()
    try_sign_in(second, "pm@demo.example", DEMO_PASSWORD)
    page = second.get("/sign-in/code").get_data(as_text=True)
    assert "totp-key" not in page
    assert second.post("/sign-in/code", data={"code": totp.at(clock.now()), "csrf_token": csrf_of(page)}).status_code == 302


def test_the_code_step_expires_and_cannot_be_reached_without_a_password(app: Flask,
                                                                     virtual_clock: clock.VirtualClock) -> None:
    totp_app = create_app(TotpConfig, runtime=app.extensions["rapidreview"])
    client = totp_app.test_client()
    assert client.get("/sign-in/code").status_code == 302
    try_sign_in(client, "pm@demo.example", DEMO_PASSWORD)
    # Setting up the app for the first time has half an hour (finding the app, scanning, typing the key)...
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=29))
    assert client.get("/sign-in/code").status_code == 200
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=2))
    assert client.get("/sign-in/code").headers["Location"].endswith("/sign-in")


def test_once_set_up_the_code_step_lasts_five_minutes(app: Flask, virtual_clock: clock.VirtualClock) -> None:
    totp_app = create_app(TotpConfig, runtime=app.extensions["rapidreview"])
    client = totp_app.test_client()
    try_sign_in(client, "pm@demo.example", DEMO_PASSWORD)
    page = client.get("/sign-in/code").get_data(as_text=True)
    totp = pyotp.TOTP(page.split('id="totp-key">')[1].split("<")[0].replace(" ", ""))
    client.post("/sign-in/code", data={"code": totp.at(clock.now()), "csrf_token": csrf_of(page)})
    virtual_clock.set(virtual_clock.now() + timedelta(seconds=31))
    later = totp_app.test_client()
    try_sign_in(later, "pm@demo.example", DEMO_PASSWORD)
    virtual_clock.set(virtual_clock.now() + timedelta(minutes=6))
    assert later.get("/sign-in/code").headers["Location"].endswith("/sign-in")


def test_the_set_up_page_shows_a_qr_code_and_the_key_in_groups_of_four(app: Flask) -> None:
    totp_app = create_app(TotpConfig, runtime=app.extensions["rapidreview"])
    client = totp_app.test_client()
    try_sign_in(client, "pm@demo.example", DEMO_PASSWORD)
    page = client.get("/sign-in/code").get_data(as_text=True)
    key = page.split('id="totp-key">')[1].split("<")[0]
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})+", key) and len(key.replace(" ", "")) == 32
    image = re.search(r'<img class="app-qr-code" id="totp-qr" src="data:image/svg\+xml;charset=utf-8,([^"]+)"[^>]*alt="([^"]+)"', page)
    assert image is not None and "QR code that adds Rapid Review" in image.group(2)
    svg = unquote(image.group(1))
    assert svg.startswith("<svg") and "<path" in svg
    assert "You have 30 minutes to do this." in page


def test_the_demo_sign_in_helper_still_works_without_totp(app: Flask) -> None:
    assert sign_in(app, "pm@demo.example").get("/tasks").status_code == 200


def test_security_headers_and_cookie_flags(app: Flask) -> None:
    response = app.test_client().get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'sha256-" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    from rapidreview.web.config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.SESSION_COOKIE_HTTPONLY
    assert ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"
    assert ProductionConfig.MAX_CONTENT_LENGTH <= 20 * 1024 * 1024
