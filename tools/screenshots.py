"""Regenerate the screenshots in docs/screenshots/ (run: .venv/bin/python tools/screenshots.py).

A throwaway SQLite database with the demo accounts and one case part-way through, served on loopback
and photographed in Debian's Chromium with Playwright.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from rapidreview import clock  # noqa: E402
from rapidreview.config import PROJECT_ROOT, Settings  # noqa: E402
from rapidreview.services import cases  # noqa: E402
from rapidreview.services.demo import DEMO_PASSWORD, seed_demo  # noqa: E402
from rapidreview.services.process_versions import deploy_directory  # noqa: E402
from rapidreview.services.runtime import build_runtime  # noqa: E402
from rapidreview.services.tasks import starting_answers  # noqa: E402
from rapidreview.store.db import transaction  # noqa: E402
from rapidreview.web import create_app  # noqa: E402

OUT = PROJECT_ROOT / "docs" / "screenshots"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


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
        browser.close()
    server.shutdown()
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"screenshots written to {OUT}")


if __name__ == "__main__":
    main()
