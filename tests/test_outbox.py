"""The outbox sender: temporary failures back off and are retried, permanent ones stop and are shown,
nothing a real SMTP server refuses is recorded as sent, a message in doubt is not sent twice when the
transport can tell (and is marked as a possible duplicate when it cannot), and two senders never share a
message."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from flask import Flask
from sqlalchemy import text

from rapidreview import clock
from rapidreview.mail.smtp import SmtpTransport
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.platform import outbox, scheduling
from rapidreview.services.platform import scheduler_status as status
from rapidreview.store.db import MIGRATIONS_DIR, make_engine, migrate, transaction
from rapidreview.store.models import OutboxMessage
from tests.test_mail_support import (
    ACCEPTED,
    SmtpServer,
    TlsFiles,
    make_certificate,
    serve_smtp,
    smtp_settings,
)
from tests.test_scheduler import (
    T0,
    RecordingTransport,
    audit_events,
    case_row,
    deploy_test_process,
    start_timer_case,
)
from tests.web.conftest import sign_in


@pytest.fixture
def virtual() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(T0)
    with clock.using(virtual):
        yield virtual


def queue(rt: Runtime, subject: str = "Reminder") -> int:
    with transaction(rt.sessions) as session:
        return outbox.queue(session, rt, case_id=None, template="test", to=["dsl@oak.example"], subject=subject,
                            body="Please send the form.").id


def message(rt: Runtime, message_id: int) -> OutboxMessage:
    with transaction(rt.sessions) as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row


class TellingTransport(RecordingTransport):
    """A transport that can look in its Sent Items, as EWS and Graph can."""

    def find_sent(self, message_id: str) -> str | None:
        return "found-in-sent-items" if message_id in self.sent else None


class Crash(BaseException):
    """The process dies: nothing after this point runs."""


class AcceptsThenDies(RecordingTransport):
    def send(self, mail: Any, sent_at: datetime) -> str:
        super().send(mail, sent_at)
        raise Crash


def test_a_temporary_failure_backs_off_and_the_message_goes_once_the_server_is_back(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime)
    transport = RecordingTransport(TemporaryMailError("connection refused"), TemporaryMailError("connection refused"))
    assert [d.status for d in scheduling.deliver_mail(runtime, transport)] == ["pending"]
    assert message(runtime, message_id).next_attempt_at == T0 + timedelta(seconds=5)
    assert scheduling.deliver_mail(runtime, transport) == []  # not before its time
    virtual.set(T0 + timedelta(seconds=5))
    scheduling.deliver_mail(runtime, transport)
    assert message(runtime, message_id).next_attempt_at == T0 + timedelta(seconds=15)
    with transaction(runtime.sessions) as session:
        [retrying] = outbox.retrying_messages(session)
    assert (retrying.reason, retrying.attempts) == ("connection refused", 2)

    virtual.set(T0 + timedelta(seconds=15))
    assert [d.status for d in scheduling.deliver_mail(runtime, transport)] == ["sent"]
    row = message(runtime, message_id)
    assert (row.status, row.attempts, row.sent_at, row.provider_id) == ("sent", 3, virtual.now(), "provider-1")
    assert transport.sent == [row.message_id]
    assert [e.payload["permanent"] for e in audit_events(runtime, "email_failed")] == [False, False]
    assert len(audit_events(runtime, "email_sent")) == 1


def test_the_back_off_grows_to_fifteen_minutes_and_honours_a_server_asking_for_longer() -> None:
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 8, 9, 50)] == [5, 10, 20, 640, 900, 900]
    assert outbox.backoff(1, retry_after=120) == timedelta(seconds=120)


def test_a_permanent_failure_stops_and_is_shown_with_its_reason_until_a_person_retries(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime, "To a closed mailbox")
    transport = RecordingTransport(PermanentMailError("550 5.1.1 mailbox unavailable"))
    scheduling.deliver_mail(runtime, transport)
    virtual.set(T0 + timedelta(days=1))
    assert scheduling.deliver_mail(runtime, transport) == []
    with transaction(runtime.sessions) as session:
        [failed] = outbox.failed_messages(session)
        assert outbox.backlog(session).failed == 1
    assert (failed.subject, failed.reason, failed.status, failed.next_attempt_at) == (
        "To a closed mailbox", "550 5.1.1 mailbox unavailable", "failed", None)

    outbox.retry_message(runtime, message_id, actor="partnership.manager@partnership.example")
    scheduling.deliver_mail(runtime, transport)
    assert message(runtime, message_id).status == "sent" and len(transport.sent) == 1
    with pytest.raises(ValueError, match="has not failed"):
        outbox.retry_message(runtime, message_id, actor="someone")


def test_a_failed_message_nobody_needs_any_more_can_be_cancelled_on_the_record(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime, "Reminder overtaken by events")
    scheduling.deliver_mail(runtime, RecordingTransport(PermanentMailError("550 mailbox unavailable")))
    outbox.cancel_message(runtime, message_id, actor="pm@partnership.example", reason="the agency replied by phone")
    with transaction(runtime.sessions) as session:
        assert outbox.failed_messages(session) == [] and outbox.backlog(session).failed == 0
    assert message(runtime, message_id).status == "cancelled"
    [cancelled] = audit_events(runtime, "email_cancelled")
    assert cancelled.actor == "pm@partnership.example" and cancelled.payload["reason"] == "the agency replied by phone"


def test_a_message_whose_sender_died_after_the_server_accepted_it_is_not_sent_again(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime)
    dying = AcceptsThenDies()
    with pytest.raises(Crash):
        scheduling.deliver_mail(runtime, dying)
    assert message(runtime, message_id).status == "sending"
    assert scheduling.deliver_mail(runtime, TellingTransport()) == []  # claimed: nobody else touches it

    virtual.set(T0 + outbox.LEASE)  # the claim lapses: the message is in doubt
    survivor = TellingTransport()
    survivor.sent = list(dying.sent)  # the provider's Sent Items hold what the dead sender sent
    scheduling.deliver_mail(runtime, survivor)
    row = message(runtime, message_id)
    assert survivor.sent == dying.sent and (row.status, row.provider_id) == ("sent", "found-in-sent-items")
    assert row.sent_at == T0  # accepted during the attempt that died
    [sent] = audit_events(runtime, "email_sent")
    assert sent.payload["found_already_sent"] is True


def test_without_a_way_to_tell_a_message_in_doubt_is_sent_again_rather_than_lost(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime)
    with pytest.raises(Crash):
        scheduling.deliver_mail(runtime, AcceptsThenDies())
    virtual.set(T0 + outbox.LEASE)
    smtp_like = RecordingTransport()
    scheduling.deliver_mail(runtime, smtp_like)
    assert message(runtime, message_id).status == "sent" and len(smtp_like.sent) == 1


class DiesBeforeHandingOver(RecordingTransport):
    """Marks its hand-overs, and dies while connecting: the server never saw the message."""

    reports_handover = True

    def send(self, mail: Any, sent_at: datetime) -> str:
        raise Crash


class HandsOverThenDies(RecordingTransport):
    reports_handover = True

    def send(self, mail: Any, sent_at: datetime) -> str:
        mail.handing_over()
        super().send(mail, sent_at)
        raise Crash


class AskedTransport(TellingTransport):
    reports_handover = True

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def find_sent(self, message_id: str) -> str | None:
        self.asked.append(message_id)
        return super().find_sent(message_id)

    def send(self, mail: Any, sent_at: datetime) -> str:
        mail.handing_over()
        return super().send(mail, sent_at)


def test_a_message_whose_sender_died_before_handing_it_over_is_simply_sent_again(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime)
    with pytest.raises(Crash):
        scheduling.deliver_mail(runtime, DiesBeforeHandingOver())
    assert message(runtime, message_id).handed_over_at is None  # it never reached the server
    virtual.set(T0 + outbox.LEASE)
    survivor = AskedTransport()
    scheduling.deliver_mail(runtime, survivor)
    assert survivor.asked == [] and len(survivor.sent) == 1  # nothing to ask: it cannot have gone
    [sent] = audit_events(runtime, "email_sent")
    assert "possible_duplicate" not in sent.payload and "found_already_sent" not in sent.payload


def test_a_message_whose_sender_died_after_handing_it_over_is_looked_for_before_it_is_sent_again(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime)
    dying = HandsOverThenDies()
    with pytest.raises(Crash):
        scheduling.deliver_mail(runtime, dying)
    row = message(runtime, message_id)
    assert (row.status, row.handed_over_at) == ("sending", T0)  # identifiable: it may have gone
    virtual.set(T0 + outbox.LEASE)
    survivor = AskedTransport()
    survivor.sent = list(dying.sent)
    scheduling.deliver_mail(runtime, survivor)
    row = message(runtime, message_id)
    assert survivor.asked == [row.message_id] and survivor.sent == dying.sent
    assert (row.status, row.sent_at, row.provider_id) == ("sent", T0, "found-in-sent-items")


def test_a_submission_found_in_sent_items_after_a_crash_completes_the_waiting_task_and_submits_the_case(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    deploy_test_process(runtime)
    case_id = start_timer_case(runtime, "RR-FOUND-1", T0, submit=True)
    scheduling.advance_due_cases(runtime)
    dying = HandsOverThenDies()
    with pytest.raises(Crash):
        scheduling.deliver_mail(runtime, dying)
    virtual.set(T0 + outbox.LEASE)
    survivor = AskedTransport()
    survivor.sent = list(dying.sent)
    scheduling.deliver_mail(runtime, survivor)
    case = case_row(runtime, case_id)
    assert (case.status, case.submitted_at) == (cases.SUBMITTED, T0)  # when it was handed over, not found
    assert runtime.restore(case).is_completed and survivor.sent == dying.sent


def test_an_smtp_message_in_doubt_after_a_crash_is_sent_again_with_its_message_id_and_marked_a_possible_duplicate(
        runtime: Runtime, virtual: clock.VirtualClock, smtp: SmtpServer) -> None:
    message_id = queue(runtime)

    class AcceptedThenDied(SmtpTransport):
        def send(self, mail: Any, sent_at: datetime) -> str:
            super().send(mail, sent_at)
            raise Crash

    with pytest.raises(Crash):
        scheduling.deliver_mail(runtime, AcceptedThenDied(smtp_settings(smtp)))
    assert message(runtime, message_id).handed_over_at == T0
    virtual.set(T0 + outbox.LEASE)
    scheduling.deliver_mail(runtime, SmtpTransport(smtp_settings(smtp)))
    row = message(runtime, message_id)
    first, second = smtp.handler.received
    assert row.status == "sent" and row.message_id.encode() in first.data and row.message_id.encode() in second.data
    [sent] = audit_events(runtime, "email_sent")
    assert sent.payload["possible_duplicate"] is True


def test_an_smtp_connection_lost_before_the_answer_leaves_the_message_pending_and_in_doubt(
        runtime: Runtime, virtual: clock.VirtualClock, smtp: SmtpServer) -> None:
    message_id = queue(runtime)
    smtp.handler.drop_after_data = True
    scheduling.deliver_mail(runtime, SmtpTransport(smtp_settings(smtp)))
    row = message(runtime, message_id)
    assert (row.status, row.handed_over_at) == ("pending", T0)
    with transaction(runtime.sessions) as session:
        [retrying] = outbox.retrying_messages(session)
    assert retrying.handed_over_at == T0 and "may or may not have accepted" in (retrying.reason or "")
    [failed] = audit_events(runtime, "email_failed")
    assert failed.payload["may_have_been_sent"] is True

    smtp.handler.drop_after_data = False
    virtual.set(row.next_attempt_at)
    scheduling.deliver_mail(runtime, SmtpTransport(smtp_settings(smtp)))
    assert message(runtime, message_id).status == "sent" and len(smtp.handler.received) == 2
    [sent] = audit_events(runtime, "email_sent")
    assert sent.payload["possible_duplicate"] is True


def test_a_sender_whose_lease_lapsed_stands_down_at_the_hand_over_instead_of_sending_a_second_copy(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime)
    other = AskedTransport()

    class Slow(RecordingTransport):
        reports_handover = True

        def send(self, mail: Any, sent_at: datetime) -> str:
            virtual.set(T0 + outbox.LEASE)  # stuck so long that its lease lapsed ...
            scheduling.deliver_mail(runtime, other, worker="other")  # ... and another sender took the message
            mail.handing_over()
            return super().send(mail, sent_at)

    slow = Slow()
    [delivery] = scheduling.deliver_mail(runtime, slow, worker="slow")
    assert delivery.status == "sending" and "another sender took the message over" in (delivery.error or "")
    assert slow.sent == [] and len(other.sent) == 1
    row = message(runtime, message_id)
    assert (row.status, row.claimed_by, row.attempts) == ("sent", "other", 2)


def test_two_senders_at_once_never_send_one_message_twice(runtime: Runtime) -> None:
    ids = [queue(runtime, f"Message {n}") for n in range(30)]

    class SlowTransport(RecordingTransport):
        def send(self, mail: Any, sent_at: datetime) -> str:
            time.sleep(0.005)  # long enough for the other sender to come looking
            return super().send(mail, sent_at)

    transports = [SlowTransport(), SlowTransport()]
    errors: list[BaseException] = []

    def sender(transport: RecordingTransport, name: str) -> None:
        try:
            scheduling.deliver_mail(runtime, transport, worker=name)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(t, f"sender-{n}")) for n, t in enumerate(transports)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    sent = transports[0].sent + transports[1].sent
    assert len(sent) == len(set(sent)) == 30
    assert {message(runtime, i).status for i in ids} == {"sent"}


# -- what a real SMTP server answers -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smtp_tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificate(tmp_path_factory.mktemp("outbox-smtp-tls"))


@pytest.fixture(scope="module")
def smtp_server(smtp_tls: TlsFiles) -> Iterator[SmtpServer]:
    with serve_smtp(smtp_tls, starttls=True) as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    smtp_server.handler.reset()
    return smtp_server


def test_a_message_the_smtp_server_refuses_with_554_fails_with_the_servers_words_and_is_not_sent(
        runtime: Runtime, virtual: clock.VirtualClock, smtp: SmtpServer) -> None:
    message_id = queue(runtime, "Information sharing request")
    smtp.handler.data_reply = "554 5.7.1 Message rejected as spam"
    [delivery] = scheduling.deliver_mail(runtime, SmtpTransport(smtp_settings(smtp)))
    row = message(runtime, message_id)
    assert (delivery.status, row.status, row.sent_at, row.provider_id) == ("failed", "failed", None, None)
    assert row.last_error == "the SMTP server 127.0.0.1 refused the message: 554 5.7.1 Message rejected as spam"
    assert row.handed_over_at is None  # a refusal is a verdict, not a message that may have gone
    with transaction(runtime.sessions) as session:
        [failed] = outbox.failed_messages(session)
    assert failed.reason == row.last_error and audit_events(runtime, "email_sent") == []
    virtual.set(T0 + timedelta(days=1))
    assert scheduling.deliver_mail(runtime, SmtpTransport(smtp_settings(smtp))) == []  # waits for a person


def test_a_message_the_smtp_server_defers_with_451_is_retried_with_back_off_until_it_is_accepted(
        runtime: Runtime, virtual: clock.VirtualClock, smtp: SmtpServer) -> None:
    message_id = queue(runtime)
    smtp.handler.data_reply = "451 4.3.0 Queue full, try again later"
    transport = SmtpTransport(smtp_settings(smtp))
    scheduling.deliver_mail(runtime, transport)
    row = message(runtime, message_id)
    assert (row.status, row.sent_at, row.attempts, row.next_attempt_at) == ("pending", None, 1, T0 + timedelta(seconds=5))
    assert "451 4.3.0 Queue full" in (row.last_error or "") and row.handed_over_at is None
    assert scheduling.deliver_mail(runtime, transport) == []  # not before its time

    smtp.handler.data_reply = ACCEPTED
    virtual.set(T0 + timedelta(seconds=5))
    scheduling.deliver_mail(runtime, transport)
    row = message(runtime, message_id)
    assert (row.status, row.provider_id, row.sent_at, row.attempts) == ("sent", ACCEPTED, virtual.now(), 2)
    assert len(smtp.handler.received) == 1 and smtp.handler.refused_bodies == 1


def test_a_message_the_smtp_server_accepts_with_250_is_sent_once(
        runtime: Runtime, virtual: clock.VirtualClock, smtp: SmtpServer) -> None:
    message_id = queue(runtime)
    scheduling.deliver_mail(runtime, SmtpTransport(smtp_settings(smtp)))
    row = message(runtime, message_id)
    assert (row.status, row.provider_id, row.sent_at, row.handed_over_at) == ("sent", ACCEPTED, T0, T0)
    [got] = smtp.handler.received
    assert got.recipients == ["dsl@oak.example"] and row.message_id.encode() in got.data


def test_a_national_panel_submission_the_panels_server_refuses_leaves_the_case_open_and_is_shown_to_people(
        app: Flask, runtime: Runtime, smtp: SmtpServer) -> None:
    deploy_test_process(runtime)
    case_id = start_timer_case(runtime, "RR-SMTP-554", clock.now(), submit=True)
    scheduling.advance_due_cases(runtime)  # the submission task queues the e-mail and waits for it
    smtp.handler.data_reply = "554 5.7.1 Recipient address rejected: policy"
    transport = SmtpTransport(smtp_settings(smtp))
    scheduling.deliver_mail(runtime, transport)

    case = case_row(runtime, case_id)
    assert (case.status, case.submitted_at) == (cases.OPEN, None)
    assert not runtime.restore(case).is_completed  # the submission task still waits
    assert "submitted" not in [e.payload["to"] for e in audit_events(runtime, "status_changed", case_id)]
    words = "554 5.7.1 Recipient address rejected: policy"
    report = status.collect(runtime)
    assert not report["ok"] and words in status.render(report)  # `rapidreview status` exits 1 and says why
    page = sign_in(app, "pm@demo.example").get("/outbox").get_data(as_text=True)
    assert words in page and "Send again" in page

    [failed] = [m for m in report["outbox"]["failed_messages"] if words in m["reason"]]
    outbox.retry_message(runtime, failed["id"], actor="pm@demo.example")  # the Panel's mailbox is put right
    smtp.handler.data_reply = ACCEPTED
    scheduling.deliver_mail(runtime, transport)
    case = case_row(runtime, case_id)
    assert case.status == cases.SUBMITTED and case.submitted_at == clock.now()
    assert len(smtp.handler.received) == 1


def test_the_upgrade_turns_smtp_refusals_recorded_as_sent_into_failed_messages_and_leaves_real_sends_alone(
        database: tuple[str, str | None]) -> None:
    engine = make_engine(database[0], schema=database[1])
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
    provider_ids = {"refused": "554 5.7.1 Message rejected as spam", "deferred": "451 4.3.0 Queue full",
                    "smtp": "250 2.0.0 Ok: queued as 4F2A9C0DE1", "graph": "<20260603.rapidreview.1@partnership.example>",
                    "file": "/srv/rapidreview/outbox/20260603T090000Z-x.eml", "meeting": "AAMkAGI2event"}
    with engine.begin() as conn:
        for n, (name, provider_id) in enumerate(provider_ids.items()):
            conn.execute(text(
                "INSERT INTO outbox_messages (message_id, purpose, template, sender, \"to\", cc, subject, body_text, "
                "attachments, status, attempts, next_attempt_at, provider_id, created_at, sent_at, task_waits) VALUES "
                "(:m, 'notification', 't', 's@x.example', '[]', '[]', :subject, 'b', '[]', 'sent', 1, CURRENT_TIMESTAMP, "
                ":p, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, false)"), {"m": f"<{n}@x>", "subject": name, "p": provider_id})
    migrate(engine)
    with engine.connect() as conn:
        rows = {r.subject: r for r in conn.execute(text(
            "SELECT subject, status, provider_id, last_error, sent_at FROM outbox_messages"))}
    engine.dispose()
    assert {name: r.status for name, r in rows.items()} == {
        "refused": "failed", "deferred": "failed", "smtp": "sent", "graph": "sent", "file": "sent", "meeting": "sent"}
    assert rows["refused"].last_error == ("the SMTP server refused this message (554 5.7.1 Message rejected as spam); "
                                          "it was recorded as sent by mistake and has not been delivered")
    assert rows["refused"].provider_id == provider_ids["refused"] and rows["refused"].sent_at is not None
