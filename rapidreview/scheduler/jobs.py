"""Scheduler jobs: small functions that each call one service and say when they next have work.

A job returns the time its work next falls due (or None): the scheduler wakes it exactly then rather
than at its next safety-net poll.
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from rapidreview import clock
from rapidreview.mail.transports import Transport, make_transport
from rapidreview.runtime import Runtime
from rapidreview.services.casework import notifications
from rapidreview.services.people import invited_access as invitations_upkeep
from rapidreview.services.platform import outbox, scheduling

log = logging.getLogger(__name__)


@dataclass
class Worker:
    """Who is running the jobs: one scheduler process, or the jobs inside one web worker."""

    name: str = field(default_factory=outbox.default_worker)
    mode: str = "process"  # process (rapidreview scheduler) or in-process (rapidreview run)
    started_at: datetime = field(default_factory=clock.now)
    stop: threading.Event = field(default_factory=threading.Event)
    next_wake: Callable[[], datetime | None] = lambda: None  # when the scheduler next runs a job, for the heartbeat
    _transport: Transport | None = None

    def transport(self, rt: Runtime) -> Transport:
        if self._transport is None:  # built once: ews and graph keep their sign-in between messages
            self._transport = make_transport(rt.settings, sessions=rt.sessions)
        return self._transport


def advance_due_cases(rt: Runtime, worker: Worker | None = None) -> datetime | None:
    worker = worker or Worker()
    done = scheduling.advance_due_cases(rt, actor=f"scheduler ({worker.name})", stop=worker.stop)
    if done.stepped or done.failed:
        late = sorted(done.late_ms)
        log.info("stepped %d case(s), %d failed; fired %d timer(s)%s", len(done.stepped), len(done.failed), len(late),
                 f", late by {statistics.median(late):.0f} ms (median), {late[-1]} ms (most)" if late else "")
    return done.next_wake_at


def send_outbox(rt: Runtime, worker: Worker | None = None) -> datetime | None:
    worker = worker or Worker()
    started = clock.now()
    for delivery in scheduling.deliver_mail(rt, worker.transport(rt), worker=worker.name, stop=worker.stop):
        if delivery.status != outbox.SENT:
            log.warning("outbox message %s is %s: %s", delivery.message_id, delivery.status, delivery.error)
    return outbox.next_attempt_after(rt, started)


def send_digests(rt: Runtime, worker: Worker | None = None) -> datetime | None:
    """The 08:00 summary for people who chose one; returns the next 08:00."""
    return notifications.send_due_digests(rt)


def invited_access(rt: Runtime, worker: Worker | None = None) -> datetime | None:
    """Invitations that lapsed while their task is open (the Partnership Manager hears) and invited accounts
    no case needs any more (closed)."""
    return invitations_upkeep.upkeep(rt)


def heartbeat(rt: Runtime, worker: Worker) -> datetime | None:
    scheduling.beat(rt, worker.name, mode=worker.mode, started_at=worker.started_at, next_wake_at=worker.next_wake())
    return None
