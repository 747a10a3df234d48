"""The Rapid Review Meeting as an event in the mailbox's calendar, through Microsoft Graph.

Exchange Online sends the invitation when the event is created, an update when it is changed (and a
cancellation to anyone dropped), and a cancellation when it is cancelled. So a change must reach the same
event: a second one would invite everyone twice.

Event ids are asked for as immutable ids (``Prefer: IdType="ImmutableId"`` on create, update, cancel and
look-up): a regular id changes when someone moves the event in Outlook, and an update by the old id then
finds nothing. We also keep the event's ``iCalUId``; if the id we hold no longer finds the event (one stored
before immutable ids, or an event moved out of the mailbox and back), the event is looked up by its
``iCalUId`` before any new one is created.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from rapidreview.mail.graph_client import IMMUTABLE_IDS, GraphClient, ItemNotFound
from rapidreview.mail.meetings import MeetingItem, MeetingItems, plan_meeting, record_meeting
from rapidreview.mail.message import OutgoingMail


def send_meeting(client: GraphClient, meetings: MeetingItems, transport: str, mail: OutgoingMail) -> str:
    """Create, update or cancel the event for ``mail``'s invitation; return the event's id."""
    plan = plan_meeting(meetings, transport, client.mailbox, mail)
    inv = plan.invitation
    if plan.action == "skip":
        return plan.skipped_id
    existing = plan.existing
    mail.handing_over()
    if plan.action == "cancel":
        assert existing is not None

        def cancel(event_id: str) -> dict[str, Any]:
            client.call("POST", f"{_event_url(client, event_id)}/cancel", body={"comment": mail.body},
                        headers=IMMUTABLE_IDS, handed_over=True)
            return {"id": event_id, "iCalUId": existing.provider_uid}

        # None: deleted in Outlook already, which told the attendees.
        cancelled = _reach(client, existing, cancel) or {"id": existing.item_id, "iCalUId": existing.provider_uid}
        return _recorded(meetings, transport, client, mail, cancelled)
    event: dict[str, Any] = {
        "subject": inv.summary,
        "body": body_json(mail),
        "start": {"dateTime": _graph_time(inv.starts_at), "timeZone": "UTC"},
        "end": {"dateTime": _graph_time(inv.ends_at), "timeZone": "UTC"},
        "location": {"displayName": inv.location},
        "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in inv.attendees],
        "allowNewTimeProposals": False,
    }
    if plan.action == "update":
        assert existing is not None
        # Exchange Online sends the update to the attendees, and a cancellation to any dropped.

        def update(event_id: str) -> dict[str, Any]:
            return dict(client.call("PATCH", _event_url(client, event_id), body=event, headers=IMMUTABLE_IDS,
                                    handed_over=True).json())

        updated = _reach(client, existing, update)
        if updated is not None:
            return _recorded(meetings, transport, client, mail, updated)
        # Deleted from the calendar by someone: invite afresh.
    # transactionId makes Graph ignore a second create of the same meeting after a lost response.
    event["transactionId"] = hashlib.sha256(f"{inv.uid}:{mail.message_id}".encode()).hexdigest()[:36]
    created = client.call("POST", f"{client.user}/events", body=event, headers=IMMUTABLE_IDS, handed_over=True).json()
    return _recorded(meetings, transport, client, mail, created)


def _reach(client: GraphClient, existing: MeetingItem,
           act: Callable[[str], dict[str, Any]]) -> dict[str, Any] | None:
    """``act(event_id)`` on the event we hold; if its id finds nothing, on the event found by its iCalUId;
    None when there is no such event any more."""
    try:
        return act(existing.item_id)
    except ItemNotFound:
        found = find_event(client, existing.provider_uid) if existing.provider_uid else None
        return act(found) if found is not None else None


def find_event(client: GraphClient, ical_uid: str) -> str | None:
    """The immutable id of the (not cancelled) event with this iCalUId in the mailbox, or None."""
    quoted = ical_uid.replace("'", "''")
    found = client.call("GET", f"{client.user}/events", headers=IMMUTABLE_IDS, params={
        "$filter": f"iCalUId eq '{quoted}'", "$select": "id,iCalUId,isCancelled"}).json().get("value", [])
    live = [e for e in found if not e.get("isCancelled")]
    return str(live[0]["id"]) if live else None


def _recorded(meetings: MeetingItems, transport: str, client: GraphClient, mail: OutgoingMail,
              event: dict[str, Any]) -> str:
    record_meeting(meetings, transport, client.mailbox, mail, str(event["id"]), event.get("iCalUId"))
    return str(event["id"])


def _event_url(client: GraphClient, event_id: str) -> str:
    return f"{client.user}/events/{quote(event_id, safe='')}"


def _graph_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def body_json(mail: OutgoingMail) -> dict[str, str]:
    if mail.html is not None:
        return {"contentType": "HTML", "content": mail.html}
    return {"contentType": "Text", "content": mail.body}
