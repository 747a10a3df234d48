"""Shared helpers for the mail tests (no tests here): a self-signed certificate for 127.0.0.1, e-mail
parsing, and factories for outgoing mail and invitations."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
