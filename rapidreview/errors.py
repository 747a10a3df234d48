"""The application's errors: one base and four kinds, each with the HTTP status the web app answers with.

Services raise these (or their own subclasses, such as ``cases.TaskUnavailable``) instead of bare
``LookupError``, ``ValueError`` or ``PermissionError``, so a caller catches a kind it can name and the web
app maps any that a view leaves uncaught to a page in one place (:func:`http_status`, used by
``rapidreview.web``). Not found, conflict and invalid also derive from the built-in exception they replace
(``LookupError``, ``ValueError``), which the engine and the standard library raise for the same kinds of
thing; not allowed does not derive from ``PermissionError``, an ``OSError`` that storage errors are caught as.

The message is written for the person who will read it: it may be shown on a page.
"""

from __future__ import annotations


class RapidReviewError(Exception):
    """Something the application refuses to do, with a message a person can act on."""

    status = 500


class NotFound(RapidReviewError, LookupError):
    """No such thing, or nothing the person may be told exists (both answer 404)."""

    status = 404


class NotAllowed(RapidReviewError):
    """The person may not do this."""

    status = 403


class Conflict(RapidReviewError, ValueError):
    """The request is well formed but the thing is not in a state that allows it (already completed, not failed)."""

    status = 409


class Invalid(RapidReviewError, ValueError):
    """What was given is wrong: a form answer, a file, an option."""

    status = 400


def http_status(error: RapidReviewError) -> int:
    return error.status
