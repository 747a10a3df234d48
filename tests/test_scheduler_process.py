"""Real ``rapidreview scheduler`` processes against the test database (PostgreSQL or SQLite).

Each scheduler polls only every 10 minutes, longer than any test here: what it does on time, it does
because it woke exactly at the due time or was told of new work (NOTIFY on PostgreSQL, data_version on
SQLite). Bounds are generous; lateness is printed (``pytest -s``), not asserted. bench/timer_lateness.py
measures it properly.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.engine import make_url

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.runtime import Runtime
from rapidreview.scheduler.main import start_in_process
from rapidreview.store.db import transaction
from rapidreview.store.models import OutboxMessage, SchedulerHeartbeat
from tests.conftest import TEST_DATABASE_URL
from tests.test_scheduler import audit_events, case_row, deploy_test_process, start_timer_case

POLL_SECONDS = "600"
T = TypeVar("T")


def wait_until(condition: Callable[[], T], *, seconds: float, what: str) -> T:
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.05)


class SchedulerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "rapidreview.cli", "scheduler", "--poll", POLL_SECONDS],
                                         cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.name = f"{socket.gethostname()}:{self.proc.pid}"

    def wait_ready(self, rt: Runtime) -> None:
        """Ready once it wrote its first heartbeat: it is then listening for wake-ups."""
        def beating() -> bool:
            assert self.proc.poll() is None, f"the scheduler exited:\n{self.log.read_text()}"
            with transaction(rt.sessions) as session:
                return session.get(SchedulerHeartbeat, self.name) is not None
        wait_until(beating, seconds=60, what=f"scheduler {self.name} to start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


class Schedulers:
    """Starts scheduler processes on the test database; the fixture kills any still running."""

    def __init__(self, rt: Runtime, settings: Settings, database: tuple[str, str | None], logs: Path) -> None:
        self.rt, self.logs, self.running = rt, logs, []
        url, schema = database
        if schema:  # the test's own PostgreSQL schema, as an ordinary connection option
            url = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        self.env = {**os.environ, "DATABASE_URL": url, "RAPIDREVIEW_DATA_DIR": str(settings.data_dir),
                    "PYTHONUNBUFFERED": "1"}

    def start(self, count: int = 1, *, wait: bool = True, **env: str) -> list[SchedulerProcess]:
        started = [SchedulerProcess({**self.env, **env}, self.logs / f"scheduler-{len(self.running) + n}.log")
                   for n in range(count)]
        self.running += started
        if wait:
            self.wait_ready(started)
        return started

    def wait_ready(self, processes: list[SchedulerProcess]) -> None:
        for process in processes:
            process.wait_ready(self.rt)


@pytest.fixture
def schedulers(runtime: Runtime, settings: Settings, database: tuple[str, str | None], tmp_path: Path) -> Iterator[Schedulers]:
    deploy_test_process(runtime)
    started = Schedulers(runtime, settings, database, tmp_path)
    yield started
    for process in started.running:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(10)


def start_before_due(rt: Runtime, reference: str, due: datetime, **kwargs: Any) -> int:
    """Start a case on a clock an hour slow: however busy the machine, its timer is not already due (and
    fired) as it starts. Only a scheduler fires it."""
    with clock.using(clock.VirtualClock(clock.now() - timedelta(hours=1))):
        return start_timer_case(rt, reference, due, **kwargs)


def lateness(events: list[Any]) -> str:
    late = sorted(e.payload["late_ms"] for e in events)
    p99 = late[min(len(late) - 1, round(0.99 * (len(late) - 1)))]
    return f"{len(late)} timer(s): late by {statistics.median(late):.0f} ms (p50), {p99} ms (p99), {late[-1]} ms (max)"


def test_a_timer_due_in_a_few_seconds_fires_on_time_though_no_poll_comes(runtime: Runtime, schedulers: Schedulers) -> None:
    [scheduler] = schedulers.start()
    due = clock.now() + timedelta(seconds=2)
    case_id = start_before_due(runtime, "RR-P-1", due)  # committed after the scheduler started: it must be told
    [fired] = wait_until(lambda: audit_events(runtime, "timer_fired", case_id), seconds=12, what="the timer to fire")
    assert fired.actor == f"scheduler ({scheduler.name})" and due <= fired.at < due + timedelta(seconds=10)
    assert 0 <= fired.payload["late_ms"] < 10_000
    print(f"\n{schedulers.rt.database.dialect.name}: {lateness([fired])}")
    assert scheduler.stop() == 0
    assert len(audit_events(runtime, "timer_fired")) == 1


def test_a_timer_that_fell_due_while_the_scheduler_was_dead_fires_once_when_it_is_back(
        runtime: Runtime, schedulers: Schedulers) -> None:
    [first] = schedulers.start()
    now = clock.now()
    later = start_before_due(runtime, "RR-K-2", now + timedelta(seconds=2))
    earlier = start_before_due(runtime, "RR-K-1", now + timedelta(seconds=1))
    first.kill()  # SIGKILL before either is due: no clean-up, no goodbye

    # What an operator sees meanwhile (the command takes about as long as the timers take to fall due).
    status = subprocess.run([sys.executable, "-m", "rapidreview.cli", "status", "--json"], cwd=PROJECT_ROOT,
                            env=schedulers.env, capture_output=True, text=True, timeout=60)
    report = json.loads(status.stdout)
    assert [s["name"] for s in report["schedulers"]] == [first.name] and report["heartbeat_at"]
    assert report["next_case_due_at"] == (now + timedelta(seconds=1)).isoformat()
    assert report["outbox"]["backlog"] == 0
    assert {c["reference"] for c in report["overdue_timers"]["cases"]} <= {"RR-K-1", "RR-K-2"}  # as the clock goes
    assert status.returncode == (0 if report["ok"] else 1)

    time.sleep(max(0.0, (now + timedelta(seconds=2.5) - clock.now()).total_seconds()))
    assert audit_events(runtime, "timer_fired") == []

    [second] = schedulers.start()
    fired = wait_until(lambda: len(events := audit_events(runtime, "timer_fired")) >= 2 and events, seconds=20,
                       what="both timers to fire after the restart")
    assert second.stop() == 0
    assert [e.case_id for e in audit_events(runtime, "timer_fired")] == [earlier, later]  # once each, oldest first
    assert all(e.payload["late_ms"] >= 500 for e in fired)  # the trail shows they were late
    print(f"\n{runtime.database.dialect.name}, after a restart: {lateness(fired)}")


def test_two_hundred_timers_due_in_one_second_fire_exactly_once_across_schedulers(
        runtime: Runtime, schedulers: Schedulers) -> None:
    count = 2 if TEST_DATABASE_URL else 1  # SQLite: one scheduler, as the embedded default runs it
    due = clock.now().replace(microsecond=0) + timedelta(seconds=5)  # starting 200 cases takes about 3 s
    processes = schedulers.start(count, wait=False)  # they start while the cases are made
    ids = {start_before_due(runtime, f"RR-M-{n:03}", due) for n in range(200)}
    schedulers.wait_ready(processes)
    wait_until(lambda: len(audit_events(runtime, "timer_fired")) >= 200, seconds=60, what="200 timers to fire")
    assert [p.stop() for p in processes] == [0] * count  # let anything in flight finish before counting
    fired = audit_events(runtime, "timer_fired")
    assert Counter(e.case_id for e in fired) == Counter(ids)  # each case's timer, exactly once
    assert audit_events(runtime, "step_failed") == []
    by = Counter(e.actor for e in fired)
    assert len(by) == count, f"every scheduler should have fired some: {by}"
    print(f"\n{runtime.database.dialect.name}, {count} scheduler(s), {dict(by)}: {lateness(fired)}")


def test_the_jobs_inside_the_web_app_fire_a_timer_committed_by_a_request_on_time(runtime: Runtime, schedulers: Schedulers) -> None:
    in_process = start_in_process(runtime, poll=600)
    try:
        due = clock.now() + timedelta(seconds=2)
        case_id = start_timer_case(runtime, "RR-W-1", due)  # as a web request would, in the same process
        [fired] = wait_until(lambda: audit_events(runtime, "timer_fired", case_id), seconds=11, what="the timer to fire")
        assert fired.actor == f"scheduler ({in_process.worker.name})" and due <= fired.at < due + timedelta(seconds=10)
    finally:
        in_process.stop()
    print(f"\n{runtime.database.dialect.name}, in-process: {lateness([fired])}")
    with transaction(runtime.sessions) as session:
        assert session.get(SchedulerHeartbeat, in_process.worker.name).stopped_at is not None  # type: ignore[union-attr]


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 2.0.0 Ok: queued as TEST"


def test_mail_queued_while_the_smtp_server_is_down_goes_once_it_is_back_and_only_once(
        runtime: Runtime, schedulers: Schedulers) -> None:
    with socket.socket() as probe:  # a free port, with nothing listening yet
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    [scheduler] = schedulers.start(
        RAPIDREVIEW_MAIL_TRANSPORT="smtp", RAPIDREVIEW_SMTP_HOST="127.0.0.1", RAPIDREVIEW_SMTP_PORT=str(port),
        RAPIDREVIEW_SMTP_TLS="none", RAPIDREVIEW_SMTP_TIMEOUT="5",
        RAPIDREVIEW_NATIONAL_PANEL_ADDRESS="panel@national-panel.example")
    case_id = start_before_due(runtime, "RR-M-1", clock.now() + timedelta(seconds=1), submit=True)
    [failure] = wait_until(lambda: audit_events(runtime, "email_failed"), seconds=15, what="the first attempt to fail")
    assert failure.payload["permanent"] is False and "cannot reach the SMTP server" in failure.payload["error"]
    assert case_row(runtime, case_id).status == "open"  # not submitted while nothing was accepted

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        wait_until(lambda: case_row(runtime, case_id).status == "submitted" and case_row(runtime, case_id).wake_at is None
                   and runtime.restore(case_row(runtime, case_id)).is_completed,
                   seconds=30, what="the submission to be accepted and the case to end")
        assert scheduler.stop() == 0
    finally:
        server.stop()
    with transaction(runtime.sessions) as session:
        [row] = session.scalars(select(OutboxMessage))
        assert (row.status, row.attempts) == ("sent", 2) and row.provider_id == "250 2.0.0 Ok: queued as TEST"
    assert len(inbox.messages) == 1 and row.message_id.encode() in inbox.messages[0]
    assert len(audit_events(runtime, "email_sent")) == 1
    assert case_row(runtime, case_id).submitted_at == row.sent_at
