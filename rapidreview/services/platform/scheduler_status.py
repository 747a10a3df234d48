"""What the schedulers are doing: ``rapidreview status [--json]`` and the administrators' Service status page.

``collect(rt)`` returns plain JSON-ready data. ``ok`` is False when something needs a person: no
scheduler alive, a timer overdue by more than a minute, a failing step, or an e-mail that will not go.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.platform import outbox, scheduling
from rapidreview.services.platform.health import HEARTBEAT_SECONDS
from rapidreview.services.reading import case_views
from rapidreview.store.db import transaction

ALIVE_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)
LISTED_LATE_AFTER = timedelta(seconds=5)  # a timer a moment past due is being fired right now
PROBLEM_LATE_AFTER = timedelta(minutes=1)


def collect(rt: Runtime, partnership_id: int | None = None) -> dict[str, Any]:
    """The whole deployment's status; with ``partnership_id``, that partnership's cases and messages only (the
    schedulers and the next wake-up are the deployment's either way)."""
    now = clock.now()
    with transaction(rt.sessions) as session:
        scope = None if partnership_id is None else case_views.outbox_scope(session, partnership_id)
        beats = scheduling.heartbeats(session)
        overdue_count, overdue = scheduling.overdue_timers(session, now, LISTED_LATE_AFTER, partnership_id=partnership_id)
        failing_count, failing = scheduling.failing_cases(session, partnership_id=partnership_id)
        next_case = scheduling.next_case_wake(session)
        mail = outbox.backlog(session, scope)
        failed_mail = outbox.failed_messages(session, scope=scope)
        retrying_mail = outbox.retrying_messages(session, scope=scope)

    schedulers = [{
        "name": b.name, "mode": b.mode, "started_at": _iso(b.started_at), "heartbeat_at": _iso(b.beat_at),
        "heartbeat_age_s": round((now - b.beat_at).total_seconds(), 1), "next_wake_at": _iso(b.next_wake_at),
        "stopped_at": _iso(b.stopped_at), "alive": b.stopped_at is None and now - b.beat_at <= ALIVE_WITHIN,
    } for b in beats]
    alive = [s for s in schedulers if s["alive"]]
    schedulers = alive + [s for s in schedulers if not s["alive"]][:5]  # and the last few that stopped or died
    wakes = [b.next_wake_at for b in beats if b.next_wake_at is not None and b.stopped_at is None
             and now - b.beat_at <= ALIVE_WITHIN]

    problems = []
    if not alive:
        problems.append("no scheduler is running: timers will not fire and e-mail will not go "
                        "(start `rapidreview scheduler`)")
    very_late = [c for c in overdue if c.next_timer_due and now - c.next_timer_due > PROBLEM_LATE_AFTER]
    if very_late:
        problems.append(f"{len(very_late)} case(s) have a timer overdue by more than a minute, "
                        f"the oldest {very_late[0].reference} (due {_iso(very_late[0].next_timer_due)})")
    if failing_count:
        problems.append(f"{failing_count} case(s) have a failing automatic step, e.g. {failing[0].reference}: "
                        f"{failing[0].engine_error}")
    if mail.failed:
        problems.append(f"{mail.failed} e-mail(s) could not be sent and need a person: e.g. "
                        f"'{failed_mail[0].subject}': {failed_mail[0].reason}")

    return {
        "ok": not problems,
        "checked_at": _iso(now),
        "problems": problems,
        "heartbeat_at": _iso(max((b.beat_at for b in beats if b.name in {s["name"] for s in alive}), default=None)),
        "next_wake_at": _iso(min(wakes)) if wakes else None,
        "next_case_due_at": _iso(next_case),
        "schedulers": schedulers,
        "overdue_timers": {"count": overdue_count, "cases": [{
            "reference": c.reference, "due_at": _iso(c.next_timer_due),
            "late_s": round((now - c.next_timer_due).total_seconds(), 1) if c.next_timer_due else None,
            "engine_error": c.engine_error} for c in overdue]},
        "failing_cases": {"count": failing_count, "cases": [{
            "reference": c.reference, "error": c.engine_error, "attempts": c.engine_attempts,
            "failing_since": _iso(c.engine_failed_since), "next_retry_at": _iso(c.wake_at)} for c in failing]},
        "outbox": {
            "backlog": mail.waiting, "pending": mail.pending, "sending": mail.sending, "retrying": mail.retrying,
            "failed": mail.failed, "oldest_queued_at": _iso(mail.oldest_queued_at),
            "failed_messages": [_message(m) for m in failed_mail[:50]],
            "retrying_messages": [_message(m) for m in retrying_mail[:50]],
        },
    }


def _message(m: outbox.UndeliveredMessage) -> dict[str, Any]:
    return {"id": m.id, "case": m.case_reference, "subject": m.subject, "to": m.to, "reason": m.reason,
            "attempts": m.attempts, "queued_at": _iso(m.queued_at), "next_attempt_at": _iso(m.next_attempt_at)}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def render(status: dict[str, Any]) -> str:
    """The status for a person at a terminal."""
    lines = []
    alive = [s for s in status["schedulers"] if s["alive"]]
    if alive:
        for s in alive:
            lines.append(f"scheduler {s['name']} ({s['mode']}): heartbeat {s['heartbeat_age_s']:.0f} s ago, "
                         f"next wake-up {s['next_wake_at'] or '-'}")
    else:
        lines.append("scheduler: none running")
    lines.append(f"next case due: {status['next_case_due_at'] or 'none'}")
    overdue = status["overdue_timers"]
    lines.append(f"overdue timers: {overdue['count']}")
    lines += [f"  {c['reference']}: due {c['due_at']}, {c['late_s']:.0f} s late" for c in overdue["cases"][:10]]
    failing = status["failing_cases"]
    lines.append(f"failing steps: {failing['count']}")
    lines += [f"  {c['reference']}: {c['error']} ({c['attempts']} attempts, next {c['next_retry_at']})"
              for c in failing["cases"][:10]]
    mail = status["outbox"]
    lines.append(f"outbox: {mail['backlog']} waiting ({mail['retrying']} retrying), {mail['failed']} failed")
    lines += [f"  failed: {m['subject']} to {', '.join(m['to'])}: {m['reason']}" for m in mail["failed_messages"][:10]]
    lines.append("OK" if status["ok"] else "PROBLEMS:\n" + "\n".join(f"  - {p}" for p in status["problems"]))
    return "\n".join(lines)
