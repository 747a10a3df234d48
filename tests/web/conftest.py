"""Web fixtures: an app on the test database with demo users, and signed-in clients."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from rapidreview.services.people.demo import DEMO_PASSWORD
from tests.conftest import START  # noqa: F401 - tests import it from here


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    response = client.post("/sign-in", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": csrf_of(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None, page: str = "/tasks"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page).get_data(as_text=True))
    return client.post(path, data={**(data or {}), "csrf_token": token})
