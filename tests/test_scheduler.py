"""Due cases are stepped once, the longest due first; failing steps are kept and retried; the submission
task waits for the mail server; the scheduler's wake-up plumbing never loses a run. In-process, virtual clock.

The real scheduler processes are tested in test_scheduler_process.py; these factories serve both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT
from rapidreview.mail.transports import TemporaryMailError
from rapidreview.runtime import Runtime
from rapidreview.scheduler import jobs, main, wakeups
from rapidreview.services.casework import cases
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.services.platform import outbox, scheduling
from rapidreview.services.platform import scheduler_status as status
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, OutboxMessage

TEST_PROCESS = PROJECT_ROOT / "tests" / "fixtures" / "scheduler"
T0 = datetime(2026, 5, 22, 8, 0, tzinfo=UTC)


# -- factories (also used by test_outbox.py and test_scheduler_process.py) ---------------------------------

def deploy_test_process(rt: Runtime) -> None:
    """The process of tests/fixtures/scheduler: one timer at the referral's ``timer_at``, then optionally
    the National Panel submission."""
    deploy_directory(rt, TEST_PROCESS, PROJECT_ROOT / "forms", deployed_by="test")


def start_timer_case(rt: Runtime, reference: str, timer_at: datetime, *, submit: bool = False) -> int:
    return cases.start_case(rt, cases.Notification(
        reference=reference, notified_at=min(timer_at, clock.now()), child={"name": "Child T"},
        incident={"date": "2026-05-20", "summary": "test"}, referral={"timer_at": timer_at.isoformat(), "submit": submit},
    ), actor="test")


def audit_events(rt: Runtime, type_: str, case_id: int | None = None) -> list[AuditEvent]:
    with transaction(rt.sessions) as session:
        query = select(AuditEvent).where(AuditEvent.type == type_).order_by(AuditEvent.id)
        if case_id is not None:
            query = query.where(AuditEvent.case_id == case_id)
        return list(session.scalars(query))


def case_row(rt: Runtime, case_id: int) -> Case:
    with transaction(rt.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case


class RecordingTransport:
    """Sends into a list; fails with the given errors first."""

    name = "recording"

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.sent: list[str] = []

    def send(self, mail: Any, sent_at: datetime) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(mail.message_id)
        return f"provider-{len(self.sent)}"


@pytest.fixture
def virtual() -> Iterator[clock.VirtualClock]:
    virtual = clock.VirtualClock(T0)
    with clock.using(virtual):
        yield virtual


@pytest.fixture
def test_process(runtime: Runtime, virtual: clock.VirtualClock) -> Runtime:
    deploy_test_process(runtime)
    return runtime


# -- stepping due cases ------------------------------------------------------------------------------------

def test_a_due_timer_fires_once_and_the_audit_trail_says_how_late(test_process: Runtime, virtual: clock.VirtualClock) -> None:
    rt = test_process
    case_id = start_timer_case(rt, "RR-S-1", T0 + timedelta(hours=1))
    assert case_row(rt, case_id).wake_at == T0 + timedelta(hours=1)
    virtual.set(T0 + timedelta(hours=1, seconds=2))
    first = scheduling.advance_due_cases(rt)
    second = scheduling.advance_due_cases(rt)
    assert (first.stepped, second.stepped) == ([case_id], [])
    [fired] = audit_events(rt, "timer_fired", case_id)
    assert fired.payload == {"id": "test_timer", "due": "2026-05-22T09:00:00+00:00", "late_ms": 2000}
    assert case_row(rt, case_id).wake_at is None and first.next_wake_at is None


def test_timers_that_fell_due_while_nothing_ran_fire_the_longest_due_first(
        test_process: Runtime, virtual: clock.VirtualClock) -> None:
    rt = test_process
    ids = {hours: start_timer_case(rt, f"RR-S-{hours}", T0 + timedelta(hours=hours)) for hours in (3, 1, 2, 9)}
    virtual.set(T0 + timedelta(hours=5))
    done = scheduling.advance_due_cases(rt)
    assert done.stepped == [ids[1], ids[2], ids[3]]
    assert [e.payload["late_ms"] for e in audit_events(rt, "timer_fired")] == [4 * 3600_000, 3 * 3600_000, 2 * 3600_000]
    assert done.next_wake_at == T0 + timedelta(hours=9)


def test_a_failing_step_is_rolled_back_kept_on_the_case_and_retried_with_back_off(
        test_process: Runtime, virtual: clock.VirtualClock, tmp_path: Path) -> None:
    rt = test_process
    case_id = start_timer_case(rt, "RR-S-F", T0 + timedelta(minutes=1), submit=True)
    good_templates = rt.settings.templates_dir
    rt.settings = rt.settings.with_(templates_dir=tmp_path)  # a deploy lost the e-mail templates
    virtual.set(T0 + timedelta(minutes=1))
    assert scheduling.advance_due_cases(rt).failed == [case_id]
    case = case_row(rt, case_id)
    assert "national_panel_submission" in (case.engine_error or "") and case.engine_attempts == 1
    assert case.engine_failed_since == virtual.now() and case.wake_at == virtual.now() + timedelta(seconds=5)
    assert not audit_events(rt, "timer_fired") and len(audit_events(rt, "step_failed", case_id)) == 1
    assert status.collect(rt)["failing_cases"]["cases"][0]["reference"] == "RR-S-F"

    assert scheduling.advance_due_cases(rt).failed == []  # not due again until its retry time
    virtual.set(case.wake_at)
    scheduling.advance_due_cases(rt)
    assert case_row(rt, case_id).engine_attempts == 2
    assert case_row(rt, case_id).wake_at == virtual.now() + timedelta(seconds=10)

    rt.settings = rt.settings.with_(templates_dir=good_templates)  # put right
    virtual.set(virtual.now() + timedelta(seconds=10))
    assert scheduling.advance_due_cases(rt).stepped == [case_id]
    case = case_row(rt, case_id)
    assert (case.engine_error, case.engine_attempts, case.engine_failed_since) == (None, 0, None)
    [fired] = audit_events(rt, "timer_fired", case_id)
    assert fired.payload["late_ms"] == 15_000


def test_the_submission_task_waits_for_the_mail_server_and_ends_the_case_when_it_accepts(
        test_process: Runtime, virtual: clock.VirtualClock) -> None:
    rt = test_process
    case_id = start_timer_case(rt, "RR-S-P", T0 + timedelta(minutes=1), submit=True)
    virtual.set(T0 + timedelta(minutes=1))
    scheduling.advance_due_cases(rt)
    case = case_row(rt, case_id)
    workflow = rt.restore(case)
    assert not workflow.is_completed and workflow.dump() == case.workflow_json  # waiting, and saved that way
    assert case.status == cases.OPEN and case.wake_at is None

    scheduling.deliver_mail(rt, RecordingTransport(TemporaryMailError("connection refused")))
    assert case_row(rt, case_id).status == cases.OPEN  # not accepted, so not submitted
    virtual.set(virtual.now() + timedelta(minutes=10))
    accepted_at = virtual.now()
    transport = RecordingTransport()
    scheduling.deliver_mail(rt, transport)  # the sender completes the waiting task itself

    case = case_row(rt, case_id)
    assert case.status == cases.SUBMITTED and case.submitted_at == accepted_at
    assert rt.restore(case).is_completed and case.wake_at is None
    assert '"provider_id": "provider-1"' in case.workflow_json and accepted_at.isoformat() in case.workflow_json
    assert len(transport.sent) == 1 and not audit_events(rt, "step_failed")


def test_a_case_whose_waiting_task_could_not_be_completed_by_the_sender_is_left_due_for_the_scheduler(
        test_process: Runtime, virtual: clock.VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    rt = test_process
    case_id = start_timer_case(rt, "RR-S-W", T0, submit=True)
    scheduling.advance_due_cases(rt)
    monkeypatch.setattr(scheduling, "advance_woken_case", lambda *a, **k: None)  # the sender died right after sending
    accepted_at = virtual.now()
    scheduling.deliver_mail(rt, RecordingTransport())
    # Recorded as accepted and left due: the case is submitted when its process steps, at acceptance time.
    assert case_row(rt, case_id).wake_at == accepted_at and case_row(rt, case_id).status == cases.OPEN
    monkeypatch.undo()
    virtual.set(accepted_at + timedelta(seconds=5))
    assert scheduling.advance_due_cases(rt).stepped == [case_id]
    case = case_row(rt, case_id)
    assert rt.restore(case).is_completed and (case.status, case.submitted_at) == (cases.SUBMITTED, accepted_at)


def test_a_step_failing_for_ever_is_retried_every_half_hour() -> None:
    assert [scheduling.retry_delay(n).total_seconds() for n in (1, 2, 3, 9, 10, 10_000)] == [5, 10, 20, 1280, 1800, 1800]


def test_a_submission_accepted_before_the_deadline_raises_no_alert_though_the_case_is_stepped_after_it(
        runtime: Runtime, virtual: clock.VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    deploy_directory(runtime, TEST_PROCESS.parent / "scheduler_deadline", PROJECT_ROOT / "forms", deployed_by="test")
    deadline = T0 + timedelta(hours=8)  # 17:00
    case_id = cases.start_case(runtime, cases.Notification(
        reference="RR-S-D", notified_at=T0, child={}, incident={}, referral={"deadline_at": deadline.isoformat()}), actor="t")
    assert case_row(runtime, case_id).wake_at == deadline  # the submission waits; the deadline timer runs
    virtual.set(deadline - timedelta(minutes=1))
    monkeypatch.setattr(scheduling, "advance_woken_case", lambda *a, **k: None)  # the scheduler steps it, later
    scheduling.deliver_mail(runtime, RecordingTransport())  # accepted at 16:59
    virtual.set(deadline + timedelta(seconds=30))
    assert scheduling.advance_due_cases(runtime).stepped == [case_id]
    assert audit_events(runtime, "timer_fired", case_id) == []
    case = case_row(runtime, case_id)
    assert case.submitted_at == deadline - timedelta(minutes=1) and case.wake_at is None
    workflow = runtime.restore(case)
    assert workflow.is_completed and {"case_submitted", "deadline_alert"} & workflow.completed_element_ids() == {"case_submitted"}


# -- the scheduler's plumbing ----------------------------------------------------------------------------

class _Planner:
    def __init__(self) -> None:
        self.asked: list[tuple[str, datetime | None]] = []

    def run_at(self, job_id: str, when: datetime | None) -> None:
        self.asked.append((job_id, when))


def test_a_run_asked_for_while_the_job_runs_happens_right_after_it_and_never_alongside() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []
    running = threading.Lock()

    def job(rt: Any, worker: Any) -> datetime:
        assert running.acquire(blocking=False), "two runs at once"
        calls.append("run")
        started.set()
        release.wait(5)
        running.release()
        return T0

    planner = _Planner()
    runner = main.JobRunner(main.ScheduledJob("job", job, None, None), None, jobs.Worker(), planner)  # type: ignore[arg-type]
    first = threading.Thread(target=runner)
    first.start()
    started.wait(5)
    runner()  # asked for twice while it runs: folded into one more run, returning at once
    runner()
    release.set()
    first.join(5)
    assert calls == ["run", "run"] and planner.asked == [("job", T0)]


def test_the_planner_brings_a_job_forward_but_never_pushes_it_back() -> None:
    aps = BackgroundScheduler(timezone=UTC)
    aps.start(paused=True)
    try:
        now = datetime.now(UTC)
        aps.add_job(lambda: None, "interval", seconds=3600, id="advance_due_cases", next_run_time=now + timedelta(hours=1))
        planner = wakeups.Planner(aps, {wakeups.CASES: "advance_due_cases"})
        planner.wake(wakeups.CASES, now + timedelta(minutes=10))
        planner.wake(wakeups.CASES, now + timedelta(minutes=30))
        planner.wake(wakeups.CASES, None)
        planner.wake(wakeups.OUTBOX, now)  # no job for it here
        assert aps.get_job("advance_due_cases").next_run_time == now + timedelta(minutes=10)
    finally:
        aps.shutdown(wait=False)


def test_status_names_what_needs_a_person_until_a_scheduler_runs_and_all_is_done(
        test_process: Runtime, virtual: clock.VirtualClock) -> None:
    rt = test_process
    start_timer_case(rt, "RR-S-O", T0 + timedelta(minutes=1))
    with transaction(rt.sessions) as session:
        outbox.queue(session, rt, case_id=None, template="t", to=["x@y.example"], subject="Lost", body="b")
    scheduling.deliver_mail(rt, RecordingTransport(outbox.PermanentMailError("550 no such user")))
    virtual.set(T0 + timedelta(minutes=5))

    report = status.collect(rt)
    assert report["ok"] is False and len(report["problems"]) == 3
    assert "no scheduler is running" in report["problems"][0]
    assert report["overdue_timers"]["cases"][0] == {"reference": "RR-S-O", "due_at": "2026-05-22T08:01:00+00:00",
                                                    "late_s": 240.0, "engine_error": None}
    assert report["outbox"]["failed_messages"][0]["reason"] == "550 no such user"
    assert "Lost" in status.render(report)

    scheduling.advance_due_cases(rt)
    with transaction(rt.sessions) as session:
        [failed] = outbox.failed_messages(session)
    outbox.retry_message(rt, failed.id, actor="test")
    scheduling.deliver_mail(rt, RecordingTransport())
    jobs.heartbeat(rt, jobs.Worker(name="host:1", next_wake=lambda: T0 + timedelta(hours=1)))
    report = status.collect(rt)
    assert report["ok"] is True and report["problems"] == [] and report["heartbeat_at"] == virtual.now().isoformat()
    assert report["next_wake_at"] == "2026-05-22T09:00:00+00:00" and report["outbox"]["backlog"] == 0
    with transaction(rt.sessions) as session:
        assert session.scalar(select(OutboxMessage.status)) == "sent"
