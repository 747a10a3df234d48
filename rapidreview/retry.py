"""Back-off between attempts, shared by the outbox (mail) and the scheduler (failing case steps)."""

from __future__ import annotations

from datetime import timedelta


def doubling_delay(attempts: int, first: timedelta, longest: timedelta) -> timedelta:
    """``first`` after the first failed attempt, doubling after each further one, never more than ``longest``."""
    return min(longest, first * 2 ** min(max(0, attempts - 1), 16))  # 2**16 times any first delay is past the cap
