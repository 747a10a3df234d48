"""The form editor: a process owner changes a form's questions with a live preview, renames a form (its
tasks follow), and a form whose example answer does not fit, or which is not JSON, is refused."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient

from rapidreview.config import PROJECT_ROOT
from rapidreview.services.definitions import process_versions as versions
from rapidreview.store.db import transaction
from tests.web.conftest import csrf_of, sign_in

FORM = "complete_information_sharing_form.schema.json"
SCHEMA = (PROJECT_ROOT / "forms" / FORM).read_text()
LAYOUT = (PROJECT_ROOT / "forms" / "complete_information_sharing_form.uischema.json").read_text()


def files_of(app: Flask) -> dict[int, dict[str, bytes]]:
    with transaction(app.extensions["rapidreview"].sessions) as session:
        return {v.number: versions.version_files(v) for v in versions.list_versions(session)}


def save(client: FlaskClient, name: str, new_name: str, schema: str, layout: str = LAYOUT):  # type: ignore[no-untyped-def]
    page = client.get(f"/process/versions/1/forms/{name}/edit")
    assert page.status_code == 200
    return client.post(
        f"/process/versions/1/forms/{name}/edit",
        data={
            "csrf_token": csrf_of(page.get_data(as_text=True)),
            "form_name": new_name,
            "schema": schema,
            "uischema": layout,
            "note": "Form edited",
        },
    )


def preview(client: FlaskClient, schema: str, name: str = FORM) -> dict[str, object]:
    token = csrf_of(client.get(f"/process/versions/1/forms/{FORM}/edit").get_data(as_text=True))
    response = client.post(
        "/process/versions/1/forms/preview",
        json={"name": name, "schema": schema, "uischema": LAYOUT},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    return dict(response.get_json())


def test_the_preview_draws_the_form_as_typed_and_says_whether_the_example_fits(app: Flask) -> None:
    owner = sign_in(app, "owner@demo.example")
    page = owner.get(f"/process/versions/1/forms/{FORM}/edit").get_data(as_text=True)
    assert "The example answer fits the form." in page and "complete_information_sharing_form" in page

    schema = json.loads(SCHEMA)
    schema["title"] = "Information from your agency"
    answer = preview(owner, json.dumps(schema))
    assert answer["problems"] == [] and "Information from your agency" in str(answer["html"])

    schema["required"] = [*schema.get("required", []), "a_new_question"]
    schema["properties"]["a_new_question"] = {"type": "string", "title": "A new question"}
    answer = preview(owner, json.dumps(schema))
    assert "A new question" in str(answer["html"])
    assert any("example answer does not fit" in p and "a_new_question" in p for p in answer["problems"])  # type: ignore[attr-defined]

    answer = preview(owner, SCHEMA.replace('"title"', '"title":', 1))
    assert answer["html"] == "" and "not valid JSON" in str(answer["problems"])


def test_a_changed_form_is_saved_as_a_checked_candidate(app: Flask) -> None:
    app.config["PROCESS_LINT"] = False
    owner = sign_in(app, "owner@demo.example")
    schema = json.loads(SCHEMA)
    schema["title"] = "Information from your agency"
    response = save(owner, FORM, FORM, json.dumps(schema))
    assert response.status_code == 302 and response.headers["Location"].endswith("/process/versions/2")
    stored = files_of(app)
    assert json.loads(stored[2][f"forms/{FORM}"])["title"] == "Information from your agency"
    assert json.loads(stored[1][f"forms/{FORM}"])["title"] != "Information from your agency"
    assert stored[2]["bpmn/information_sharing.bpmn"] == stored[1]["bpmn/information_sharing.bpmn"]


def test_renaming_a_form_renames_its_layout_and_updates_the_tasks_that_use_it(app: Flask) -> None:
    app.config["PROCESS_LINT"] = False
    owner = sign_in(app, "owner@demo.example")
    response = save(owner, FORM, "agency_information.schema.json", SCHEMA)
    assert response.status_code == 302
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 task uses the new name" in page
    stored = files_of(app)[2]
    assert (
        f"forms/{FORM}" not in stored
        and "forms/complete_information_sharing_form.uischema.json" not in stored
    )
    assert (
        json.loads(stored["forms/agency_information.schema.json"])["$id"] == "agency_information.schema.json"
    )
    assert "forms/agency_information.uischema.json" in stored
    process = stored["bpmn/information_sharing.bpmn"].decode()
    assert 'name="formJsonSchemaFilename" value="agency_information.schema.json"' in process
    assert FORM not in process


def test_a_form_whose_example_does_not_fit_is_refused_and_nothing_is_stored(app: Flask) -> None:
    app.config["PROCESS_LINT"] = False
    owner = sign_in(app, "owner@demo.example")
    schema = json.loads(SCHEMA)
    schema["required"] = [*schema.get("required", []), "a_new_question"]
    schema["properties"]["a_new_question"] = {"type": "string", "title": "A new question"}
    response = save(owner, FORM, FORM, json.dumps(schema))
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "govuk-error-summary" in page
    assert "the example answer does not fit the form" in page and "a_new_question" in page
    # What the owner typed is still there to correct.
    assert "A new question" in page
    assert list(files_of(app)) == [1]

    response = save(owner, FORM, "Bad Name.json", SCHEMA)
    assert response.status_code == 400 and "lower-case letters" in response.get_data(as_text=True)
    assert list(files_of(app)) == [1]
