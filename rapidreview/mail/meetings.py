"""Which provider calendar item is which meeting, for transports that keep meetings in a calendar (ews, graph).

Exchange and Graph send meeting requests themselves from a calendar item, so a rescheduling must update
that same item (and a cancellation cancel it) rather than create another: we keep the provider's item id
under our iCalendar UID. The row is written in its own short transaction straight after the provider
answers, so a crash before the outbox records the send still leaves the id behind: the retry then finds
the meeting already at that SEQUENCE and does not send it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapidreview.mail.invitation import CANCEL_ATTENDEES, CANCEL_MEETING, Invitation
from rapidreview.mail.message import OutgoingMail
from rapidreview.store.models import MailMeetingItem


@dataclass(frozen=True)
class MeetingItem:
    uid: str
    transport: str
    mailbox: str
    item_id: str
    sequence: int
    cancelled: bool
    message_id: str
    provider_uid: str | None = None  # Graph: the event's iCalUId, to find it if its id no longer works


class MeetingItems(Protocol):
    def get(self, uid: str) -> MeetingItem | None: ...

    def by_message_id(self, message_id: str) -> MeetingItem | None: ...

    def put(self, item: MeetingItem) -> None: ...


class MemoryMeetingItems:
    """For tests, and for a single process that never restarts (nothing real)."""

    def __init__(self) -> None:
        self.items: dict[str, MeetingItem] = {}

    def get(self, uid: str) -> MeetingItem | None:
        return self.items.get(uid)

    def by_message_id(self, message_id: str) -> MeetingItem | None:
        return next((i for i in self.items.values() if i.message_id == message_id), None)

    def put(self, item: MeetingItem) -> None:
        self.items[item.uid] = item


class SqlMeetingItems:
    """The ``mail_meeting_items`` table, each call in its own transaction (see the module docstring)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def get(self, uid: str) -> MeetingItem | None:
        with self.sessions() as session:
            return _item(session.get(MailMeetingItem, uid))

    def by_message_id(self, message_id: str) -> MeetingItem | None:
        with self.sessions() as session:
            row = session.scalars(select(MailMeetingItem).where(MailMeetingItem.message_id == message_id)).first()
            return _item(row)

    def put(self, item: MeetingItem) -> None:
        with self.sessions.begin() as session:
            row = session.get(MailMeetingItem, item.uid, with_for_update=True)
            if row is None:
                session.add(MailMeetingItem(uid=item.uid, transport=item.transport, mailbox=item.mailbox,
                                            item_id=item.item_id, sequence=item.sequence, cancelled=item.cancelled,
                                            message_id=item.message_id, provider_uid=item.provider_uid))
                return
            row.transport, row.mailbox, row.item_id = item.transport, item.mailbox, item.item_id
            row.sequence, row.cancelled, row.message_id = item.sequence, item.cancelled, item.message_id
            row.provider_uid = item.provider_uid


def _item(row: MailMeetingItem | None) -> MeetingItem | None:
    if row is None:
        return None
    return MeetingItem(uid=row.uid, transport=row.transport, mailbox=row.mailbox, item_id=row.item_id,
                       sequence=row.sequence, cancelled=row.cancelled, message_id=row.message_id,
                       provider_uid=row.provider_uid)


# -- what to do with a meeting mail ------------------------------------------------------------------

@dataclass(frozen=True)
class MeetingPlan:
    action: str  # "create", "update", "cancel" or "skip"
    invitation: Invitation
    existing: MeetingItem | None
    reason: str = ""

    @property
    def skipped_id(self) -> str:
        """What ``send`` returns for a skipped mail: the item it concerns, else why nothing was done."""
        return self.existing.item_id if self.existing else f"nothing sent: {self.reason}"


def plan_meeting(items: MeetingItems, transport: str, mailbox: str, mail: OutgoingMail) -> MeetingPlan:
    """Create, update, cancel, or leave alone: decided from what the provider already has for this UID."""
    inv = mail.invitation
    assert inv is not None
    found = items.get(inv.uid)
    existing = found if found and found.transport == transport and found.mailbox.lower() == mailbox.lower() else None
    if existing and (existing.message_id == mail.message_id or existing.sequence >= inv.sequence):
        # Already applied (a retry after a crash), or this change or a later one already went out:
        # sending it now would repeat it or move the meeting back.
        return MeetingPlan("skip", inv, existing, "already applied" if existing.message_id == mail.message_id
                           else f"sequence {inv.sequence} is not newer than {existing.sequence}")
    if inv.cancel == CANCEL_ATTENDEES:
        # The provider withdrew dropped attendees itself when it updated the item's attendee list.
        return MeetingPlan("skip", inv, existing, "attendees withdrawn by the update")
    if inv.cancel == CANCEL_MEETING:
        if existing is None:
            # The request never reached this calendar (it failed, or went through another transport).
            return MeetingPlan("skip", inv, None, "no meeting in this calendar to cancel")
        if existing.cancelled:
            return MeetingPlan("skip", inv, existing, "already cancelled")
        return MeetingPlan("cancel", inv, existing)
    if existing is None or existing.cancelled:
        return MeetingPlan("create", inv, None)
    return MeetingPlan("update", inv, existing)


def record_meeting(items: MeetingItems, transport: str, mailbox: str, mail: OutgoingMail, item_id: str,
                   provider_uid: str | None = None) -> None:
    inv = mail.invitation
    assert inv is not None
    items.put(MeetingItem(uid=inv.uid, transport=transport, mailbox=mailbox, item_id=item_id, sequence=inv.sequence,
                          cancelled=inv.cancel == CANCEL_MEETING, message_id=mail.message_id, provider_uid=provider_uid))



class UnavailableMeetingItems:
    """Stands in when no database was given: meeting mail fails loudly instead of creating duplicates."""

    def _refuse(self) -> MeetingItem | None:
        from rapidreview.mail.interface import PermanentMailError

        raise PermanentMailError("this transport keeps meetings in a calendar and needs the database to find them "
                                 "again: build it with make_transport(settings, sessions=...)")

    def get(self, uid: str) -> MeetingItem | None:
        return self._refuse()

    def by_message_id(self, message_id: str) -> MeetingItem | None:
        return None  # no meeting can have been sent without a store

    def put(self, item: MeetingItem) -> None:
        self._refuse()
