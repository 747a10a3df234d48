"""Comments on the final draft: made in the app from the e-mail's link, open for the process's window, late
ones marked, all shown to the Partnership Manager on `incorporate_comments`; replies to the e-mail go to the
Partnership Manager."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from rapidreview import clock
from rapidreview.calendar import to_london
from rapidreview.runtime import Runtime
from rapidreview.services.reading.case_views import case_timers
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, OutboxMessage
from tests.factories import complete, drive_until, ready_tasks, start_case
from tests.web.conftest import csrf_of, sign_in

PM, LA_LEAD, ADMIN = "pm@demo.example", "la.lead@demo.example", "admin@demo.example"


def _comment(client, reference: str, text: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/cases/{reference}/comments").get_data(as_text=True)
    return client.post(f"/cases/{reference}/comments", data={"comment": text, "csrf_token": csrf_of(page)})


def test_comments_on_the_final_draft_reach_the_partnership_manager(app: Flask, runtime: Runtime,
                                                                    virtual_clock: clock.VirtualClock) -> None:
    case_id = start_case(runtime, "RR-COMMENT-1")
    la = sign_in(app, LA_LEAD)
    assert "has not been circulated yet" in la.get("/cases/RR-COMMENT-1/comments").get_data(as_text=True)
    refused = _comment(la, "RR-COMMENT-1", "Too early")
    assert refused.status_code == 400 and "has not been circulated yet" in refused.get_data(as_text=True)

    complete(runtime, drive_until(runtime, virtual_clock, case_id, "prepare_final_draft"))
    with transaction(runtime.sessions) as session:
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.template == "final_draft_for_comments")).one()
        closes_at = case_timers(runtime, session.get(Case, case_id))["comment_window_closes"]
    closes = to_london(closes_at).strftime("%A %-d %B %Y")
    assert to_london(closes_at).strftime("%H:%M") == "17:00"
    assert mail.reply_to == [runtime.settings.role_mailboxes["partnership_manager"]]
    assert "/cases/RR-COMMENT-1/comments" in mail.body_text
    assert f"by 5pm on {closes}" in mail.body_text and "within 2 working days" not in mail.body_text

    la = sign_in(app, LA_LEAD)  # days have passed: a new session
    page = la.get("/cases/RR-COMMENT-1").get_data(as_text=True)
    assert 'id="draft-comments-link"' in page and "Comment on the final draft" in page
    empty = _comment(la, "RR-COMMENT-1", "   ")
    assert empty.status_code == 400 and "Enter your comment" in empty.get_data(as_text=True)
    assert _comment(la, "RR-COMMENT-1", "Section 3: the school's referral was on 4 May, not 5 May.").status_code == 302
    listed = la.get("/cases/RR-COMMENT-1/comments").get_data(as_text=True)
    assert "Comments are open until" in listed
    # Written as GOV.UK writes times and dates: "5:00pm on Friday 5 June 2026".
    assert re.search(r"until <strong>\d{1,2}:\d\d[ap]m on [A-Z][a-z]+day \d{1,2} [A-Z][a-z]+ \d{4}</strong>", listed)
    assert "Section 3: the school&#39;s referral was on 4 May, not 5 May." in listed
    assert "Local Authority lead" in listed and "Late" not in listed

    # Nobody without a role in the case is told it exists.
    assert sign_in(app, ADMIN).get("/cases/RR-COMMENT-1/comments").status_code == 404

    # After the window closes a comment is still taken until the comments are incorporated, marked late.
    task = drive_until(runtime, virtual_clock, case_id, "incorporate_comments")
    la = sign_in(app, LA_LEAD)
    assert _comment(la, "RR-COMMENT-1", "One more: the GP's name is misspelt.").status_code == 302
    assert "The comment window closed" in la.get("/cases/RR-COMMENT-1/comments").get_data(as_text=True)

    pm = sign_in(app, PM)
    task_page = pm.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Comments on the final draft" in task_page
    assert "the school&#39;s referral was on 4 May" in task_page and "the GP&#39;s name is misspelt" in task_page
    assert "Late" in task_page

    complete(runtime, task)
    closed = _comment(la, "RR-COMMENT-1", "Too late")
    assert closed.status_code == 400 and "have been incorporated" in closed.get_data(as_text=True)
    assert [t.element_id for t in ready_tasks(runtime, case_id)] != ["incorporate_comments"]
    with transaction(runtime.sessions) as session:
        assert session.get(Case, case_id) is not None
