"""Regenerate the screenshots in docs/screenshots/ (run: .venv/bin/python tools/screenshots.py).

A throwaway SQLite database with the demo accounts and one case part-way through, served on loopback
and photographed in Debian's Chromium with Playwright.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from rapidreview import clock  # noqa: E402
from rapidreview.config import PROJECT_ROOT, Settings  # noqa: E402
from rapidreview.runtime import Runtime, build_runtime  # noqa: E402
from rapidreview.services.casework import cases  # noqa: E402
from rapidreview.services.casework.tasks import starting_answers  # noqa: E402
from rapidreview.services.definitions.process_versions import deploy_directory  # noqa: E402
from rapidreview.services.people.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from rapidreview.store.db import transaction  # noqa: E402
from rapidreview.web import create_app  # noqa: E402
from tests import factories  # noqa: E402

OUT = PROJECT_ROOT / "docs" / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


def review_history(rt: Runtime) -> None:
    """A year of past reviews for the dashboard: rows as the process leaves them, with their task times."""
    make = factories
    with transaction(rt.sessions) as s:
        own = make.default_partnership(s)
        for n, day in enumerate((10, 12, 14, 14, 15, 15, 15, 13, 14, 16, 17, 15, 14, 15)):
            notified = date(2026, 1, 5) + timedelta(weeks=3 * n)
            case = make.case(s, own, f"RR-2026-{n + 101}", notified, submitted_on_day=day, lcspr=n % 4 == 0)
            for partner, done in (("LA", "15:00"), ("MPS", "17:30"), ("ICB", "11:00")):
                make.task(s, case, "record_criteria_view", partner=partner, name="Record your view on the criteria",
                          ready_at=make.on_day(case.day_one, 1, "10:00"), due_at=make.on_day(case.day_one, 1, "17:00"),
                          completed_at=make.on_day(case.day_one, 1 + n % 2, done))
            for agency, name in (("school", "Oak Primary School"), ("gp", "Elm Street Surgery")):
                make.task(s, case, "quality_assure_information_sharing_form", agency=agency, agency_name=name,
                          name="Quality-assure and sign off the form", ready_at=make.on_day(case.day_one, 5, "10:00"),
                          due_at=make.on_day(case.day_one, 7, "17:00"),
                          completed_at=make.on_day(case.day_one, 6 + (n + len(agency)) % 3, "10:00"))
            make.task(s, case, "prepare_draft_report", name="Prepare the draft Rapid Review Report",
                      ready_at=make.on_day(case.day_one, 7, "10:00"), due_at=make.on_day(case.day_one, 8, "09:00"),
                      completed_at=make.on_day(case.day_one, 8 + n % 3, "08:00"))
        make.case(s, own, "RR-2026-115", date(2026, 6, 15), status="not_commissioned")


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="rr-shots-"))
    virtual = clock.VirtualClock(datetime(2026, 12, 18, 10, 30, tzinfo=UTC))
    clock.install(virtual)
    rt = build_runtime(Settings(database_url=f"sqlite:///{scratch / 'db.sqlite'}", data_dir=scratch / "data"))
    deploy_directory(rt, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="screenshots")
    seed_demo(rt)
    case_id = cases.start_case(rt, cases.Notification(
        reference="RR-2026-014", notified_at=virtual.now(), child={"name": "Child M", "sex": "female"},
        incident={"date": "2026-12-16", "summary": "Child M was admitted to hospital with injuries."},
        agencies=[{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
                   "manager_email": "head@oak.example"},
                  {"id": "gp", "name": "Elm Street Surgery", "contact_email": "safeguarding@elmsurgery.example",
                   "manager_email": "practice.manager@elmsurgery.example"}]), actor="screenshots")
    for _ in range(6):  # views, commissioning, agencies, meeting: the agencies now have work
        with transaction(rt.sessions) as session:
            task = next(t for t in cases.ready_tasks(session, case_id) if not t.agency_id)
        answers = starting_answers(rt, task.id, with_examples=True)
        if task.element_id == "commission_rapid_review":
            answers["chair_email"] = "chair@demo.example"
        cases.complete_task(rt, task.id, answers, actor="screenshots")
    app = create_app("test", runtime=rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{base}/sign-in")
        page.screenshot(path=str(OUT / "sign-in.png"))
        page.fill("#email", "school.practitioner@demo.example")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button:has-text('Sign in')")
        page.screenshot(path=str(OUT / "worklist.png"), full_page=True)
        page.click("button:has-text('Claim')")
        page.click("button[value='submit']")
        page.screenshot(path=str(OUT / "task-form-errors.png"), full_page=True)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(f"{base}/sign-in")
        page.fill("#email", "pm@demo.example")
        page.fill("#password", DEMO_PASSWORD)
        page.click("button:has-text('Sign in')")
        page.goto(f"{base}/cases/RR-2026-014")
        page.wait_for_selector("#diagrams[data-rendered='true']")
        page.screenshot(path=str(OUT / "case.png"), full_page=True)
        page.goto(f"{base}/cases")
        page.screenshot(path=str(OUT / "cases.png"))
        review_history(rt)  # after the case list's picture, which shows the one case
        page.goto(f"{base}/dashboard")
        page.screenshot(path=str(OUT / "dashboard.png"), full_page=True, clip={"x": 0, "y": 0, "width": 1200, "height": 1400})
        browser.close()
    server.shutdown()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
