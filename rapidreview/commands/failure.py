"""How a command says it failed: one line on standard error, and exit status 2 (usage and refusals alike)."""

from __future__ import annotations

import sys

EXIT_FAILURE = 2


def fail(message: object) -> int:
    """Print ``rapidreview: error: <message>`` to standard error; return the exit status to return."""
    print(f"rapidreview: error: {message}", file=sys.stderr)
    return EXIT_FAILURE
