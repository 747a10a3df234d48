"""After a deploy: does everything the service depends on work, end to end? (``rapidreview check``)

Each check returns a ``CheckResult``; one that fails says what to look at. The e-mail really goes out through
the configured transport and the PDF is really converted, because a setting that parses but does not work
(a wrong relay, a converter that will not start) is what goes wrong on a new host.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from rapidreview.config import Settings
from rapidreview.errors import Invalid
from rapidreview.runtime import Runtime
from rapidreview.services.platform.health import readiness
from rapidreview.store import schema_revisions


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def run_checks(rt: Runtime, *, mail_to: str | None, pdf: bool = True) -> list[CheckResult]:
    checks: list[tuple[str, Callable[[], str]]] = [
        ("database", lambda: _database(rt)),
        ("migrations", lambda: _migrations(rt)),
        ("scheduler", lambda: _scheduler(rt)),
    ]
    if pdf:
        checks.append(("pdf", lambda: _pdf(rt.settings)))
    if mail_to:
        checks.append(("mail", lambda: _mail(rt.settings, mail_to)))
    results = []
    for name, check in checks:
        try:
            results.append(CheckResult(name, True, check()))
        except Exception as exc:  # every check runs and reports, whatever the others did
            results.append(CheckResult(name, False, str(exc) or type(exc).__name__))
    return results


def _database(rt: Runtime) -> str:
    with rt.database.connect() as connection:
        connection.execute(text("SELECT 1"))
    return f"{rt.database.dialect.name} answers"


def _migrations(rt: Runtime) -> str:
    at, head = schema_revisions.current_of(rt.database), schema_revisions.head()
    if at == head:
        return f"at {head}"
    if at is not None and not schema_revisions.is_known(at):
        return f"at {at}, newer than this release's {head} (a later release migrated it)"
    raise RuntimeError(f"the database is at {at or 'nothing'}, this release needs {head}: run `rapidreview db upgrade`")


def _scheduler(rt: Runtime) -> str:
    if readiness(rt).checks.get("scheduler") != "ok":
        raise RuntimeError("no scheduler has beaten its heart in the last 30 seconds: timers will not fire and "
                           "e-mail will not go (start the rapidreview-scheduler service)")
    return "a scheduler is alive"


def _pdf(settings: Settings) -> str:
    from docx import Document as Docx

    from rapidreview.documents import pdf as converter

    with tempfile.TemporaryDirectory(prefix="rapidreview-check-") as scratch:
        source = Path(scratch) / "check.docx"
        document = Docx()
        document.add_paragraph("Rapid Review: PDF conversion check")
        document.save(str(source))
        warm_before = converter._counts["warm"]  # which converter did it: the warm one can fall back to cold
        started = datetime.now(UTC)
        pdf = converter.convert_to_pdf(source, Path(scratch), timeout=settings.pdf_timeout_s)
        if not pdf.read_bytes().startswith(b"%PDF"):
            raise RuntimeError("the converter produced a file that is not a PDF")
        seconds = (datetime.now(UTC) - started).total_seconds()
    if converter._counts["warm"] > warm_before:
        return f"converted in {seconds:.1f} s by the warm converter at {converter.warm_server()}"
    note = f"; the warm converter at {converter.warm_server()} did not answer (see the log)" \
        if converter.warm_server() else ""
    return f"converted in {seconds:.1f} s by a fresh LibreOffice{note}"


def _mail(settings: Settings, to: str) -> str:
    from rapidreview.commands.mail import test_message
    from rapidreview.mail.transports import make_transport

    if "@" not in to or any(c.isspace() for c in to):
        raise Invalid(f"--mail-to must be one e-mail address, not {to!r}")
    mail = test_message(settings, to)
    transport = make_transport(settings)
    provider_id = transport.send(mail, datetime.now(UTC))
    return f"sent to {to} through {transport.name} (provider id {provider_id})"
