"""Waking a job the moment its work falls due, and learning at once of new, earlier work.

The :class:`Planner` brings a job's next run forward to a given time (never back: the safety-net poll
stays). Jobs tell it when they next have work; a change feed tells it when someone else commits work:

- PostgreSQL: triggers on ``cases.wake_at`` and on pending outbox messages NOTIFY ``rapidreview_<schema>``
  with ``"<kind> <epoch seconds>"`` (migration 0002), whoever wrote the row. We LISTEN on a connection of
  our own; after (re)connecting we run every job once, for anything committed while we were not listening.
- SQLite: ``PRAGMA data_version`` changes whenever another connection commits, in this process or another.
  Reading it costs no I/O, so we read it five times a second and, when it moved, look up the next times.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any, Protocol

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import func, select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, OutboxMessage

log = logging.getLogger(__name__)

CASES, OUTBOX = "cases", "outbox"


class Planner:
    def __init__(self, scheduler: BaseScheduler, jobs_by_kind: dict[str, str]) -> None:
        self._scheduler = scheduler
        self._jobs_by_kind = jobs_by_kind
        self._lock = threading.Lock()  # read-compare-modify: two earlier times must not overwrite each other

    def run_at(self, job_id: str, when: datetime | None) -> None:
        """Run ``job_id`` at ``when`` (now if past) unless it runs sooner already."""
        if when is None:
            return
        with self._lock:
            job = self._scheduler.get_job(job_id)
            if job is not None and job.next_run_time is not None and when < job.next_run_time:
                self._scheduler.modify_job(job_id, next_run_time=when)

    def wake(self, kind: str, when: datetime | None) -> None:
        """Work of ``kind`` falls due at ``when`` (None: nothing is due)."""
        job_id = self._jobs_by_kind.get(kind)
        if job_id is not None:
            self.run_at(job_id, when)

    def wake_all(self) -> None:
        now = clock.now()
        for kind in self._jobs_by_kind:
            self.wake(kind, now)


class ChangeFeed(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def change_feed(rt: Runtime, planner: Planner) -> ChangeFeed:
    if rt.database.dialect.name == "postgresql":
        return PostgresNotifications(rt, planner)
    return SqliteDataVersion(rt, planner)


class _FeedThread:
    def __init__(self, rt: Runtime, planner: Planner) -> None:
        self.rt, self.planner = rt, planner
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)

    def start(self) -> None:
        """Start watching; return once watching (so nothing committed after start-up is missed) or after 10 s."""
        self._thread.start()
        if not self._ready.wait(10):
            log.warning("%s is not watching the database yet; relying on polling until it is", type(self).__name__)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        raise NotImplementedError


class PostgresNotifications(_FeedThread):
    def _run(self) -> None:
        delay = 1.0
        while not self._stop.is_set():
            raw: Any = None
            try:
                raw = self.rt.database.raw_connection()
                raw.detach()  # ours for good: it holds LISTEN state and never goes back to the pool
                conn = raw.dbapi_connection  # the psycopg connection (driver_connection is gone once detached)
                conn.autocommit = True
                self._listen(conn)
                self._ready.set()
                self.planner.wake_all()  # whatever was committed while we were not listening
                delay = 1.0
                while not self._stop.is_set():
                    for notification in conn.notifies(timeout=1.0):
                        self._handle(notification.payload)
            except Exception as exc:
                if self._stop.is_set():
                    break
                log.warning("listening for wake-ups failed (%s); reconnecting in %.0f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)
            finally:
                if raw is not None:
                    raw.close()

    @staticmethod
    def _listen(conn: Any) -> None:
        from psycopg import sql

        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(f"rapidreview_{schema}")))

    def _handle(self, payload: str) -> None:
        kind, _, epoch = payload.partition(" ")
        try:
            when = datetime.fromtimestamp(float(epoch), UTC)
        except ValueError:  # not ours to parse: look at once rather than miss it
            when = clock.now()
        self.planner.wake(kind, when)


class SqliteDataVersion(_FeedThread):
    INTERVAL = 0.2

    def _run(self) -> None:
        raw = self.rt.database.raw_connection()
        raw.detach()
        try:
            cursor = raw.dbapi_connection.cursor()  # type: ignore[union-attr]
            last = cursor.execute("PRAGMA data_version").fetchone()[0]
            self._ready.set()
            while not self._stop.wait(self.INTERVAL):
                try:
                    version = cursor.execute("PRAGMA data_version").fetchone()[0]
                    if version != last:
                        last = version
                        self._plan()
                except Exception as exc:  # the database is busy or gone for a moment: polling covers it
                    log.warning("watching the database for changes failed: %s", exc)
        finally:
            raw.close()

    def _plan(self) -> None:
        with transaction(self.rt.sessions) as session:
            case_due = session.scalar(select(func.min(Case.wake_at)))
            mail_due = session.scalar(select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == "pending"))
        self.planner.wake(CASES, case_due)
        self.planner.wake(OUTBOX, mail_due)
