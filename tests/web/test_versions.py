"""The process pages: a process owner deploys a candidate, sees what changed, tries it, activates it, rolls back."""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient

from rapidreview.config import PROJECT_ROOT
from rapidreview.services.definitions import process_versions as versions
from rapidreview.store.db import transaction
from tests.web.conftest import csrf_of, post, sign_in

CALLED = PROJECT_ROOT / "bpmn" / "information_sharing.bpmn"
QUICK = PROJECT_ROOT / "tests" / "fixtures" / "quick_scenarios"  # one short scenario, so tries stay quick


def tried_and_activated(app: Flask, client: FlaskClient, number: int, note: str = ""):  # type: ignore[no-untyped-def]
    """What a process owner does: try the candidate on every scenario, then confirm."""
    app.config["PROCESS_SCENARIOS"] = str(QUICK)
    post(client, f"/process/versions/{number}/try-all", page=f"/process/versions/{number}")
    return post(client, f"/process/versions/{number}/activate", {"note": note}, page=f"/process/versions/{number}")


def upload(client: FlaskClient, files: dict[str, bytes], note: str = ""):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get("/process/deploy").get_data(as_text=True))
    data = {"csrf_token": token, "note": note, "files": [(io.BytesIO(c), name) for name, c in files.items()]}
    return client.post("/process/deploy", data=data, content_type="multipart/form-data")


def numbers(app: Flask) -> list[tuple[int, bool]]:
    with transaction(app.extensions["rapidreview"].sessions) as session:
        return [(v.number, v.active) for v in versions.list_versions(session)]


def test_only_process_owners_and_admins_see_the_process_pages(app: Flask) -> None:
    assert 'href="/process"' in sign_in(app, "admin@demo.example").get("/tasks").get_data(as_text=True)
    assert sign_in(app, "admin@demo.example").get("/process/deploy").status_code == 403
    lead = sign_in(app, "la.lead@demo.example")
    assert lead.get("/process").status_code == 403 and 'href="/process"' not in lead.get("/tasks").get_data(as_text=True)


def test_an_invalid_upload_is_refused_with_an_error_summary_and_nothing_is_stored(app: Flask) -> None:
    app.config["PROCESS_LINT"] = False
    owner = sign_in(app, "owner@demo.example")
    broken = CALLED.read_bytes().replace(b'name="Agency manager"', b'name="Agency boss"')
    response = upload(owner, {"information_sharing.bpmn": broken})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "govuk-error-summary" in page
    assert "lane_agency_manager (Agency boss): the lane name" in page
    assert numbers(app) == [(1, True)]


def test_a_candidate_is_deployed_compared_activated_and_rolled_back(app: Flask) -> None:
    app.config["PROCESS_LINT"] = False
    owner = sign_in(app, "owner@demo.example")
    day_6 = CALLED.read_bytes().replace(b"day(7, ", b"day(6, ")
    response = upload(owner, {"information_sharing.bpmn": day_6}, note="Information sharing due on Day 6")
    assert response.status_code == 302 and response.headers["Location"].endswith("/process/versions/2")
    assert numbers(app) == [(2, False), (1, True)]

    page = owner.get("/process/versions/2").get_data(as_text=True)
    assert "What changed compared with version 1 (the active version)" in page
    assert re.search(r"<code>information_sharing_escalation</code> \(Day 7, 17:00: escalate\)", page), page
    assert "diagram-data" in page and "record_criteria_view.schema.json" in page

    assert tried_and_activated(app, owner, 2).status_code == 302
    assert numbers(app) == [(2, True), (1, False)]
    assert "again (roll back)" in owner.get("/process/versions/1").get_data(as_text=True)
    refused = post(owner, "/process/versions/1/activate", page="/process")
    assert refused.status_code == 400 and "Say why you are going back to version 1" in refused.get_data(as_text=True)
    assert numbers(app) == [(2, True), (1, False)]
    assert post(owner, "/process/versions/1/activate", {"note": "Day 6 withdrawn"}, page="/process").status_code == 302
    assert numbers(app) == [(2, False), (1, True)]


def test_a_scenario_runs_on_the_candidate_and_the_active_version_side_by_side(app: Flask) -> None:
    app.config["PROCESS_LINT"] = False
    owner = sign_in(app, "owner@demo.example")
    upload(owner, {"information_sharing.bpmn": CALLED.read_bytes().replace(b"day(7, ", b"day(6, ")})
    response = post(owner, "/process/versions/2/try", {"scenario": "not_commissioned"}, page="/process/versions/2")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Active version 1" in page and page.count("Status: <strong>not_commissioned</strong>") == 2
    # Each task's due date shows beside the timers.
    assert "due by 17:00 on Wednesday 3 June (Day 1)" in page and "due by 17:00 on Thursday 4 June (Day 2)" in page


def test_a_form_nested_thousands_of_levels_deep_gets_a_validation_message_not_a_crash(app: Flask) -> None:
    app.config["PROCESS_LINT"] = False
    owner = sign_in(app, "owner@demo.example")
    nested = '{"type": "object", "properties": {"a": ' * 3000 + '{"type": "string"}' + "}}" * 3000
    form = ('{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "record_criteria_view.schema.json", '
            '"type": "object", "properties": {"deep": ' + nested + "}}")
    response = upload(owner, {"record_criteria_view.schema.json": form.encode()})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "govuk-error-summary" in page
    assert "nested too deeply" in page or "levels deep" in page
    assert numbers(app) == [(1, True)]
