"""The smtp transport against a real SMTP server (aiosmtpd, in this process) with STARTTLS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest

from rapidreview.config import SmtpSettings
from rapidreview.mail.smtp import SmtpTransport, needs_tls
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError, find_sent
from tests.test_mail_support import (
    ACCEPTED,
    PANEL,
    PDF,
    SMTP_USER,
    START,
    SmtpServer,
    TlsFiles,
    attendees,
    free_port,
    invitation,
    make_certificate,
    meeting_mail,
    outgoing,
    parse,
    serve_smtp,
    smtp_settings,
)

SENT_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)



@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture(scope="module")
def tls_server(tls: TlsFiles) -> Iterator[SmtpServer]:
    with serve_smtp(tls, starttls=True) as server:
        yield server


@pytest.fixture(scope="module")
def plain_server(tls: TlsFiles) -> Iterator[SmtpServer]:
    with serve_smtp(tls, starttls=False) as server:
        yield server


@pytest.fixture
def server(tls_server: SmtpServer) -> SmtpServer:
    tls_server.handler.reset()
    return tls_server


def transport(server: SmtpServer, **changes: Any) -> SmtpTransport:
    return SmtpTransport(replace(smtp_settings(server), **changes))


def calendar_of(data: bytes) -> icalendar.Calendar:
    parts = [p for p in parse(data).walk() if p.get_content_type() == "text/calendar" and not p.get_filename()]
    assert len(parts) == 1
    return icalendar.Calendar.from_ical(parts[0].get_content())


def test_the_national_panel_email_goes_over_starttls_with_login_and_its_pdf_intact(server: SmtpServer) -> None:
    mail = outgoing()
    provider_id = transport(server).send(mail, SENT_AT)
    assert provider_id == ACCEPTED
    [got] = server.handler.received
    assert got.encrypted and got.user == SMTP_USER
    assert got.sender == mail.sender and got.recipients == [PANEL, "chair@partnership.example"]
    message = parse(got.data)
    assert message["Message-ID"].strip() == mail.message_id
    # (a subject just over 78 characters is folded onto its own line; Python reads back a leading space)
    assert message["Subject"].strip() == mail.subject and message["To"] == PANEL
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == "Rapid Review Report RR-2026-014.pdf" and pdf.get_content() == PDF
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None and "signed Rapid Review Report" in body.get_content()
    assert html is not None and "<p>Please find attached" in html.get_content()


def test_a_meeting_invitation_is_a_valid_icalendar_request_with_attendees_and_utc_times(server: SmtpServer) -> None:
    transport(server).send(meeting_mail(), SENT_AT)
    [got] = server.handler.received
    assert got.recipients == ["dsl@oak-school.example", "lead@police.example"]
    calendar = calendar_of(got.data)
    assert calendar["METHOD"] == "REQUEST"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == "rapid-review-meeting-RR-2026-014@partnership.example"
    assert event["SEQUENCE"] == 0 and event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTART") == START and event.decoded("DTEND") == START + timedelta(hours=2)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert str(event["SUMMARY"]) == "Rapid Review Meeting: RR-2026-014"
    assert str(event["LOCATION"]) == "Civic Centre, Room 2"
    assert str(event["ORGANIZER"]) == "mailto:rapid.review@partnership.example"
    assert attendees(event) == ["mailto:dsl@oak-school.example", "mailto:lead@police.example"]


def test_a_rescheduled_meeting_keeps_its_uid_and_a_cancellation_cancels_it(server: SmtpServer) -> None:
    moved = invitation(sequence=1, starts_at=START + timedelta(days=1), ends_at=START + timedelta(days=1, hours=2))
    transport(server).send(meeting_mail(invitation=moved, message_id="<moved@partnership.example>"), SENT_AT)
    cancelled = replace(moved, sequence=2, cancel="meeting")
    transport(server).send(meeting_mail(invitation=cancelled, message_id="<cancel@partnership.example>"), SENT_AT)
    request, cancel = (calendar_of(r.data) for r in server.handler.received)
    [first], [second] = request.walk("VEVENT"), cancel.walk("VEVENT")
    assert first["UID"] == second["UID"] == invitation().uid
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (1, 2)
    assert first.decoded("DTSTART") == START + timedelta(days=1)
    assert cancel["METHOD"] == "CANCEL" and second["STATUS"] == "CANCELLED"
    parts = [p for p in parse(server.handler.received[1].data).walk() if p.get_content_type() == "text/calendar"]
    assert [p.get_param("method") for p in parts] == ["CANCEL", "CANCEL"]  # inline part and cancel.ics


def test_mail_to_gov_uk_is_refused_when_the_server_offers_no_tls(plain_server: SmtpServer) -> None:
    plain_server.handler.reset()
    smtp = transport(plain_server, tls="opportunistic", username="", password="")
    with pytest.raises(PermanentMailError, match="Mailbox.NationalReviewPanel@education.gov.uk.*did not offer STARTTLS"):
        smtp.send(outgoing(), SENT_AT)
    assert plain_server.handler.received == []
    # Other domains may still go in the clear when the operator chose "opportunistic".
    smtp.send(outgoing(to=["someone@partnership.example"], cc=[]), SENT_AT)
    assert [r.encrypted for r in plain_server.handler.received] == [False]


def test_tls_none_refuses_gov_uk_before_connecting() -> None:
    smtp = SmtpTransport(SmtpSettings(host="127.0.0.1", port=free_port(), tls="none"))
    with pytest.raises(PermanentMailError, match="without TLS"):
        smtp.send(outgoing(to=["a@ofsted.gov.uk"], cc=[]), SENT_AT)
    assert needs_tls("x@education.gov.uk", ("gov.uk",)) and needs_tls("x@gov.uk", ("gov.uk",))
    assert not needs_tls("x@notgov.uk", ("gov.uk",)) and not needs_tls("x@gov.uk.example", ("gov.uk",))


def test_starttls_required_but_not_offered_is_permanent(plain_server: SmtpServer) -> None:
    with pytest.raises(PermanentMailError, match="does not offer STARTTLS"):
        transport(plain_server).send(outgoing(), SENT_AT)


@pytest.mark.parametrize(("reply", "error"), [("451 4.3.0 Mailbox busy", TemporaryMailError),
                                               ("550 5.1.1 No such user", PermanentMailError)])
def test_a_refused_recipient_stops_the_whole_message(server: SmtpServer, reply: str, error: type[Exception]) -> None:
    server.handler.refuse["chair@partnership.example"] = reply
    with pytest.raises(error, match="chair@partnership.example: " + reply.split()[0]):
        transport(server).send(outgoing(), SENT_AT)
    assert server.handler.received == []  # the Panel did not get it either, so a retry sends no duplicate


def test_a_wrong_password_is_permanent(server: SmtpServer) -> None:
    with pytest.raises(PermanentMailError, match="refused the login"):
        transport(server, password="wrong").send(outgoing(), SENT_AT)


def test_an_untrusted_certificate_is_permanent(server: SmtpServer) -> None:
    with pytest.raises(PermanentMailError, match="certificate .* could not be verified"):
        transport(server, ca_file=None).send(outgoing(), SENT_AT)


def test_a_server_that_is_down_is_temporary(tmp_path: Path) -> None:
    smtp = SmtpTransport(SmtpSettings(host="127.0.0.1", port=free_port(), timeout_s=5))
    with pytest.raises(TemporaryMailError, match="cannot reach the SMTP server"):
        smtp.send(outgoing(), SENT_AT)
    assert find_sent(smtp, "<x@y>") is None  # an SMTP server cannot be asked what it sent


# -- what the server answers to the message body -----------------------------------------------------------

@pytest.mark.parametrize(("reply", "error"), [("554 5.7.1 Message rejected: policy violation", PermanentMailError),
                                               ("451 4.3.0 Queue full, try again later", TemporaryMailError)])
def test_a_message_the_server_refuses_after_data_is_not_sent_and_says_what_the_server_said(
        server: SmtpServer, reply: str, error: type[Exception]) -> None:
    server.handler.data_reply = reply
    with pytest.raises(error, match=f"refused the message: {reply}$") as caught:
        transport(server).send(outgoing(), SENT_AT)
    assert not getattr(caught.value, "in_doubt", False)  # a refusal is a verdict: the server does not have it
    assert server.handler.refused_bodies == 1 and server.handler.received == []


def test_only_a_2xx_answer_to_the_body_is_a_send(server: SmtpServer) -> None:
    server.handler.data_reply = "251 2.1.5 Accepted, will forward"  # odd but 2xx
    assert transport(server).send(outgoing(), SENT_AT) == "251 2.1.5 Accepted, will forward"
    server.handler.data_reply = "354 3.0.0 Go on"  # not an answer a body may get
    with pytest.raises(PermanentMailError, match="refused the message: 354"):
        transport(server).send(outgoing(), SENT_AT)


def test_a_connection_lost_before_the_answer_to_the_body_leaves_the_message_in_doubt(server: SmtpServer) -> None:
    server.handler.drop_after_data = True
    with pytest.raises(TemporaryMailError, match="may or may not have accepted") as caught:
        transport(server).send(outgoing(), SENT_AT)
    assert caught.value.in_doubt and len(server.handler.received) == 1  # it did arrive: a retry may duplicate it


def test_the_hand_over_is_marked_after_every_recipient_is_accepted_and_before_data(server: SmtpServer) -> None:
    marks: list[int] = []

    class Progress:
        draft_id = None

        def keep_draft(self, draft_id: str | None) -> None:
            raise AssertionError("SMTP keeps no drafts")

        def handing_over(self) -> None:
            marks.append(len(server.handler.received))

    server.handler.refuse["chair@partnership.example"] = "550 5.1.1 No such user"
    with pytest.raises(PermanentMailError):
        transport(server).send(replace(outgoing(), progress=Progress()), SENT_AT)
    assert marks == []  # refused at RCPT: never handed over, so safe to send again without a duplicate
    server.handler.refuse.clear()
    transport(server).send(replace(outgoing(), progress=Progress()), SENT_AT)
    assert marks == [0]  # marked once, before the server had the body
