"""What every mail transport is and says: the interface, and the errors that carry the server's verdict.

A leaf of ``rapidreview.mail``: the transports (smtp, ews, graph, files) and the outbox import it; it imports
none of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from rapidreview.mail.message import OutgoingMail


class TemporaryMailError(RuntimeError):
    """Try again later (server busy, throttled, network down). ``retry_after``: seconds the server asked for.

    ``in_doubt``: the message had been handed over and no verdict came back (the connection dropped after
    the body was sent, an HTTP response was lost), so the server may have accepted it.
    """

    def __init__(self, message: str, retry_after: float | None = None, *, in_doubt: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.in_doubt = in_doubt


class PermanentMailError(RuntimeError):
    """Retrying will not help (bad address, rejected content, missing permission): a person must look."""

    in_doubt = False  # a permanent error is always a verdict: the server said no


class ClaimLost(TemporaryMailError):
    """This attempt's lease on the message lapsed and another sender took it: stop without sending."""


class Transport(Protocol):
    name: str

    def send(self, mail: OutgoingMail, sent_at: datetime) -> str:
        """Deliver ``mail``; return the provider's id for it.

        Our transports call ``mail.handing_over()`` just before the step after which the server may have the
        message, and say so with ``reports_handover = True``.
        """
        ...


def reports_handover(transport: Transport) -> bool:
    """Whether ``transport`` marks the hand-over, so the outbox can tell a message that never reached the
    server (safe to send again) from one that may have (ask first, or count it as a possible duplicate)."""
    return bool(getattr(transport, "reports_handover", False))


@runtime_checkable
class SentItemsLookup(Protocol):
    def find_sent(self, message_id: str) -> str | None:
        """The provider's id of a message already sent with this Message-ID, or None if none is found."""
        ...


def find_sent(transport: Transport, message_id: str) -> str | None:
    """Ask ``transport`` whether ``message_id`` already went out; None when it cannot tell or did not."""
    if isinstance(transport, SentItemsLookup):
        return transport.find_sent(message_id)
    return None
