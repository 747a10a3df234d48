"""A process owner tries a candidate on a scenario file of their own, beside the active version; the result is
shown but does not count as one of the bundled scenarios' tries."""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from rapidreview.services.definitions.uploaded_scenario import MAX_SCENARIO_BYTES
from rapidreview.store.db import transaction
from rapidreview.store.models import VersionTrial
from tests.web.conftest import csrf_of, sign_in
from tests.web.test_versions import CALLED, QUICK, numbers, upload

SCENARIO = (QUICK / "not_commissioned.json").read_bytes()


def candidate(app: Flask) -> FlaskClient:
    """Version 2 deployed beside the active version 1, and the process owner signed in."""
    app.config["PROCESS_LINT"] = False
    owner = sign_in(app, "owner@demo.example")
    upload(owner, {"information_sharing.bpmn": CALLED.read_bytes().replace(b"day(7, ", b"day(6, ")})
    assert numbers(app) == [(2, False), (1, True)]
    return owner


def try_file(client: FlaskClient, name: str, content: bytes, page: str = "/process/versions/2"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(page).get_data(as_text=True))
    data = {"csrf_token": token, "scenario": "not_commissioned", "scenario_file": (io.BytesIO(content), name)}
    return client.post("/process/versions/2/try", data=data, content_type="multipart/form-data")


def trials(app: Flask) -> int:
    with transaction(app.extensions["rapidreview"].sessions) as session:
        return int(session.scalar(select(func.count()).select_from(VersionTrial)) or 0)


def test_an_uploaded_scenario_runs_on_both_versions_and_is_not_kept_as_a_try(app: Flask) -> None:
    owner = candidate(app)
    before = trials(app)
    renamed = json.loads(SCENARIO)
    renamed["name"] = "my own question"
    response = try_file(owner, "my case.json", json.dumps(renamed).encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Active version 1" in page and page.count("Status: <strong>not_commissioned</strong>") == 2
    assert "Scenario my case.json (uploaded) on version 2" in page
    assert "this result is not kept and does not count towards making version 2 active" in page
    assert trials(app) == before


NOT_JSON = b"name: a scenario written in YAML\nnotification:\n  reference: RR-1\n"
WRONG_FIELD = json.dumps({**json.loads(SCENARIO), "colour": "blue"}).encode()
NO_NOTIFICATION = json.dumps({"name": "nothing", "actions": []}).encode()
TOO_BIG = SCENARIO.rstrip()[:-1] + b', "description": "' + b"x" * MAX_SCENARIO_BYTES + b'"}'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (NOT_JSON, "case.json is not a scenario in JSON: line 1, column 1: Expecting value"),
        (WRONG_FIELD, "case.json: unknown field &#39;colour&#39; (allowed: actions, agencies, description, name"),
        (NO_NOTIFICATION, "case.json: notification: is required"),
        (TOO_BIG, f"case.json is {len(TOO_BIG) // 1024} KB: a scenario file must be smaller than 256 KB"),
        (b"", "case.json is empty: choose a scenario file (.json)"),
        (b"\xff\xfe\x00binary", "case.json is not a text file"),
    ],
    ids=["not-json", "unknown-field", "missing-field", "too-big", "empty", "not-text"],
)
def test_a_wrong_scenario_file_gets_a_message_on_the_field_and_nothing_changes(
    app: Flask, content: bytes, message: str
) -> None:
    owner = candidate(app)
    before = trials(app)
    response = try_file(owner, "case.json", content)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "govuk-error-summary" in page and 'href="#scenario_file"' in page
    assert 'id="scenario_file-error"' in page and "govuk-file-upload--error" in page
    assert page.count(message) == 2, page  # in the summary and beside the field
    assert numbers(app) == [(2, False), (1, True)] and trials(app) == before


def test_only_process_owners_may_try_a_scenario_file(app: Flask) -> None:
    candidate(app)
    before = trials(app)
    admin = sign_in(app, "admin@demo.example")  # may read the process pages, not change them
    assert 'name="scenario_file"' not in admin.get("/process/versions/2").get_data(as_text=True)
    assert try_file(admin, "case.json", SCENARIO).status_code == 403
    lead = sign_in(app, "la.lead@demo.example")
    assert try_file(lead, "case.json", SCENARIO, page="/tasks").status_code == 403
    assert trials(app) == before


def test_a_scenario_file_naming_a_task_the_process_lacks_says_so_on_the_field(app: Flask) -> None:
    owner = candidate(app)
    before = trials(app)
    typo = json.loads(SCENARIO)
    typo["actions"] = [{**typo["actions"][0], "task": "record_criteria_veiw"}]
    response = try_file(owner, "typo.json", json.dumps(typo).encode())
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'href="#scenario_file"' in page and 'id="scenario_file-error"' in page
    failure = "The scenario failed on this version: typo.json: actions[0].task: &#39;record_criteria_veiw&#39;"
    assert f"{failure} is not a user task" in page, page
    assert trials(app) == before
