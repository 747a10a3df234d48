"""Behind a reverse proxy: the client's address comes from X-Forwarded-For only when RAPIDREVIEW_TRUSTED_PROXIES
says how many proxies to trust, so one person's failed sign-ins lock out that person's address, not everyone
behind the proxy, and a client cannot choose its own address by sending the header itself."""

from __future__ import annotations

import pytest
from flask import Flask

from rapidreview.config import ConfigError
from rapidreview.runtime import Runtime
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.web import create_app
from rapidreview.web.config import TestConfig
from rapidreview.web.proxy import trusted_proxies
from tests.web.conftest import csrf_of

LOCKED = "too many failed attempts"


def _app(runtime: Runtime, proxies: int) -> Flask:
    class BehindProxy(TestConfig):
        SIGN_IN_IP_FAILURES = 3
        SIGN_IN_ACCOUNT_FAILURES = 100  # only the address lock is under test
        TRUSTED_PROXIES = proxies

    return create_app(BehindProxy, runtime=runtime)


def _sign_in(app: Flask, email: str, password: str, forwarded_for: str) -> str:
    client = app.test_client()
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"}
    token = csrf_of(client.get("/sign-in", headers=headers).get_data(as_text=True))
    # Over HTTPS the CSRF check also wants the page's own origin as Referer, which browsers send (same-origin policy).
    headers["Referer"] = "https://localhost/sign-in"
    response = client.post("/sign-in", headers=headers,
                           data={"email": email, "password": password, "csrf_token": token})
    return "signed in" if response.status_code == 302 else response.get_data(as_text=True)


def _fail_three_times(app: Flask, forwarded_for: str) -> None:
    for n in range(3):
        assert LOCKED not in _sign_in(app, f"nobody{n}@demo.example", "wrong", forwarded_for)


def test_with_one_trusted_proxy_failures_lock_the_forwarded_address_only(app: Flask, runtime: Runtime) -> None:
    behind = _app(runtime, 1)
    _fail_three_times(behind, "203.0.113.5")
    assert LOCKED in _sign_in(behind, "pm@demo.example", DEMO_PASSWORD, "203.0.113.5")
    assert _sign_in(behind, "pm@demo.example", DEMO_PASSWORD, "198.51.100.7") == "signed in"
    # The proxy appends the real address; whatever the client put before it is not believed.
    assert LOCKED in _sign_in(behind, "pm@demo.example", DEMO_PASSWORD, "198.51.100.7, 203.0.113.5")


def test_without_trusted_proxies_the_header_is_ignored(app: Flask, runtime: Runtime) -> None:
    direct = _app(runtime, 0)
    _fail_three_times(direct, "203.0.113.5")
    # Every request came from the test client's own address, which is now locked whatever the header says.
    assert LOCKED in _sign_in(direct, "pm@demo.example", DEMO_PASSWORD, "198.51.100.7")


def test_a_bad_number_of_proxies_is_refused_naming_the_setting() -> None:
    assert trusted_proxies({}) == 0 and trusted_proxies({"RAPIDREVIEW_TRUSTED_PROXIES": "2"}) == 2
    for bad in ("yes", "-1", "10"):
        with pytest.raises(ConfigError, match="RAPIDREVIEW_TRUSTED_PROXIES"):
            trusted_proxies({"RAPIDREVIEW_TRUSTED_PROXIES": bad})
