"""The smtp transport against a real SMTP server (aiosmtpd, in this process) with STARTTLS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from rapidreview.config import SmtpSettings
from rapidreview.mail.smtp import SmtpTransport, needs_tls
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError
from tests.test_mail_support import (
    PANEL,
    PDF,
    START,
    TlsFiles,
    attendees,
    free_port,
    invitation,
    make_certificate,
    meeting_mail,
    outgoing,
    parse,
)

SENT_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
USER, PASSWORD = "rapidreview", "correct horse battery staple"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    encrypted: bool
    user: str | None


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it receives and refuses the addresses it is told to."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        user = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                      session.ssl is not None, user))
        return "250 2.0.0 Ok: queued as 4F2A9C0DE1"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@dataclass
class Server:
    port: int
    handler: Recorder
    tls: TlsFiles


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


def _serve(handler: Recorder, tls: TlsFiles, *, starttls: bool) -> Controller:
    context = None
    if starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.certificate, tls.key)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=starttls, authenticator=_authenticator, auth_require_tls=True,
                            server_hostname="localhost")
    controller.start()
    return controller


@pytest.fixture(scope="module")
def tls_server(tls: TlsFiles) -> Iterator[Server]:
    handler = Recorder()
    controller = _serve(handler, tls, starttls=True)
    yield Server(controller.port, handler, tls)
    controller.stop()


@pytest.fixture(scope="module")
def plain_server(tls: TlsFiles) -> Iterator[Server]:
    handler = Recorder()
    controller = _serve(handler, tls, starttls=False)
    yield Server(controller.port, handler, tls)
    controller.stop()


@pytest.fixture
def server(tls_server: Server) -> Server:
    tls_server.handler.received.clear()
    tls_server.handler.refuse.clear()
    return tls_server


def transport(server: Server, **changes: Any) -> SmtpTransport:
    settings = SmtpSettings(host="127.0.0.1", port=server.port, tls="starttls", username=USER, password=PASSWORD,
                            ca_file=server.tls.certificate, timeout_s=10, local_hostname="rapidreview.test")
    return SmtpTransport(replace(settings, **changes))


def calendar_of(data: bytes) -> icalendar.Calendar:
    parts = [p for p in parse(data).walk() if p.get_content_type() == "text/calendar" and not p.get_filename()]
    assert len(parts) == 1
    return icalendar.Calendar.from_ical(parts[0].get_content())


def test_the_national_panel_email_goes_over_starttls_with_login_and_its_pdf_intact(server: Server) -> None:
    mail = outgoing()
    provider_id = transport(server).send(mail, SENT_AT)
    assert provider_id == "250 2.0.0 Ok: queued as 4F2A9C0DE1"
    [got] = server.handler.received
    assert got.encrypted and got.user == USER
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


def test_a_meeting_invitation_is_a_valid_icalendar_request_with_attendees_and_utc_times(server: Server) -> None:
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


def test_a_rescheduled_meeting_keeps_its_uid_and_a_cancellation_cancels_it(server: Server) -> None:
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


def test_mail_to_gov_uk_is_refused_when_the_server_offers_no_tls(plain_server: Server) -> None:
    plain_server.handler.received.clear()
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


def test_starttls_required_but_not_offered_is_permanent(plain_server: Server) -> None:
    with pytest.raises(PermanentMailError, match="does not offer STARTTLS"):
        transport(plain_server).send(outgoing(), SENT_AT)


@pytest.mark.parametrize(("reply", "error"), [("451 4.3.0 Mailbox busy", TemporaryMailError),
                                               ("550 5.1.1 No such user", PermanentMailError)])
def test_a_refused_recipient_stops_the_whole_message(server: Server, reply: str, error: type[Exception]) -> None:
    server.handler.refuse["chair@partnership.example"] = reply
    with pytest.raises(error, match="chair@partnership.example: " + reply.split()[0]):
        transport(server).send(outgoing(), SENT_AT)
    assert server.handler.received == []  # the Panel did not get it either, so a retry sends no duplicate


def test_a_wrong_password_is_permanent(server: Server) -> None:
    with pytest.raises(PermanentMailError, match="refused the login"):
        transport(server, password="wrong").send(outgoing(), SENT_AT)


def test_an_untrusted_certificate_is_permanent(server: Server) -> None:
    with pytest.raises(PermanentMailError, match="certificate .* could not be verified"):
        transport(server, ca_file=None).send(outgoing(), SENT_AT)


def test_a_server_that_is_down_is_temporary(tmp_path: Path) -> None:
    smtp = SmtpTransport(SmtpSettings(host="127.0.0.1", port=free_port(), timeout_s=5))
    with pytest.raises(TemporaryMailError, match="cannot reach the SMTP server"):
        smtp.send(outgoing(), SENT_AT)
    assert smtp.find_sent("<x@y>") is None
