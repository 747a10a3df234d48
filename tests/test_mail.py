"""Messages, invitations and the file transport."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

from app.mail.invitation import Invitation, to_ics
from app.mail.message import Attachment, OutgoingMail, new_message_id
from app.mail.transports import FileTransport

START = datetime(2026, 12, 30, 10, 0, tzinfo=UTC)


def invitation(**changes: object) -> Invitation:
    fields: dict[str, object] = dict(uid="rapid-review-meeting-RR-1@partnership.example", sequence=0,
                                     summary="Rapid Review Meeting RR-1", description="Agenda attached;\nbring notes",
                                     location="Microsoft Teams", starts_at=START, ends_at=START.replace(hour=12),
                                     organizer="rr@partnership.example", attendees=["a@x.example", "b@y.example"])
    fields.update(changes)
    return Invitation(**fields)  # type: ignore[arg-type]


def test_a_meeting_invitation_is_an_icalendar_request_with_utc_times_and_attendees() -> None:
    ics = to_ics(invitation())
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    lines = ics.replace("\r\n ", "").split("\r\n")  # unfolded
    assert lines[0] == "BEGIN:VCALENDAR" and "METHOD:REQUEST" in lines
    assert "DTSTART:20261230T100000Z" in lines and "DTEND:20261230T120000Z" in lines
    assert any(line.endswith("mailto:a@x.example") and line.startswith("ATTENDEE") for line in lines)
    assert "DESCRIPTION:Agenda attached\\;\\nbring notes" in lines


def test_long_lines_are_folded_for_calendar_clients() -> None:
    ics = to_ics(invitation(description="word " * 60))
    assert "\r\n " in ics


def test_the_file_transport_writes_a_complete_eml_with_attachment_and_invitation(tmp_path: Path) -> None:
    mail = OutgoingMail(message_id=new_message_id("rr@partnership.example"), sender="rr@partnership.example",
                        to=["panel@education.gov.uk"], cc=["chair@partnership.example"], subject="Rapid Review RR-1",
                        body="Please find attached.", attachments=[Attachment("report.pdf", "application/pdf", b"%PDF-1.7 x")],
                        invitation=invitation())
    where = FileTransport(tmp_path).send(mail, START)
    parsed = message_from_bytes(Path(where).read_bytes(), policy=policy.default)
    assert parsed["To"] == "panel@education.gov.uk" and parsed["Cc"] == "chair@partnership.example"
    assert parsed["Message-ID"].strip() == mail.message_id
    parts = {part.get_filename(): part for part in parsed.iter_attachments()}
    assert parts["report.pdf"].get_content() == b"%PDF-1.7 x"
    calendars = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert calendars and "METHOD:REQUEST" in calendars[0].get_content()
    assert not list(tmp_path.glob("*.tmp"))
