"""The one source of "now" for the whole application.

Production reads the system clock; tests and the simulator install a :class:`VirtualClock` so that a
15-working-day case runs in a fraction of a second. Every datetime handed out is timezone-aware UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that only moves when told to. Moving it backwards is refused: timers would misfire."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        when = _aware(when)
        if when < self._now:
            raise ValueError(f"the virtual clock cannot go back from {self._now.isoformat()} to {when.isoformat()}")
        self._now = when


def _aware(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()}: every time must carry its offset")
    return when.astimezone(UTC)


_lock = threading.Lock()
_current: Clock = SystemClock()
# A demonstration case runs ahead of the clock (services.demo_clock): while its request or step runs, "now"
# is shifted by its offset. Per context, so other requests and threads keep the real time.
_shift: ContextVar[timedelta] = ContextVar("clock_shift", default=timedelta(0))


def now() -> datetime:
    return _current.now() + _shift.get()


def shift() -> timedelta:
    """How far ahead of the clock this context runs (zero but for a demonstration case's work)."""
    return _shift.get()


@contextmanager
def shifted(by: timedelta) -> Iterator[None]:
    """Run the block ``by`` ahead of the clock (a demonstration case's own time)."""
    token = _shift.set(by)
    try:
        yield
    finally:
        _shift.reset(token)


def current() -> Clock:
    return _current


def install(clock: Clock) -> Clock:
    """Make ``clock`` the process-wide clock and return the previous one."""
    global _current
    with _lock:
        previous, _current = _current, clock
    return previous


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)
