"""Free text people type is shown escaped on every page that shows it."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.store.db import transaction
from rapidreview.store.models import HumanTask, OutboxMessage
from tests.web.conftest import START, sign_in

PAYLOAD = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert"


def test_script_in_free_text_is_escaped_on_the_task_case_list_and_outbox_pages(app: Flask, runtime: Runtime) -> None:
    notification = cases.Notification(
        reference="RR-XSS-1", notified_at=START, child={"name": PAYLOAD}, incident={"date": "2026-05-20", "summary": PAYLOAD},
        agencies=[{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
                   "manager_email": "head@oak.example"}])
    case_id = cases.start_case(runtime, notification, actor="test")
    with transaction(runtime.sessions) as session:
        task = session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)).first()
        assert task is not None
        task.draft = {"summary": PAYLOAD, "views": PAYLOAD}
        for message in session.scalars(select(OutboxMessage)):
            message.subject = PAYLOAD
            message.last_error = PAYLOAD
        session.add(OutboxMessage(case_id=case_id, message_id="<xss@test>", template="t", sender="a@b.example",
                                  to=["c@d.example"], subject=PAYLOAD, body_text=PAYLOAD, status="failed",
                                  last_error=PAYLOAD))
    client = sign_in(app, "pm@demo.example")
    pages = {"case": "/cases/RR-XSS-1", "list": "/cases", "task": f"/tasks/{task.id}", "outbox": "/outbox",
             "worklist": "/tasks"}
    for name, path in pages.items():
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", ""), name
    # The payload is shown (escaped) where the text appears, not silently dropped.
    shown = [name for name, path in pages.items() if ESCAPED in client.get(path).get_data(as_text=True)]
    assert "outbox" in shown
