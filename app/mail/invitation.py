"""iCalendar (RFC 5545) meeting requests, written by hand: the format is small and stable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


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
        "BEGIN:VCALENDAR", "PRODID:-//Rapid Review//Rapid Review Meeting//EN", "VERSION:2.0", "METHOD:REQUEST",
        "BEGIN:VEVENT", f"UID:{inv.uid}", f"SEQUENCE:{inv.sequence}", f"DTSTAMP:{_utc(inv.stamp or inv.starts_at)}",
        f"DTSTART:{_utc(inv.starts_at)}", f"DTEND:{_utc(inv.ends_at)}", f"SUMMARY:{_escape(inv.summary)}",
        f"DESCRIPTION:{_escape(inv.description)}", f"LOCATION:{_escape(inv.location)}",
        f"ORGANIZER:mailto:{inv.organizer}",
    ]
    lines += [f"ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:{a}" for a in inv.attendees]
    lines += ["STATUS:CONFIRMED", "END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(part for line in lines for part in _fold(line)) + "\r\n"
