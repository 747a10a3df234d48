"""One line of a mail check's report (``rapidreview mail check``), shared by every transport's checks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str
    detail: str = ""
    temporary: bool = False  # could not be checked now (server busy or unreachable): try again later
