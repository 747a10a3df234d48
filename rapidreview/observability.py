"""Logs and metrics for operators: what happened to cases, timers, e-mails and PDFs, with ids and never a name.

- ``configure_logging()``: one format for every process, text (default) or JSON lines
  (``RAPIDREVIEW_LOG_FORMAT=json``), at ``RAPIDREVIEW_LOG_LEVEL`` (default INFO), to standard error, where
  systemd's journal (or gunicorn's error log) takes it.
- A log line, and a Prometheus count, for every case step, timer fired and e-mail sent or failed, written once
  the transaction that did it has committed (a step that rolls back logged nothing). They come from the audit
  events, keeping only the keys in LOGGED_KEYS: ids, element ids, agencies, partners, timings. Never the
  child's name, a recipient's address, a subject or an error text, which can quote an address.
- Process metrics (counts and durations) live in the process that did the work. Under gunicorn with several
  workers, and with the scheduler as its own process, set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's
  multiprocess mode) for them all so /metrics adds them up; docs/operations.md, Monitoring.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from rapidreview.config import ConfigError

LOG_FORMAT_ENV, LOG_LEVEL_ENV = "RAPIDREVIEW_LOG_FORMAT", "RAPIDREVIEW_LOG_LEVEL"
LOG_FORMATS = ("text", "json")
events_log = logging.getLogger("rapidreview.events")

# Audit event types that are worth a line in the operators' log, and the payload keys that may go with them.
LOGGED_EVENTS = frozenset({"case_started", "task_completed", "timer_fired", "step_failed", "status_changed",
                           "email_sent", "email_failed"})
LOGGED_KEYS = ("reference", "id", "task", "partner", "agency", "late_ms", "message_id", "purpose", "template",
               "attempts", "permanent", "process_version")

CASE_EVENTS = Counter("rapidreview_case_events_total",
                      "Case steps, timers fired and e-mails sent or failed, by audit event type", ["type"])
TIMER_LATENESS = Histogram("rapidreview_timer_lateness_seconds", "How long after its due time a timer fired",
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600))
PDF_CONVERSIONS = Counter("rapidreview_pdf_conversions_total", "PDF conversions by converter and outcome",
                          ["converter", "outcome"])
PDF_SECONDS = Histogram("rapidreview_pdf_conversion_seconds", "How long a successful PDF conversion took",
                        ["converter"], buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120))


# -- logging --------------------------------------------------------------------------------------------------

class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the event's fields when it has them."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def log_settings(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    env = os.environ if environ is None else environ
    fmt = (env.get(LOG_FORMAT_ENV) or "text").strip().lower()
    if fmt not in LOG_FORMATS:
        raise ConfigError(f"{LOG_FORMAT_ENV} must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    level_name = (env.get(LOG_LEVEL_ENV) or "INFO").strip().upper()
    level = logging.getLevelName(level_name)
    if not isinstance(level, int):
        raise ConfigError(f"{LOG_LEVEL_ENV} must be DEBUG, INFO, WARNING or ERROR, not {level_name!r}")
    return fmt, level


def configure_logging(environ: Mapping[str, str] | None = None) -> None:
    """Set the root logger's one handler (standard error) from the environment; safe to call again."""
    fmt, level = log_settings(environ)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_rapidreview", False)]:
        root.removeHandler(old)
    handler._rapidreview = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces its dialect on every connection; `db upgrade` names the migrations it applies itself.
    logging.getLogger("alembic.runtime.migration").setLevel(max(level, logging.WARNING))
    # SpiffWorkflow logs every task's change of state at INFO: thousands of lines per case, none an operator
    # needs (the audit trail records what happened). DEBUG still shows them.
    logging.getLogger("spiff").setLevel(level if level <= logging.DEBUG else max(level, logging.WARNING))


# -- case events: logged and counted once committed -----------------------------------------------------------

_OBSERVED = "rapidreview_observed_events"


def _after_flush(session: Session, _context: Any) -> None:
    from rapidreview.store.models import AuditEvent

    found = [(e.type, e.case_id, dict(e.payload or {})) for e in session.new
             if isinstance(e, AuditEvent) and e.type in LOGGED_EVENTS]
    if found:
        session.info.setdefault(_OBSERVED, []).extend(found)


def _after_commit(session: Session) -> None:
    for type_, case_id, payload in session.info.pop(_OBSERVED, []):
        case_event(type_, case_id, payload)


def _after_rollback(session: Session) -> None:
    session.info.pop(_OBSERVED, None)


def install() -> None:
    """Listen to every session's commits (once per process)."""
    if not sa_event.contains(Session, "after_flush", _after_flush):
        sa_event.listen(Session, "after_flush", _after_flush)
        sa_event.listen(Session, "after_commit", _after_commit)
        sa_event.listen(Session, "after_rollback", _after_rollback)


def case_event(type_: str, case_id: int | None, payload: Mapping[str, Any]) -> None:
    fields: dict[str, Any] = {"event": type_, "case_id": case_id}
    if type_ == "status_changed":
        fields["to_status"] = payload.get("to")
    fields.update({key: payload[key] for key in LOGGED_KEYS if payload.get(key) is not None})
    if type_ == "email_sent":
        fields["recipients"] = len(payload.get("to") or []) + len(payload.get("cc") or [])
    CASE_EVENTS.labels(type_).inc()
    if type_ == "timer_fired" and isinstance(payload.get("late_ms"), int | float):
        TIMER_LATENESS.observe(max(payload["late_ms"], 0) / 1000)
    level = logging.WARNING if type_ in ("email_failed", "step_failed") else logging.INFO
    events_log.log(level, " ".join(f"{k}={v}" for k, v in fields.items()), extra={"fields": fields})


def pdf_converted(converter: str, seconds: float | None) -> None:
    """A conversion finished (``seconds``) or failed (None)."""
    PDF_CONVERSIONS.labels(converter, "ok" if seconds is not None else "failed").inc()
    if seconds is not None:
        PDF_SECONDS.labels(converter).observe(seconds)
