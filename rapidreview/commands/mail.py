"""``rapidreview mail test --to ADDRESS``: send a test message through the configured transport;
``rapidreview mail check``: try each thing the transport needs (login, permissions, folders) and name what is
missing.

For whoever sets up mail: they show at once whether the settings, credentials and permissions work,
instead of waiting for the first case to fail (docs/mail.md).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from rapidreview.commands.failure import fail
from rapidreview.config import ConfigError, Settings, from_environment
from rapidreview.mail.check import Finding, check
from rapidreview.mail.message import OutgoingMail, new_message_id
from rapidreview.mail.templates import EmailTemplateError, render_email_parts
from rapidreview.mail.transports import PermanentMailError, TemporaryMailError, make_transport

EX_TEMPFAIL = 75  # sysexits.h: try again later


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mail = subparsers.add_parser("mail", help="check the mail set-up")
    commands = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    test = commands.add_parser("test", help="send a test message through the configured transport",
                               description="Sends templates/email/test_message through RAPIDREVIEW_MAIL_TRANSPORT.")
    test.add_argument("--to", required=True, metavar="ADDRESS", help="who should receive it")
    test.set_defaults(handler=test_cmd)
    check_parser = commands.add_parser(
        "check", help="check the transport's login, permissions and mailbox without sending anyone mail",
        description="graph: a token, then each application permission against the mailbox (the mailbox sends "
                    "itself one message); smtp: connect, TLS, login, MAIL FROM and RCPT TO, then RSET; "
                    "ews: log in and find the mailbox's folders; file: the outbox folder is writable. "
                    "Exit 0: all in place; 2: something is missing; 75: could not check now, try again.")
    check_parser.add_argument("--to", action="append", default=[], metavar="ADDRESS",
                              help="smtp: a recipient to try with RCPT TO (default: the National Panel's mailbox)")
    check_parser.set_defaults(handler=check_cmd)


def test_cmd(args: argparse.Namespace) -> int:
    to = args.to.strip()
    if "@" not in to or any(c.isspace() for c in to):
        return fail(f"--to must be one e-mail address, not {args.to!r}")
    try:
        settings = from_environment()
        mail = test_message(settings, to)
        transport = make_transport(settings)
        provider_id = transport.send(mail, datetime.now(UTC))
    except (ConfigError, EmailTemplateError, PermanentMailError) as exc:
        return fail(str(exc))
    except TemporaryMailError as exc:
        wait = f" (the server asked to wait {exc.retry_after:g} s)" if exc.retry_after else ""
        print(f"rapidreview: temporary failure, try again later{wait}: {exc}", file=sys.stderr)
        return EX_TEMPFAIL
    print(f"Sent a test message to {to} through {transport.name} from {mail.sender}.")
    print(f"Message-ID: {mail.message_id}")
    print(f"Provider id: {provider_id}")
    return 0


def check_cmd(args: argparse.Namespace) -> int:
    try:
        settings = from_environment()
    except ConfigError as exc:
        return fail(str(exc))
    print(f"Checking the {settings.mail_transport} mail transport:")
    findings = check(settings, [t.strip() for t in args.to])
    for finding in findings:
        print(_line(finding))
    problems = [f for f in findings if not f.ok]
    if not problems:
        print("Everything the app needs is in place.")
        return 0
    print(f"{len(problems)} problem(s): see above.", file=sys.stderr)
    return EX_TEMPFAIL if all(f.temporary for f in problems) else 2


def _line(finding: Finding) -> str:
    mark = "ok     " if finding.ok else ("TRY AGAIN" if finding.temporary else "MISSING")
    detail = f"\n           {finding.detail}" if finding.detail else ""
    return f"  {mark:9} {finding.what}{detail}"


def test_message(settings: Settings, to: str) -> OutgoingMail:
    rendered = render_email_parts(settings.templates_dir, "test_message",
                                  {"partnership_name": settings.partnership_name})
    return OutgoingMail(message_id=new_message_id(settings.mail_from), sender=settings.mail_from, to=[to],
                        subject=rendered.subject, body=rendered.text, html=rendered.html)

