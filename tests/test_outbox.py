"""The outbox sender: temporary failures back off and are retried, permanent ones stop and are shown,
a message in doubt is not sent twice when the transport can tell, and two senders never share a message."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from rapidreview import clock
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError
from rapidreview.services import outbox
from rapidreview.services.runtime import Runtime
from rapidreview.store.db import transaction
from rapidreview.store.models import OutboxMessage
from tests.test_scheduler import T0, RecordingTransport, audit_events


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
    assert [d.status for d in outbox.deliver_due(runtime, transport)] == ["pending"]
    assert message(runtime, message_id).next_attempt_at == T0 + timedelta(seconds=5)
    assert outbox.deliver_due(runtime, transport) == []  # not before its time
    virtual.set(T0 + timedelta(seconds=5))
    outbox.deliver_due(runtime, transport)
    assert message(runtime, message_id).next_attempt_at == T0 + timedelta(seconds=15)
    with transaction(runtime.sessions) as session:
        [retrying] = outbox.retrying_messages(session)
    assert (retrying.reason, retrying.attempts) == ("connection refused", 2)

    virtual.set(T0 + timedelta(seconds=15))
    assert [d.status for d in outbox.deliver_due(runtime, transport)] == ["sent"]
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
    outbox.deliver_due(runtime, transport)
    virtual.set(T0 + timedelta(days=1))
    assert outbox.deliver_due(runtime, transport) == []
    with transaction(runtime.sessions) as session:
        [failed] = outbox.failed_messages(session)
        assert outbox.backlog(session).failed == 1
    assert (failed.subject, failed.reason, failed.status, failed.next_attempt_at) == (
        "To a closed mailbox", "550 5.1.1 mailbox unavailable", "failed", None)

    outbox.retry_message(runtime, message_id, actor="partnership.manager@partnership.example")
    outbox.deliver_due(runtime, transport)
    assert message(runtime, message_id).status == "sent" and len(transport.sent) == 1
    with pytest.raises(ValueError, match="has not failed"):
        outbox.retry_message(runtime, message_id, actor="someone")


def test_a_failed_message_nobody_needs_any_more_can_be_cancelled_on_the_record(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime, "Reminder overtaken by events")
    outbox.deliver_due(runtime, RecordingTransport(PermanentMailError("550 mailbox unavailable")))
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
        outbox.deliver_due(runtime, dying)
    assert message(runtime, message_id).status == "sending"
    assert outbox.deliver_due(runtime, TellingTransport()) == []  # claimed: nobody else touches it

    virtual.set(T0 + outbox.LEASE)  # the claim lapses: the message is in doubt
    survivor = TellingTransport()
    survivor.sent = list(dying.sent)  # the provider's Sent Items hold what the dead sender sent
    outbox.deliver_due(runtime, survivor)
    row = message(runtime, message_id)
    assert survivor.sent == dying.sent and (row.status, row.provider_id) == ("sent", "found-in-sent-items")
    assert row.sent_at == T0  # accepted during the attempt that died
    [sent] = audit_events(runtime, "email_sent")
    assert sent.payload["found_already_sent"] is True


def test_without_a_way_to_tell_a_message_in_doubt_is_sent_again_rather_than_lost(
        runtime: Runtime, virtual: clock.VirtualClock) -> None:
    message_id = queue(runtime)
    with pytest.raises(Crash):
        outbox.deliver_due(runtime, AcceptsThenDies())
    virtual.set(T0 + outbox.LEASE)
    smtp_like = RecordingTransport()
    outbox.deliver_due(runtime, smtp_like)
    assert message(runtime, message_id).status == "sent" and len(smtp_like.sent) == 1


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
            outbox.deliver_due(runtime, transport, worker=name)
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
