"""iCalendar (RFC 5545/5546) meeting requests and cancellations, written by hand: the format is small and stable.

One meeting keeps one UID for its whole life; every change (new time, new attendees, cancellation) is sent
with the same UID and a higher SEQUENCE, so calendars update the entry they have instead of adding another.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Invitation.cancel: None is a request (new or changed meeting); "meeting" cancels the meeting for everyone;
# "attendees" withdraws only the attendees listed (they were dropped from a rescheduled meeting).
CANCEL_MEETING, CANCEL_ATTENDEES = "meeting", "attendees"


@dataclass(frozen=True)
class Invitation:
    uid: str
    sequence: int
    summary: str
    description: str
    location: str
    starts_at: datetime
    ends_at: datetime
    organizer: str
    attendees: list[str] = field(default_factory=list)
    stamp: datetime | None = None
    cancel: str | None = None

    def __post_init__(self) -> None:
        if self.cancel not in (None, CANCEL_MEETING, CANCEL_ATTENDEES):
            raise ValueError(f"Invitation.cancel must be None, {CANCEL_MEETING!r} or {CANCEL_ATTENDEES!r}")

    @property
    def method(self) -> str:
        return "REQUEST" if self.cancel is None else "CANCEL"

    @classmethod
    def from_calendar(cls, calendar: Mapping[str, Any], *, organizer: str, attendees: Sequence[str],
                      stamp: datetime | None = None) -> Invitation:
        """The invitation an outbox row's ``calendar`` JSON describes (as ``invite_to_meeting`` writes it)."""
        return cls(uid=calendar["uid"], sequence=int(calendar.get("sequence", 0)), summary=calendar["summary"],
                   description=calendar.get("description", ""), location=calendar.get("location", ""),
                   starts_at=datetime.fromisoformat(calendar["starts_at"]),
                   ends_at=datetime.fromisoformat(calendar["ends_at"]), organizer=organizer,
                   attendees=list(attendees), stamp=stamp, cancel=calendar.get("cancel"))


def _utc(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    # Lines longer than 75 octets are folded with a leading space (RFC 5545 3.1).
    out, raw = [], line.encode()
    while len(raw) > 75:
        cut = 75
        while cut > 0 and (raw[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(raw[:cut].decode())
        raw = b" " + raw[cut:]
    out.append(raw.decode())
    return out


def to_ics(inv: Invitation) -> str:
    lines = [
        "BEGIN:VCALENDAR", "PRODID:-//Rapid Review//Rapid Review Meeting//EN", "VERSION:2.0", f"METHOD:{inv.method}",
        "BEGIN:VEVENT", f"UID:{inv.uid}", f"SEQUENCE:{inv.sequence}", f"DTSTAMP:{_utc(inv.stamp or inv.starts_at)}",
        f"DTSTART:{_utc(inv.starts_at)}", f"DTEND:{_utc(inv.ends_at)}", f"SUMMARY:{_escape(inv.summary)}",
        f"DESCRIPTION:{_escape(inv.description)}", f"LOCATION:{_escape(inv.location)}",
        f"ORGANIZER:mailto:{inv.organizer}",
    ]
    reply = ";PARTSTAT=NEEDS-ACTION;RSVP=TRUE" if inv.cancel is None else ""
    lines += [f"ATTENDEE;ROLE=REQ-PARTICIPANT{reply}:mailto:{a}" for a in inv.attendees]
    # RFC 5546 3.2.5: STATUS:CANCELLED cancels the whole event; withdrawing some attendees must leave it out.
    status = {None: ["STATUS:CONFIRMED"], CANCEL_MEETING: ["STATUS:CANCELLED"], CANCEL_ATTENDEES: []}[inv.cancel]
    lines += [*status, "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(part for line in lines for part in _fold(line)) + "\r\n"
