"""Every accepted case reference can be reached: slashes route everywhere, and what cannot route is refused."""

from __future__ import annotations

import pytest
from flask import Flask

from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from tests.web.conftest import START, post, sign_in


def _notification_form(reference: str) -> dict[str, str]:
    return {"reference": reference, "notified_on-day": "22", "notified_on-month": "5", "notified_on-year": "2026",
            "notified_time": "09:30", "child_name": "Child Q", "incident_date-day": "20", "incident_date-month": "5",
            "incident_date-year": "2026", "incident_summary": "Injury"}


def test_a_case_whose_reference_has_slashes_can_be_reached_on_every_page(app: Flask) -> None:
    pm = sign_in(app, "pm@demo.example")
    response = post(pm, "/cases/new", _notification_form("RR/2026/014"), page="/cases/new")
    assert response.status_code == 302 and response.headers["Location"].endswith("/cases/RR/2026/014")
    page = pm.get("/cases/RR/2026/014")
    assert page.status_code == 200 and "RR/2026/014" in page.get_data(as_text=True)
    assert pm.get("/cases/RR/2026/014/documents/upload").status_code == 200
    # Compare answers as it does for a case whose reference has no slash (no versions yet: not found).
    post(pm, "/cases/new", _notification_form("RR-2026-015"), page="/cases/new")
    assert (pm.get("/cases/RR/2026/014/documents/compare").status_code
            == pm.get("/cases/RR-2026-015/documents/compare").status_code)
    assert 'href="/cases/RR/2026/014"' in pm.get("/cases").get_data(as_text=True)


@pytest.mark.parametrize("reference", ["RR//2026", "RR/2026/", "/RR-1", "RR/new", "new", "RR/documents/1",
                                       "RR 2026", "RR?1", "RR#1", "RR%2F1", "RR\\1", "../RR", "RR/.."])
def test_a_reference_that_could_not_be_reached_is_refused_with_a_plain_message(app: Flask, reference: str) -> None:
    pm = sign_in(app, "pm@demo.example")
    response = post(pm, "/cases/new", _notification_form(reference), page="/cases/new")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "govuk-error-summary" in html and 'href="#reference' in html


def test_the_service_refuses_such_references_whoever_starts_the_case(runtime: Runtime, app: Flask) -> None:
    with pytest.raises(cases.CaseError, match="single slashes"):
        cases.start_case(runtime, cases.Notification(reference="RR//1", notified_at=START, child={"name": "C"},
                                                     incident={"date": "2026-05-20", "summary": "x"}), actor="test")


def test_two_references_never_share_a_documents_folder() -> None:
    from rapidreview.services.casework import documents

    assert documents._safe("RR/2026/1") != documents._safe("RR_2026_1")
