"""One line of a mail check's report (``rapidreview mail check``), shared by every transport's checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rapidreview.mail.interface import PermanentMailError, TemporaryMailError


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    detail: str = ""
    temporary: bool = False  # could not be checked now (server busy or unreachable): try again later


def failed(what: str, exc: Exception) -> Finding:
    return Finding(False, what, str(exc), temporary=isinstance(exc, TemporaryMailError))


def checked(what: str, action: Callable[[], Any]) -> Finding:
    """Run one check: a finding that it works, or what the server said when it did not."""
    try:
        action()
    except (PermanentMailError, TemporaryMailError) as exc:
        return failed(what, exc)
    return Finding(True, what)
