"""/metrics answers Prometheus on loopback or with the token, and nobody else; case events are logged and
counted once committed, with ids and never the child's name; logs can be JSON lines."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace

import pytest
from flask import Flask

from rapidreview.config import ConfigError
from rapidreview.observability import JsonFormatter, configure_logging, log_settings
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.platform import outbox
from rapidreview.store.db import transaction
from tests.web.conftest import START

CHILD = "Child Zebedee Example"


def _sample(body: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def _start(runtime: Runtime, reference: str) -> int:
    return cases.start_case(runtime, cases.Notification(
        reference=reference, notified_at=START, child={"name": CHILD}, incident={"date": "2026-05-20", "summary": "x"}),
        actor="test")


def test_metrics_count_case_events_and_read_the_outbox_from_the_database(app: Flask, runtime: Runtime) -> None:
    client = app.test_client()
    before = client.get("/metrics")
    assert before.status_code == 200 and before.mimetype == "text/plain"
    started = _sample(before.get_data(as_text=True), 'rapidreview_case_events_total{type="case_started"}')
    case_id = _start(runtime, "RR-M-1")
    with transaction(runtime.sessions) as session:
        message = outbox.queue(session, runtime, case_id=case_id, template="t", to=["x@example.org"], subject="s",
                               body="b")
        message.status = "failed"
    body = client.get("/metrics").get_data(as_text=True)
    assert _sample(body, 'rapidreview_case_events_total{type="case_started"}') == started + 1
    assert _sample(body, 'rapidreview_outbox_messages{status="failed"}') == 1
    assert _sample(body, "rapidreview_open_cases") == 1
    assert _sample(body, "rapidreview_scheduler_heartbeat_age_seconds") == -1
    assert "rapidreview_timer_lateness_seconds_bucket" in body and "rapidreview_pdf_conversion_seconds" in body
    assert CHILD not in body and "x@example.org" not in body


def test_metrics_refuse_other_addresses_and_requests_through_an_untrusted_proxy(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 404
    # nginx on the same host forwards from 127.0.0.1: the header gives it away.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    rt = app.extensions["rapidreview"]
    monkeypatch.setattr(rt, "settings", replace(rt.settings, metrics_token="s3cret-token-for-prometheus"))
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.get("/metrics", environ_base=remote, headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", environ_base=remote,
                      headers={"Authorization": "Bearer s3cret-token-for-prometheus"}).status_code == 200


def test_each_committed_step_is_logged_with_ids_and_never_the_childs_name(
        runtime: Runtime, caplog: pytest.LogCaptureFixture, virtual_clock: object) -> None:
    from rapidreview.config import PROJECT_ROOT
    from rapidreview.services.definitions.process_versions import deploy_directory

    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    with caplog.at_level(logging.INFO, logger="rapidreview.events"):
        case_id = _start(runtime, "RR-L-1")
        with pytest.raises(cases.CaseError):  # a duplicate: rolled back, so nothing is logged for it
            _start(runtime, "RR-L-1")
    lines = [r.getMessage() for r in caplog.records if r.name == "rapidreview.events"]
    assert f"event=case_started case_id={case_id} reference=RR-L-1" in lines[0]
    assert sum("event=case_started" in line for line in lines) == 1
    assert any(line.startswith("event=status_changed") and "to_status=open" in line for line in lines)
    assert all(CHILD not in r.getMessage() and CHILD not in json.dumps(getattr(r, "fields", {}))
               for r in caplog.records)


def test_logs_can_be_json_lines_and_a_bad_setting_is_named() -> None:
    record = logging.LogRecord("rapidreview.events", logging.INFO, __file__, 1, "event=timer_fired case_id=3", None,
                               None)
    record.fields = {"event": "timer_fired", "case_id": 3, "late_ms": 40}
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "timer_fired" and line["late_ms"] == 40 and line["level"] == "INFO"
    assert log_settings({"RAPIDREVIEW_LOG_FORMAT": "json"}) == ("json", logging.INFO)
    with pytest.raises(ConfigError, match="RAPIDREVIEW_LOG_FORMAT"):
        configure_logging({"RAPIDREVIEW_LOG_FORMAT": "xml"})
    with pytest.raises(ConfigError, match="RAPIDREVIEW_LOG_LEVEL"):
        configure_logging({"RAPIDREVIEW_LOG_LEVEL": "loud"})
