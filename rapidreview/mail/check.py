"""``rapidreview mail check``: try, step by step, what the configured transport will need, without sending
anyone a message (Graph excepted: its send permission is shown by one message from the mailbox to itself).

- graph: a token, then each application permission against the mailbox (graph_check.py);
- smtp: connect, TLS, login, then MAIL FROM and RCPT TO for the recipients, and RSET instead of DATA;
- ews: log in and find the mailbox's Sent Items and Calendar (Send As shows only when sending: mail test);
- file: the outbox folder can be written.
"""

from __future__ import annotations

import smtplib
import ssl
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rapidreview.config import Settings
from rapidreview.mail.finding import Finding, checked
from rapidreview.mail.finding import failed as _failed
from rapidreview.mail.interface import PermanentMailError, TemporaryMailError


def check(settings: Settings, recipients: Sequence[str] = ()) -> list[Finding]:
    """What works and what does not for ``settings``' transport; ``recipients`` for SMTP's RCPT (default:
    the National Panel's mailbox, the one address that must always work)."""
    name = settings.mail_transport
    if name == "graph":
        from rapidreview.mail.graph_check import check_graph

        return check_graph(settings)
    if name == "smtp":
        return check_smtp(settings, list(recipients) or [settings.national_panel_address])
    if name == "ews":
        return check_ews(settings)
    return check_file(settings.outbox_dir)


def check_file(folder: Path) -> list[Finding]:
    what = f"the outbox folder {folder} can be written"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".mail-check-"):
            pass
    except OSError as exc:
        return [Finding(False, what, str(exc))]
    return [Finding(True, what)]


def check_smtp(settings: Settings, recipients: list[str]) -> list[Finding]:
    from rapidreview.mail.smtp import SmtpTransport, needs_tls, quit_quietly

    c = settings.smtp
    transport = SmtpTransport(c)
    findings: list[Finding] = []
    try:
        with transport.translated_errors():
            smtp, encrypted = transport.connect()
    except (PermanentMailError, TemporaryMailError) as exc:
        return [_failed(f"connecting to {c.host}:{c.port}", exc)]
    try:
        findings.append(Finding(True, f"connected to {c.host}:{c.port}", _tls_note(smtp, encrypted)))
        findings.append(_step(f"login as {c.username}" if c.username else "no login (RAPIDREVIEW_SMTP_USERNAME unset)",
                              lambda: transport.login(smtp, encrypted), transport))
        if not findings[-1].ok:
            return findings
        findings.append(_step(f"the sender {settings.mail_from} (MAIL FROM)",
                              lambda: _answer(smtp.mail(settings.mail_from), settings.mail_from), transport))
        if findings[-1].ok:
            for address in recipients:
                if needs_tls(address, c.require_tls_domains) and not encrypted:
                    findings.append(Finding(False, f"the recipient {address}", "mail to it must be encrypted in "
                                            "transit, and this connection is not"))
                    continue
                findings.append(_step(f"the recipient {address} (RCPT TO)", _rcpt(smtp, address), transport))
        with transport.translated_errors():
            smtp.rset()  # no DATA: nothing is sent
    except (PermanentMailError, TemporaryMailError) as exc:
        findings.append(_failed("RSET", exc))
    finally:
        quit_quietly(smtp)
    return findings


def _tls_note(smtp: smtplib.SMTP, encrypted: bool) -> str:
    if not encrypted:
        return "not encrypted"
    sock = smtp.sock
    version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
    return f"encrypted ({version})" if version else "encrypted"


def _rcpt(smtp: smtplib.SMTP, address: str) -> Callable[[], str]:
    return lambda: _answer(smtp.rcpt(address), address)


def _answer(reply: tuple[int, bytes], address: str) -> str:
    code, text = reply
    if code not in (250, 251):
        raise smtplib.SMTPResponseException(code, text)
    return address


def check_ews(settings: Settings) -> list[Finding]:
    from rapidreview.mail.ews import EwsTransport, translated_errors
    from rapidreview.mail.meetings import UnavailableMeetingItems

    mailbox = settings.ews.mailbox or settings.mail_from
    transport = EwsTransport(settings.ews, mailbox=mailbox, meetings=UnavailableMeetingItems())
    findings: list[Finding] = []
    for what, folder in ((f"logged in and found the Sent Items of {mailbox}", "sent"),
                         (f"found the Calendar of {mailbox}", "calendar")):
        try:
            with translated_errors(settings.ews.url):
                getattr(transport.account(), folder)
        except (PermanentMailError, TemporaryMailError) as exc:
            findings.append(_failed(what, exc))
            break
        findings.append(Finding(True, what))
    return findings


def _step(what: str, action: Callable[[], Any], transport: Any) -> Finding:
    def translated() -> None:
        with transport.translated_errors():
            action()

    return checked(what, translated)
