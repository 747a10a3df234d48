"""Shared helpers for the mail tests (no tests here): a self-signed certificate for 127.0.0.1, a real SMTP
server (aiosmtpd) that answers what a test tells it to, e-mail parsing, and factories for outgoing mail and
invitations."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from rapidreview.config import SmtpSettings
from rapidreview.mail.invitation import Invitation
from rapidreview.mail.message import Attachment, OutgoingMail

START = dt.datetime(2026, 6, 3, 9, 0, tzinfo=dt.UTC)  # Wednesday 3 June 2026, 10:00 London
ORGANIZER = "rapid.review@partnership.example"
PANEL = "Mailbox.NationalReviewPanel@education.gov.uk"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"  # binary, so a lossy transfer shows


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path  # also the CA file clients trust: it signs itself
    key: Path


def make_certificate(folder: Path) -> TlsFiles:
    """A self-signed certificate for localhost and 127.0.0.1 (an EC key: fast to make)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    files.certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- a real SMTP server --------------------------------------------------------------------------------

SMTP_USER, SMTP_PASSWORD = "rapidreview", "correct horse battery staple"
ACCEPTED = "250 2.0.0 Ok: queued as 4F2A9C0DE1"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    encrypted: bool
    user: str | None


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler that keeps what it accepts, refuses the addresses it is told to, and answers the
    end of each message body with ``data_reply`` (or, with ``drop_after_data``, queues the message and
    hangs up before answering)."""

    received: list[Received] = field(default_factory=list)
    refused_bodies: int = 0
    refuse: dict[str, str] = field(default_factory=dict)
    data_reply: str = ACCEPTED
    drop_after_data: bool = False

    def reset(self) -> None:
        self.received.clear()
        self.refuse.clear()
        self.refused_bodies, self.data_reply, self.drop_after_data = 0, ACCEPTED, False

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.data_reply.startswith("2"):
            self.refused_bodies += 1
            return self.data_reply
        user = session.auth_data.login.decode() if session.authenticated else None
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                                      session.ssl is not None, user))
        if self.drop_after_data:
            server.transport.close()  # queued, but the answer never reaches the client
        return self.data_reply


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(), SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@dataclass
class SmtpServer:
    port: int
    handler: SmtpRecorder
    tls: TlsFiles


@contextmanager
def serve_smtp(tls: TlsFiles, *, starttls: bool) -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1 with LOGIN over TLS; ``starttls`` also requires STARTTLS before anything else."""
    context = None
    if starttls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls.certificate, tls.key)
    handler = SmtpRecorder()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=context,
                            require_starttls=starttls, authenticator=_authenticator, auth_require_tls=True,
                            server_hostname="localhost")
    controller.start()
    try:
        yield SmtpServer(controller.port, handler, tls)
    finally:
        controller.stop()


def smtp_settings(server: SmtpServer) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=server.port, tls="starttls", username=SMTP_USER,
                        password=SMTP_PASSWORD, ca_file=server.tls.certificate, timeout_s=10,
                        local_hostname="rapidreview.test")


# -- messages -------------------------------------------------------------------------------------------

def parse(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def attendees(event: Any) -> list[str]:
    """An icalendar event's ATTENDEE values (one is not returned as a list)."""
    value = event.get("ATTENDEE", [])
    return [str(a) for a in (value if isinstance(value, list) else [value])]


def invitation(**changes: Any) -> Invitation:
    fields: dict[str, Any] = dict(
        uid="rapid-review-meeting-RR-2026-014@partnership.example", sequence=0, summary="Rapid Review Meeting: RR-2026-014",
        description="You are invited.", location="Civic Centre, Room 2", starts_at=START,
        ends_at=START + dt.timedelta(hours=2), organizer=ORGANIZER,
        attendees=["dsl@oak-school.example", "lead@police.example"])
    fields.update(changes)
    return Invitation(**fields)


def outgoing(**changes: Any) -> OutgoingMail:
    fields: dict[str, Any] = dict(
        message_id="<20260603.rapidreview.1@partnership.example>", sender=ORGANIZER, to=[PANEL],
        cc=["chair@partnership.example"], subject="Rapid Review report RR-2026-014 from Safeguarding Children Partnership",
        body="Please find attached the signed Rapid Review Report.\n",
        html="<p>Please find attached the signed Rapid Review Report.</p>",
        attachments=[Attachment("Rapid Review Report RR-2026-014.pdf", "application/pdf", PDF)])
    fields.update(changes)
    return OutgoingMail(**fields)


def meeting_mail(**changes: Any) -> OutgoingMail:
    inv = changes.pop("invitation", None) or invitation()
    return outgoing(message_id=changes.pop("message_id", "<meeting.1@partnership.example>"), to=list(inv.attendees), cc=[],
                    subject="Rapid Review Meeting: RR-2026-014", body="You are invited.\n",
                    html="<p>You are invited.</p>", attachments=[], invitation=inv, **changes)
