"""The deployment's state as Prometheus gauges, read from the database at each scrape (web/views/metrics.py).

Counted in the database rather than in a process, the numbers are the same whichever web worker answers and
however many schedulers run. Every query here is a count over an indexed condition.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.platform import outbox, scheduling
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, SchedulerHeartbeat

OVERDUE_AFTER = timedelta(seconds=5)  # as `rapidreview status`: a timer a moment past due is being fired now


class DatabaseCollector(Collector):
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = clock.now()
        with transaction(self.rt.sessions) as session:
            mail = outbox.backlog(session)
            overdue, _ = scheduling.overdue_timers(session, now, OVERDUE_AFTER, limit=0)
            failing, _ = scheduling.failing_cases(session, limit=0)
            open_cases = session.scalar(select(func.count()).select_from(Case).where(Case.status == "open")) or 0
            beat = session.scalar(select(func.max(SchedulerHeartbeat.beat_at))
                                  .where(SchedulerHeartbeat.stopped_at.is_(None)))
        messages = GaugeMetricFamily("rapidreview_outbox_messages", "E-mails in the outbox by status",
                                     labels=["status"])
        for status, count in (("pending", mail.pending), ("sending", mail.sending), ("failed", mail.failed)):
            messages.add_metric([status], count)
        yield messages
        yield GaugeMetricFamily("rapidreview_outbox_retrying", "Waiting e-mails whose last attempt failed",
                                value=mail.retrying)
        yield GaugeMetricFamily("rapidreview_outbox_oldest_waiting_seconds", "Age of the oldest e-mail not yet sent",
                                value=(now - mail.oldest_queued_at).total_seconds() if mail.oldest_queued_at else 0)
        yield GaugeMetricFamily("rapidreview_overdue_timers", "Cases whose next timer is more than 5 s past due",
                                value=overdue)
        yield GaugeMetricFamily("rapidreview_failing_cases", "Cases whose automatic step is failing and retried",
                                value=failing)
        yield GaugeMetricFamily("rapidreview_open_cases", "Cases not yet submitted or closed", value=open_cases)
        yield GaugeMetricFamily("rapidreview_scheduler_heartbeat_age_seconds",
                                "Seconds since the newest heartbeat of a running scheduler (-1: none has beaten)",
                                value=(now - beat).total_seconds() if beat is not None else -1)
