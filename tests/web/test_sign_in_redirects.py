"""After signing in, people go back where they were on this site, and never to another one."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask import Flask

from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.web.views.auth import same_site_path
from tests.web.conftest import csrf_of

# Known ways to turn a "local path" check into a trip to another site.
BYPASSES = [
    "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r\n/evil.example", " //evil.example", "/\x00/evil.example", "https://evil.example",
    "http:/evil.example", "javascript:alert(1)", "//evil.example/%2F..", "/\\/evil.example", "\t//evil.example",
    "evil.example", "data:text/html,hi", "/\u0085/evil.example", "/\x7f/evil.example",
]


@pytest.mark.parametrize("target", BYPASSES)
def test_a_path_that_a_browser_would_read_as_another_site_is_refused(target: str) -> None:
    assert same_site_path(target) is None


@pytest.mark.parametrize("target", ["/cases", "/cases/RR-2026-014", "/tasks/3?tab=history", "/cases/RR%2F1"])
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert same_site_path(target) == target


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%5Cevil.example", "//evil.example", "https://evil.example"])
def test_signing_in_with_a_crafted_next_ends_on_this_site(app: Flask, target: str) -> None:
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    # The query string as an attacker would send it, already percent-encoded where it says so.
    url = "/sign-in?next=" + (target if "%" in target else quote(target, safe=""))
    response = client.post(url, data={"email": "pm@demo.example", "password": DEMO_PASSWORD,
                                      "csrf_token": csrf_of(page)})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location == "/tasks", location


def test_signing_in_returns_to_the_page_asked_for(app: Flask) -> None:
    client = app.test_client()
    first = client.get("/cases?status=open")
    assert first.status_code == 302
    sign_in_url = first.headers["Location"]
    page = client.get(sign_in_url).get_data(as_text=True)
    response = client.post(sign_in_url, data={"email": "pm@demo.example", "password": DEMO_PASSWORD,
                                              "csrf_token": csrf_of(page)})
    assert response.headers["Location"] == "/cases?status=open"
