"""The process owner's version pages: confirming activation, overriding, downloads, what changed, discarding."""

from __future__ import annotations

import io
import json
import re
import zipfile

from flask import Flask
from sqlalchemy import select

from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent
from tests.web.conftest import csrf_of, post, sign_in
from tests.web.test_versions import CALLED, QUICK, numbers, upload

DAY_6 = CALLED.read_bytes().replace(b"day(7, ", b"day(6, ")


def audit(app: Flask, kind: str) -> list[dict]:  # type: ignore[type-arg]
    with transaction(app.extensions["rapidreview"].sessions) as session:
        return [e.payload for e in session.scalars(select(AuditEvent).where(AuditEvent.type == kind))]


def test_activation_asks_for_confirmation_and_is_refused_until_every_scenario_passed(app: Flask) -> None:
    app.config.update(PROCESS_LINT=False, PROCESS_SCENARIOS=str(QUICK))
    owner = sign_in(app, "owner@demo.example")
    upload(owner, {"information_sharing.bpmn": DAY_6})
    page = owner.get("/process/versions/2").get_data(as_text=True)
    assert 'href="/process/versions/2/activate"' in page and "Not tried" in page
    confirm = owner.get("/process/versions/2/activate").get_data(as_text=True)
    assert (
        "cannot go live until every scenario has passed" in confirm
        and "Yes, make version 2 active" not in confirm
    )
    refused = post(owner, "/process/versions/2/activate", page="/process")
    assert refused.status_code == 400 and "Not tried yet on not_commissioned" in refused.get_data(
        as_text=True
    )
    assert numbers(app) == [(2, False), (1, True)]

    post(owner, "/process/versions/2/try-all", page="/process/versions/2")
    confirm = owner.get("/process/versions/2/activate").get_data(as_text=True)
    assert (
        "Passed" in confirm
        and "ended not commissioned" in confirm
        and "Yes, make version 2 active" in confirm
    )
    assert post(owner, "/process/versions/2/activate", page="/process").status_code == 302
    assert numbers(app) == [(2, True), (1, False)]


def test_an_administrator_overrides_a_failed_try_only_with_a_reason(app: Flask) -> None:
    app.config.update(PROCESS_LINT=False, PROCESS_SCENARIOS=str(QUICK))
    owner = sign_in(app, "owner@demo.example")
    upload(owner, {"information_sharing.bpmn": DAY_6})
    admin = sign_in(app, "admin@demo.example")
    assert 'name="override"' in admin.get("/process/versions/2/activate").get_data(as_text=True)
    # An owner cannot override: the reason is ignored and the version stays a candidate.
    assert (
        post(owner, "/process/versions/2/activate", {"override": "please"}, page="/process").status_code
        == 400
    )
    refused = post(admin, "/process/versions/2/activate", page="/process")
    assert refused.status_code == 400 and "give a reason to override this" in refused.get_data(as_text=True)
    done = post(
        admin,
        "/process/versions/2/activate",
        {"override": "the Panel's deadline moved today"},
        page="/process",
    )
    assert done.status_code == 302 and numbers(app) == [(2, True), (1, False)]
    assert audit(app, "process_activated")[-1]["override"] == "the Panel's deadline moved today"


def test_a_version_is_downloaded_whole_or_file_by_file(app: Flask) -> None:
    owner = sign_in(app, "owner@demo.example")
    page = owner.get("/process/versions/1").get_data(as_text=True)
    assert 'href="/process/versions/1/download"' in page
    assert 'href="/process/versions/1/files/information_sharing.bpmn"' in page
    response = owner.get("/process/versions/1/download")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert "bpmn/rapid_review.bpmn" in names and "forms/record_criteria_view.schema.json" in names
    one = owner.get("/process/versions/1/files/information_sharing.bpmn")
    assert one.status_code == 200 and one.data == CALLED.read_bytes()
    assert "attachment" in one.headers["Content-Disposition"]
    assert owner.get("/process/versions/1/files/nothing.bpmn").status_code == 404


def test_what_changed_shows_before_and_after_against_the_active_version_and_ignores_layout(
    app: Flask,
) -> None:
    app.config.update(PROCESS_LINT=False, PROCESS_SCENARIOS=str(QUICK))
    owner = sign_in(app, "owner@demo.example")
    moved = re.sub(
        rb'(<dc:Bounds x=")(\d+)',
        lambda m: m.group(1) + str(int(m.group(2)) + 40).encode(),
        CALLED.read_bytes(),
    )
    upload(owner, {"information_sharing.bpmn": moved}, note="boxes moved")
    page = owner.get("/process/versions/2").get_data(as_text=True)
    assert "What changed compared with version 1 (the active version)" in page
    assert "Nothing changed (moving shapes on the diagram is not a change)" in page

    upload(owner, {"information_sharing.bpmn": DAY_6}, note="Day 6")
    page = owner.get("/process/versions/3").get_data(as_text=True)
    assert "compared with version 1 (the active version)" in page  # not with version 2, the one before
    assert '<code class="app-code-wrap">day(7, &#34;17:00&#34;)</code></del>' in page
    assert '<code class="app-code-wrap">day(6, &#34;17:00&#34;)</code></ins>' in page
    assert ">due date</th>" in page and ">timer</th>" in page
    diagram = json.loads(re.search(r'id="diagram-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert diagram["states"]["information_sharing.bpmn"] == {
        "complete_information_sharing_form": "changed",
        "information_sharing_escalation": "changed",
        "quality_assure_information_sharing_form": "changed",
    }


def test_a_candidate_that_was_never_active_is_discarded_and_an_upload_under_another_name_is_recognised(
    app: Flask,
) -> None:
    app.config.update(PROCESS_LINT=False)
    owner = sign_in(app, "owner@demo.example")
    response = upload(owner, {"information_sharing (1).bpmn": DAY_6})
    assert response.status_code == 302
    page = owner.get("/process/versions/2").get_data(as_text=True)
    assert (
        "The file information_sharing (1).bpmn holds the process of information_sharing.bpmn, so it replaces"
        in page
    )
    assert "Discard version 2" in page
    assert "Discard version 1" not in owner.get("/process/versions/1").get_data(as_text=True)
    assert (
        post(owner, "/process/versions/2/discard", {"note": "wrong file"}, page="/process").status_code == 302
    )
    assert numbers(app) == [(1, True)]
    assert post(owner, "/process/versions/1/discard", page="/process").status_code == 302
    assert numbers(app) == [(1, True)]  # it has been active: it stays
    assert audit(app, "process_discarded")[0]["note"] == "wrong file"


def test_moving_cases_needs_a_reason(app: Flask) -> None:
    app.config.update(PROCESS_LINT=False, PROCESS_SCENARIOS=str(QUICK))
    from tests.web.test_access import start_case_with_two_agencies

    start_case_with_two_agencies(app.extensions["rapidreview"])
    owner = sign_in(app, "owner@demo.example")
    upload(owner, {"information_sharing.bpmn": DAY_6})
    post(owner, "/process/versions/2/try-all", page="/process/versions/2")
    post(owner, "/process/versions/2/activate", page="/process")
    page = owner.get("/process/versions/2/moves").get_data(as_text=True)
    assert "it will be due 5pm on" in page and "(Day 6) instead of" in page
    response = owner.post(
        "/process/versions/2/moves", data={"csrf_token": csrf_of(page), "reference": "RR-W-1"}
    )
    flashed = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert "Say why you are moving these cases" in flashed and "1 case moved" not in flashed


def test_the_deploy_page_warns_about_a_timer_still_named_for_the_old_day(app: Flask) -> None:
    app.config.update(PROCESS_LINT=False)
    owner = sign_in(app, "owner@demo.example")
    response = upload(owner, {"information_sharing.bpmn": DAY_6})
    page = owner.get(response.headers["Location"]).get_data(as_text=True)
    assert ("Check the wording: information_sharing.bpmn: information_sharing_escalation (Day 7, 17:00: escalate): "
            "its name says Day 7 but its timer fires on Day 6: rename it.") in page
