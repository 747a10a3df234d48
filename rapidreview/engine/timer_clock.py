"""Make SpiffWorkflow's timers read :mod:`rapidreview.clock`.

SpiffWorkflow reads ``datetime.now`` inside its timer module and offers no hook, so we replace that
module's ``datetime`` name once, here and nowhere else. It also fires a timer only when its due time is
*strictly* before now; we answer one microsecond ahead so that a timer fires when the clock reaches its
due time exactly (a scheduler waking at 09:00:00 fires the 09:00 reminder then, not a tick later).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from rapidreview import clock

_AHEAD = timedelta(microseconds=1)


class _ClockDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = clock.now() + _AHEAD
        return current.astimezone(tz) if tz is not None else current


def install() -> None:
    if _timer_module.datetime is not _ClockDatetime:
        _timer_module.datetime = _ClockDatetime
