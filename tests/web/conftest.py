"""Web fixtures: an app on the test database with demo users, and signed-in clients."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from jinja2 import Template

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


# No ORM row reaches a template: services hand views plain values and dataclasses, so a template can never
# load more of the database (lazily, outside the service's transaction) than the service decided to show.
_FLASK_CONTEXT = frozenset({"g", "request", "session", "config", "url_for", "get_flashed_messages"})


def _orm_rows(value: object, where: str, depth: int = 0) -> Iterator[str]:
    if depth > 4 or isinstance(value, str | bytes | int | float | bool | type(None)):
        return
    if hasattr(type(value), "__mapper__"):
        yield f"{where}: {type(value).__name__}"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _orm_rows(item, f"{where}[{key!r}]", depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            yield from _orm_rows(item, f"{where}[{index}]", depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            yield from _orm_rows(getattr(value, item.name), f"{where}.{item.name}", depth + 1)


@pytest.fixture(autouse=True)
def no_orm_rows_in_templates() -> Iterator[None]:
    found: list[str] = []

    def check(sender: Flask, template: Template, context: dict[str, Any], **_: Any) -> None:
        for key, value in context.items():
            if key not in _FLASK_CONTEXT:
                found.extend(f"{template.name}: {row}" for row in _orm_rows(value, key))

    template_rendered.connect(check)
    try:
        yield
    finally:
        template_rendered.disconnect(check)
    assert found == [], "ORM rows reached templates"
