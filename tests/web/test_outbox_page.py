"""The Outbox page shows failed e-mails with the reason and lets the Partnership Manager send them again."""

from __future__ import annotations

from flask import Flask

from rapidreview.runtime import Runtime
from rapidreview.services.platform import outbox
from rapidreview.store.db import transaction
from rapidreview.store.models import OutboxMessage
from tests.web.conftest import post, sign_in


def failed_message(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        message = outbox.queue(session, runtime, case_id=None, template="test_message", to=["someone@example.org"],
                               subject="A test message", body="Hello")
        message.status, message.last_error = "failed", "550 mailbox unavailable"
        return message.id


def test_a_failed_email_is_shown_with_its_reason_and_can_be_sent_again(app: Flask, runtime: Runtime) -> None:
    message_id = failed_message(runtime)
    pm = sign_in(app, "pm@demo.example")
    page = pm.get("/outbox").get_data(as_text=True)
    assert "550 mailbox unavailable" in page and "Send again" in page
    post(pm, f"/outbox/{message_id}/retry", page="/outbox")
    with transaction(runtime.sessions) as session:
        assert session.get(OutboxMessage, message_id).status == "pending"  # type: ignore[union-attr]


def test_agency_staff_cannot_resend_mail(app: Flask, runtime: Runtime) -> None:
    message_id = failed_message(runtime)
    practitioner = sign_in(app, "school.practitioner@demo.example")
    assert post(practitioner, f"/outbox/{message_id}/retry").status_code == 403
