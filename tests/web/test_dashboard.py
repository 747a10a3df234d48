"""/dashboard for each role, its charts and tables, its exports, and the administrator's counts.

The demo partnership has ten settled reviews, seven on time (70%); another partnership has late reviews
whose references must never show, and whose lateness must never count.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from xml.etree import ElementTree

import pytest
from flask import Flask
from sqlalchemy import select

from rapidreview.runtime import Runtime
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent
from tests import factories as make
from tests.web.conftest import sign_in

SEES_DASHBOARD = ("pm@demo.example", "chair@demo.example", "la.lead@demo.example", "police.lead@demo.example",
                  "icb.lead@demo.example")
REFUSED = ("la.officer@demo.example", "school.practitioner@demo.example", "school.manager@demo.example",
           "owner@demo.example")
ODS = {"table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
       "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
       "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0"}
NASTY_REFERENCE = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def seeded(app: Flask, runtime: Runtime) -> Flask:
    with transaction(runtime.sessions) as s:
        own, other = make.default_partnership(s), make.partnership(s, "elsewhere")
        for n, day in enumerate((10, 12, 14, 14, 15, 15, 15)):
            make.case(s, own, f"RR-ON-{n}", date(2026, 1, 5 + 7 * (n % 3)), submitted_on_day=day, lcspr=n == 0)
        make.case(s, own, NASTY_REFERENCE, date(2025, 11, 3), submitted_on_day=16)
        late = make.case(s, own, "RR-LATE", date(2025, 12, 1), submitted_on_day=17)
        make.task(s, late, "quality_assure_information_sharing_form", agency="school", agency_name="@SUM(1+1)",
                  ready_at=make.on_day(late.day_one, 5, "10:00"), completed_at=make.on_day(late.day_one, 6, "10:00"),
                  due_at=make.on_day(late.day_one, 7, "17:00"))
        make.case(s, own, "RR-OVERDUE", date(2026, 4, 1))
        make.case(s, own, "RR-NOT", date(2026, 2, 16), status="not_commissioned")
        for n in range(4):
            make.case(s, other, f"ELSEWHERE-{n}", date(2026, 1, 5), submitted_on_day=19)
    return app


def test_the_partnership_manager_chair_and_leads_see_their_on_time_rate(seeded: Flask) -> None:
    for email in SEES_DASHBOARD:
        page = sign_in(seeded, email).get("/dashboard")
        assert page.status_code == 200, email
        html = page.get_data(as_text=True)
        assert '<span class="app-headline__figure">70%</span>' in html, email
        assert "of the 10 reviews whose deadline has passed" in html
        assert "1 not commissioned" in html
        assert "ELSEWHERE" not in html  # another partnership's reviews are neither listed nor counted
        assert 'href="/dashboard"' in html  # in the navigation


def test_other_roles_are_refused_and_strangers_sent_to_sign_in(seeded: Flask) -> None:
    for email in REFUSED:
        client = sign_in(seeded, email)
        for path in ("/dashboard", "/dashboard/cases.csv", "/dashboard/figures.csv", "/dashboard/rapid-reviews.ods",
                     "/dashboard/partnerships.csv"):
            assert client.get(path).status_code == 403, (email, path)
        assert 'href="/dashboard"' not in client.get("/tasks").get_data(as_text=True)
    response = seeded.test_client().get("/dashboard")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_administrator_sees_counts_across_partnerships_and_no_case(seeded: Flask) -> None:
    client = sign_in(seeded, "admin@demo.example")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Rapid Reviews across partnerships" in html
    assert "Elsewhere Safeguarding Children Partnership" in html
    assert "RR-" not in html and "ELSEWHERE-" not in html and "HYPERLINK" not in html
    row = re.search(r"Elsewhere Safeguarding Children Partnership</th>(.*?)</tr>", html, re.S)
    assert row is not None
    assert re.findall(r">(\d+%?)</td>", row.group(1))[:5] == ["4", "0", "4", "0", "4"]
    for path in ("/dashboard/cases.csv", "/dashboard/figures.csv", "/dashboard/rapid-reviews.ods"):
        assert client.get(path).status_code == 403, path
    counts = client.get("/dashboard/partnerships.csv")
    assert counts.status_code == 200 and b"ELSEWHERE-" not in counts.data and b"RR-" not in counts.data


def test_each_chart_is_an_accessible_svg_followed_by_its_table(seeded: Flask) -> None:
    html = sign_in(seeded, "pm@demo.example").get("/dashboard").get_data(as_text=True)
    charts = re.findall(r'<svg [^>]*role="img"[^>]*aria-labelledby="([^" ]+) ([^"]+)"', html)
    assert len(charts) == 4
    for title_id, desc_id in charts:
        assert f'<title id="{title_id}">' in html and f'<desc id="{desc_id}">' in html
    assert "Share of reviews submitted by the end of Day 15, by quarter. " in html
    assert "Jan to Mar 2026: 100% (7 of 7)" in html
    assert "<caption class=\"govuk-table__caption govuk-table__caption--s\">On time by quarter</caption>" in html
    assert " style=" not in html  # the CSP allows no inline styles, in SVG either
    assert "@SUM(1+1)" in html  # an agency's name is text on the page, escaped where it needs to be


def test_a_wrong_date_is_explained_and_the_last_12_months_shown(seeded: Flask) -> None:
    client = sign_in(seeded, "pm@demo.example")
    page = client.get("/dashboard?from-day=31&from-month=2&from-year=2026&to-day=1&to-month=3&to-year=2026")
    assert page.status_code == 400
    html = page.get_data(as_text=True)
    assert "There is a problem" in html and "The start date must be a real date" in html
    assert 'href="#from-day"' in html
    backwards = client.get("/dashboard?from=2026-03-01&to=2026-01-01").get_data(as_text=True)
    assert "The end date must be the same as or after the start date" in backwards


def test_a_chosen_period_counts_only_the_reviews_notified_in_it(seeded: Flask) -> None:
    client = sign_in(seeded, "pm@demo.example")
    html = client.get("/dashboard?from-day=1&from-month=1&from-year=2026&to-day=31&to-month=3&to-year=2026"
                      ).get_data(as_text=True)
    assert "Reviews notified from 1 January 2026 to 31 March 2026." in html
    assert '<span class="app-headline__figure">100%</span>' in html
    assert "/dashboard/cases.csv?from=2026-01-01&amp;to=2026-03-31" in html


def test_one_row_per_case_as_csv_with_formulas_defused(seeded: Flask, runtime: Runtime) -> None:
    response = sign_in(seeded, "pm@demo.example").get("/dashboard/cases.csv?from=2025-06-01&to=2026-05-22")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "rapid-reviews-2025-06-01-to-2026-05-22-cases.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 11
    by_reference = {r["Reference"]: r for r in rows}
    assert "'" + NASTY_REFERENCE in by_reference  # starts with an apostrophe: text, never a formula
    assert by_reference["RR-LATE"]["Outcome"] == "Late" and by_reference["RR-LATE"]["Submitted on day"] == "17"
    assert by_reference["RR-ON-0"]["LCSPR recommended"] == "Yes"
    assert by_reference["RR-LATE"]["Returned on time"] == "1"
    with transaction(runtime.sessions) as s:
        exported = s.scalars(select(AuditEvent).where(AuditEvent.type == "statistics_exported")).one()
    assert exported.actor == "pm@demo.example" and exported.payload["cases"] == 11


def test_the_figures_as_one_long_csv(seeded: Flask) -> None:
    response = sign_in(seeded, "chair@demo.example").get("/dashboard/figures.csv")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == ["Table", "Row", "Column", "Value"]
    assert ["Summary", "On-time rate (%)", "Value", "70.0"] in rows
    assert ["On time by quarter", "Jan to Mar 2026", "On time", "7"] in rows
    assert ["Agencies' information sharing", "'@SUM(1+1)", "Returned on time", "1"] in rows


def test_the_spreadsheet_has_a_sheet_per_table_and_typed_cells(seeded: Flask) -> None:
    response = sign_in(seeded, "icb.lead@demo.example").get("/dashboard/rapid-reviews.ods")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.oasis.opendocument.spreadsheet"
    package = zipfile.ZipFile(io.BytesIO(response.data))
    first = package.infolist()[0]
    assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
    root = ElementTree.fromstring(package.read("content.xml"))
    sheets = {t.get(f"{{{ODS['table']}}}name"): t for t in root.iter(f"{{{ODS['table']}}}table")}
    assert list(sheets) == ["Summary", "On time by quarter", "Working days to submission", "Where the days go",
                            "Agencies' information sharing", "LCSPR recommended", "Open now", "Late", "Cases"]
    rate = next(c for r in sheets["Summary"].iter(f"{{{ODS['table']}}}table-row")
                if (c := r.findall(f"{{{ODS['table']}}}table-cell"))[0].findtext(f"{{{ODS['text']}}}p") == "On-time rate (%)")[1]
    assert rate.get(f"{{{ODS['office']}}}value-type") == "percentage" and float(rate.get(f"{{{ODS['office']}}}value") or 0) == 0.7
    cases = [r.findall(f"{{{ODS['table']}}}table-cell")[0].findtext(f"{{{ODS['text']}}}p")
             for r in sheets["Cases"].iter(f"{{{ODS['table']}}}table-row")]
    assert NASTY_REFERENCE in cases  # a string cell: never evaluated, so kept as typed
