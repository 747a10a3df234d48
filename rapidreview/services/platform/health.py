"""Is this deployment fit to take requests? What load balancers and monitoring ask, answered without a single
identifier: no case, person, address or error text, since anyone who can reach the service may ask.

``readiness`` checks three things: the database answers; its schema is the one this release needs (a newer
one is fine: a later release's migrations only add, docs/operations.md); and a scheduler has beaten its heart
within ALIVE_WITHIN, since without one no timer fires and no e-mail goes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.store import schema_revisions
from rapidreview.store.models import SchedulerHeartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0  # the scheduler's beat (rapidreview.scheduler.main runs its heartbeat job this often)
ALIVE_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)
OK, FAILING = "ok", "failing"


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)  # name -> "ok" or a word for what is wrong

    @property
    def ready(self) -> bool:
        return all(state in (OK, "newer") for state in self.checks.values())

    def as_json(self) -> dict[str, object]:
        return {"status": "ready" if self.ready else "not ready", "checks": dict(self.checks)}


def readiness(rt: Runtime) -> Readiness:
    checks: dict[str, str] = {}
    try:
        with rt.database.connect() as connection:
            connection.execute(text("SELECT 1"))
            checks["database"] = OK
            checks["migrations"] = _schema_state(schema_revisions.current(connection))
            newest = connection.execute(select(func.max(SchedulerHeartbeat.beat_at)).where(
                SchedulerHeartbeat.stopped_at.is_(None))).scalar()
    except Exception as exc:  # report, do not raise: a health check must answer
        # The type only: a driver's message can carry the connection string.
        logger.warning("readiness: the database could not be read: %s", type(exc).__name__)
        return Readiness({"database": "unreachable", "migrations": "unknown", "scheduler": "unknown"})
    checks["scheduler"] = OK if newest is not None and clock.now() - _aware(newest) <= ALIVE_WITHIN else "stale"
    return Readiness(checks)


def _schema_state(revision: str | None) -> str:
    if revision == schema_revisions.head():
        return OK
    if revision is None:
        return "empty"
    return "pending" if schema_revisions.is_known(revision) else "newer"


def _aware(moment: datetime) -> datetime:
    # max() keeps the column's UTC type on both databases; this guards a driver that hands back a naive value.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
