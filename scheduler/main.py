"""``rapidreview scheduler``: fires due timers and sends the outbox, on a polling schedule.

One schedule table; every job has an explicit id, ``max_instances=1`` and ``coalesce=True`` so a slow
run is never doubled up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.blocking import BlockingScheduler

from app.services.runtime import Runtime
from scheduler import jobs

SCHEDULE: tuple[tuple[str, Callable[[Runtime], int], float], ...] = (
    ("advance_due_cases", jobs.advance_due_cases, 5.0),
    ("send_outbox", jobs.send_outbox, 5.0),
)


def run_forever(rt: Runtime) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scheduler = BlockingScheduler(timezone="UTC")
    for job_id, func, seconds in SCHEDULE:
        scheduler.add_job(func, "interval", seconds=seconds, args=[rt], id=job_id, max_instances=1, coalesce=True)
    scheduler.start()
