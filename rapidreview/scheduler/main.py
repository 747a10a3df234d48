"""``rapidreview scheduler``, and the same jobs inside the web app (``rapidreview run``).

One schedule table. Every job also runs on a safety-net poll, but whenever a run ends the job is woken
exactly when its work next falls due, and the database's change feed (:mod:`rapidreview.scheduler.wakeups`) brings it
forward the moment someone commits earlier work. Jobs run at start-up, so whatever fell due while no
scheduler ran is done first, the longest due first.

APScheduler's ``max_instances=1`` would silently drop a run asked for while the job is running, and with
it a wake-up. So jobs are submitted with ``max_instances=2`` and :class:`JobRunner` keeps the promise
instead: never two runs of a job at once, and a run asked for during one happens straight after it.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.scheduler import jobs, wakeups
from rapidreview.services.platform import scheduling
from rapidreview.services.platform.health import HEARTBEAT_SECONDS

log = logging.getLogger("scheduler")

POLL_SECONDS = 30.0  # the safety net: a job runs at least this often even if no wake-up reaches it
INVITED_ACCESS_SECONDS = 300.0  # lapsed invitations and unneeded invited accounts: minutes late is soon enough
RETRY_AFTER_ERROR = timedelta(seconds=5)  # a job that raised (database down) runs again this soon


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    func: Callable[[Runtime, jobs.Worker], datetime | None]
    every: float | None  # seconds between runs; None: the poll interval
    woken_by: str | None  # the kind of committed work that wakes it early


SCHEDULE: tuple[ScheduledJob, ...] = (
    ScheduledJob("advance_due_cases", jobs.advance_due_cases, None, wakeups.CASES),
    ScheduledJob("send_outbox", jobs.send_outbox, None, wakeups.OUTBOX),
    ScheduledJob("send_digests", jobs.send_digests, None, None),
    ScheduledJob("invited_access", jobs.invited_access, INVITED_ACCESS_SECONDS, None),
    ScheduledJob("heartbeat", jobs.heartbeat, HEARTBEAT_SECONDS, None),
)


class JobRunner:
    def __init__(self, job: ScheduledJob, rt: Runtime, worker: jobs.Worker, planner: wakeups.Planner) -> None:
        self.job, self.rt, self.worker, self.planner = job, rt, worker, planner
        self._lock = threading.Lock()
        self._running = self._again = False

    def __call__(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        next_at: datetime | None = None
        finished = False
        try:
            while not finished:
                try:
                    next_at = self.job.func(self.rt, self.worker)
                except Exception:
                    log.exception("job %s failed; running it again in %s", self.job.id, RETRY_AFTER_ERROR)
                    next_at = clock.now() + RETRY_AFTER_ERROR
                with self._lock:
                    finished = not self._again or self.worker.stop.is_set()
                    self._again = False
                    self._running = not finished
        finally:
            if not finished:  # something like KeyboardInterrupt escaped: let the next run start
                with self._lock:
                    self._running = False
        self.planner.run_at(self.job.id, next_at)


class Scheduler:
    """The jobs of one worker on one APScheduler, with their wake-ups."""

    def __init__(self, rt: Runtime, *, mode: str, background: bool, poll: float = POLL_SECONDS) -> None:
        self.rt = rt
        self.worker = jobs.Worker(mode=mode)
        self.worker.next_wake = self._next_wake
        scheduler_class = BackgroundScheduler if background else BlockingScheduler
        self.aps: BaseScheduler = scheduler_class(
            timezone=UTC, executors={"default": ThreadPoolExecutor(len(SCHEDULE) + 1)},
            # misfire_grace_time=None: a run that starts late (busy machine) still runs; coalesce: once.
            job_defaults={"coalesce": True, "max_instances": 2, "misfire_grace_time": None},
        )
        self.planner = wakeups.Planner(self.aps, {j.woken_by: j.id for j in SCHEDULE if j.woken_by})
        self.feed = wakeups.change_feed(rt, self.planner)
        self.poll = poll
        now = clock.now()
        for job in SCHEDULE:
            self.aps.add_job(JobRunner(job, rt, self.worker, self.planner), "interval", seconds=job.every or poll,
                             id=job.id, name=job.id, next_run_time=now)

    def _next_wake(self) -> datetime | None:
        times = [job.next_run_time for job in self.aps.get_jobs()
                 if job.id != "heartbeat" and job.next_run_time is not None]
        return min(times) if times else None

    def start(self) -> None:
        """Start watching the database, then the jobs (for a blocking scheduler: until :meth:`stop`)."""
        self.feed.start()
        log.info("scheduler %s (%s) started: woken by %s, polling every %.0f s", self.worker.name, self.worker.mode,
                 type(self.feed).__name__, self.poll)
        if not self.worker.stop.is_set():  # a SIGTERM during start-up
            self.aps.start()

    def stop(self) -> None:
        """Finish the case or message in hand, then stop; the heartbeat records a clean stop."""
        if self.worker.stop.is_set():
            return
        self.worker.stop.set()
        self.feed.stop()
        if self.aps.running:
            self.aps.shutdown(wait=True)
        try:
            scheduling.stopped(self.rt, self.worker.name)
        except Exception as exc:  # the database may be what is going away
            log.warning("could not record the stop of %s: %s", self.worker.name, exc)
        log.info("scheduler %s stopped", self.worker.name)


def run_forever(rt: Runtime, *, poll: float = POLL_SECONDS) -> None:
    """``rapidreview scheduler``: run until SIGTERM or SIGINT, then stop cleanly."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run at INFO
    scheduler = Scheduler(rt, mode="process", background=False, poll=poll)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping on %s", signal.Signals(signum).name)
        # Not in the handler: stopping waits for the job in hand, and this thread must keep the main loop going.
        threading.Thread(target=scheduler.stop, name="scheduler-stop").start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    scheduler.start()


def start_in_process(rt: Runtime, *, poll: float = POLL_SECONDS) -> Scheduler:
    """Run the jobs in this process's background (the web app); they stop when the process exits."""
    scheduler = Scheduler(rt, mode="in-process", background=True, poll=poll)
    scheduler.start()
    atexit.register(scheduler.stop)
    return scheduler
