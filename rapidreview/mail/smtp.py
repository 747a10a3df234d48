"""SMTP with STARTTLS (or implicit TLS), authentication, and TLS enforced for gov.uk recipients.

A message counts as sent only when the server answers the end of its body with a 2xx reply ("250 2.0.0
Ok: queued as ..."), which becomes the provider id. Any other answer is the server refusing it: 4xx is
temporary (the outbox retries), 5xx permanent (a person must look).

We send with smtplib's own ``mail``/``rcpt``/``data`` and its verdict rule (``sendmail`` raises
``SMTPDataError`` unless the body is accepted) but not through ``sendmail`` itself: when the server
refuses some recipients, ``sendmail`` sends to the others and only reports the refusals. Here every
recipient is checked with RCPT first and one refusal stops the whole message (RSET, no DATA), so nobody
gets it twice when it is retried.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from email import policy

from rapidreview.config import SmtpSettings
from rapidreview.mail.interface import PermanentMailError, TemporaryMailError
from rapidreview.mail.message import OutgoingMail, to_email_message


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").lower()


def needs_tls(address: str, domains: tuple[str, ...]) -> bool:
    domain = domain_of(address)
    return any(domain == d or domain.endswith("." + d) for d in domains)


class SmtpTransport:
    name = "smtp"
    reports_handover = True  # just before DATA; an SMTP server cannot be asked what it sent (no find_sent)

    def __init__(self, config: SmtpSettings) -> None:
        self.config = config

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.config.ca_file) if self.config.ca_file else None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def connect(self) -> tuple[smtplib.SMTP, bool]:
        """An open session to the server and whether it is encrypted."""
        c = self.config
        local = c.local_hostname or None
        if c.tls == "ssl":
            return smtplib.SMTP_SSL(c.host, c.port, local_hostname=local, timeout=c.timeout_s,
                                    context=self._context()), True
        smtp = smtplib.SMTP(c.host, c.port, local_hostname=local, timeout=c.timeout_s)
        try:
            smtp.ehlo()
            if c.tls == "none":
                return smtp, False
            if not smtp.has_extn("starttls"):
                if c.tls == "starttls":
                    raise PermanentMailError(f"the SMTP server {c.host}:{c.port} does not offer STARTTLS, which "
                                             "RAPIDREVIEW_SMTP_TLS=starttls requires")
                return smtp, False
            smtp.starttls(context=self._context())
            smtp.ehlo()
            return smtp, True
        except BaseException:
            smtp.close()
            raise

    def send(self, mail: OutgoingMail, sent_at: datetime) -> str:
        c = self.config
        recipients = mail.recipients
        if not recipients:
            raise PermanentMailError("the message has no recipients")
        protected = [r for r in recipients if needs_tls(r, c.require_tls_domains)]
        if protected and c.tls == "none":
            raise PermanentMailError(f"will not send to {', '.join(protected)} without TLS "
                                     f"(RAPIDREVIEW_SMTP_TLS=none); government mail must be encrypted in transit")
        data = to_email_message(mail, sent_at).as_bytes(policy=policy.SMTP)
        with self.translated_errors():
            smtp, encrypted = self.connect()
            try:
                if protected and not encrypted:
                    raise PermanentMailError(f"will not send to {', '.join(protected)}: the SMTP server {c.host} "
                                             "did not offer STARTTLS, and government mail must be encrypted in transit")
                self.login(smtp, encrypted)
                return self._transaction(smtp, mail, recipients, data)
            finally:
                quit_quietly(smtp)

    @contextmanager
    def translated_errors(self) -> Iterator[None]:
        """smtplib's, ssl's and the network's exceptions as PermanentMailError or TemporaryMailError."""
        c = self.config
        try:
            yield
        except (PermanentMailError, TemporaryMailError):
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentMailError(f"the SMTP server {c.host} refused the login for {c.username}: "
                                     f"{_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentMailError(f"the SMTP server {c.host} does not support what we asked: {exc}") from exc
        except smtplib.SMTPDataError as exc:
            raise _classify(exc.smtp_code, f"the SMTP server {c.host} refused the message: "
                                           f"{_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except smtplib.SMTPSenderRefused as exc:
            raise _classify(exc.smtp_code, f"the SMTP server {c.host} refused the sender {exc.sender}: "
                                           f"{_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, f"the SMTP server {c.host} said {_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise PermanentMailError(f"the certificate of the SMTP server {c.host} could not be verified: "
                                     f"{exc.verify_message} (RAPIDREVIEW_SMTP_CA_FILE names a private CA)") from exc
        except (smtplib.SMTPException, OSError) as exc:  # disconnected, refused, timed out, TLS broken
            raise TemporaryMailError(f"cannot reach the SMTP server {c.host}:{c.port}: {exc}") from exc

    def login(self, smtp: smtplib.SMTP, encrypted: bool) -> None:
        c = self.config
        if not c.username:
            return
        if not encrypted:
            raise PermanentMailError(f"will not send the SMTP password to {c.host} unencrypted: "
                                     "the server did not offer STARTTLS")
        smtp.login(c.username, c.password)

    def _transaction(self, smtp: smtplib.SMTP, mail: OutgoingMail, recipients: list[str], data: bytes) -> str:
        sender = mail.sender
        options = []
        if not all(a.isascii() for a in (sender, *recipients)) and smtp.has_extn("smtputf8"):
            options.append("SMTPUTF8")
        if smtp.has_extn("size"):  # as sendmail does: a server may refuse an oversized message before DATA
            options.append(f"SIZE={len(data)}")
        code, reply = smtp.mail(sender, options)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for address in recipients:
            code, reply = smtp.rcpt(address)
            if code not in (250, 251):
                refused[address] = (code, reply)
        if refused:
            smtp.rset()  # nobody gets it, so a retry cannot send anyone a second copy
            detail = "; ".join(f"{a}: {_reply(code, reply)}" for a, (code, reply) in refused.items())
            temporary = all(400 <= code < 500 for code, _ in refused.values())
            message = f"the SMTP server refused {detail}; the message was sent to nobody"
            raise TemporaryMailError(message) if temporary else PermanentMailError(message)
        mail.handing_over()
        try:
            # data() raises SMTPDataError when DATA itself is refused (no body sent) and returns the reply
            # to the body, which we judge as sendmail does.
            code, reply = smtp.data(data)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The body may have arrived whole and been queued before the connection went: in doubt.
            raise TemporaryMailError(f"the connection to the SMTP server {self.config.host} broke during DATA, so "
                                     f"it may or may not have accepted the message: {exc}", in_doubt=True) from exc
        if not 200 <= code < 300:
            raise smtplib.SMTPDataError(code, reply)
        return _reply(code, reply)[:500]


def quit_quietly(smtp: smtplib.SMTP) -> None:
    """Say goodbye; a failure here changes nothing about the answer we already have for the message.
    (``with smtp:`` would let an error from QUIT replace that answer, and an accepted message be retried.)"""
    with suppress(smtplib.SMTPException, OSError):
        smtp.quit()
    smtp.close()


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}"


def _classify(code: int, message: str) -> PermanentMailError | TemporaryMailError:
    return TemporaryMailError(message) if 400 <= code < 500 or code == -1 else PermanentMailError(message)
