"""The Rapid Review Meeting over its life: invited, moved (same UID, next SEQUENCE, dropped attendees
withdrawn), cancelled; and the table that remembers which provider calendar item is which meeting."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import icalendar
import pytest
from sqlalchemy import inspect, select

from rapidreview import clock
from rapidreview.engine.scripting import ServiceCall
from rapidreview.mail.invitation import Invitation
from rapidreview.mail.meetings import MeetingItem, SqlMeetingItems, plan_meeting
from rapidreview.mail.message import OutgoingMail, to_email_message
from rapidreview.runtime import Runtime
from rapidreview.services.casework.operators import CaseOperators, OperatorError
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, OutboxMessage, ProcessVersion
from tests.test_mail_support import attendees, invitation, meeting_mail

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ANNA, BEN, CHLOE = "anna@oak-school.example", "ben@police.example", "chloe@icb.example"


@pytest.fixture
def case_id(runtime: Runtime) -> int:
    with clock.using(clock.VirtualClock(NOW)), transaction(runtime.sessions) as session:
        version = ProcessVersion(number=1, process_id="rapid_review", sha256="0" * 64, deployed_by="test")
        session.add(version)
        session.flush()
        case = Case(reference="RR-2026-014", process_version_id=version.id, notified_at=NOW, day_one=date(2026, 6, 1),
                    deadline=date(2026, 6, 19), notification={}, workflow_json="{}")
        session.add(case)
        session.flush()
        return case.id


def meeting_data(starts: str = "2026-06-10T09:00:00+00:00", attendees: tuple[str, ...] = (ANNA, BEN),
                 location: str = "Civic Centre, Rooms 2 & 3") -> dict[str, Any]:
    return {"meeting_starts_at": starts,
            "schedule_rapid_review_meeting": {"location": location, "duration_minutes": 90,
                                              "attendees": [{"email": a} for a in attendees]}}


def invite(rt: Runtime, case_id: int, data: dict[str, Any], **params: Any) -> dict[str, Any]:
    with clock.using(clock.VirtualClock(NOW)), transaction(rt.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        call = ServiceCall("invite_to_meeting", {"to": ["meeting_attendees"], **params}, "send_meeting_invitation",
                           "task-1", data)
        result = CaseOperators(rt, session, case).call(call)
        assert isinstance(result, dict)
        return result


def queued(rt: Runtime) -> list[OutboxMessage]:
    with transaction(rt.sessions) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def event_of(row: OutboxMessage) -> tuple[icalendar.Calendar, Any]:
    """The meeting as a calendar client would read it from the e-mail the outbox would send."""
    assert row.calendar is not None
    inv = Invitation.from_calendar(row.calendar, organizer=row.sender, attendees=list(row.to), stamp=row.created_at)
    mail = OutgoingMail(message_id=row.message_id, sender=row.sender, to=list(row.to), subject=row.subject,
                        body=row.body_text, html=row.body_html, invitation=inv)
    [part] = [p for p in to_email_message(mail, NOW).walk()
              if p.get_content_type() == "text/calendar" and not p.get_filename()]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    return calendar, calendar.walk("VEVENT")[0]


def test_the_first_invitation_is_a_request_with_an_escaped_html_alternative(runtime: Runtime, case_id: int) -> None:
    result = invite(runtime, case_id, meeting_data())
    [row] = queued(runtime)
    assert result == {"outbox_message_id": row.id, "uid": "rapid-review-meeting-RR-2026-014@partnership.example",
                      "sequence": 0}
    assert row.template == "meeting_invitation" and row.to == [ANNA, BEN]
    assert row.subject == "Rapid Review Meeting: RR-2026-014"
    assert row.body_html is not None and "Civic Centre, Rooms 2 &amp; 3" in row.body_html
    assert "Civic Centre, Rooms 2 & 3" in row.body_text
    calendar, event = event_of(row)
    assert calendar["METHOD"] == "REQUEST" and event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 6, 10, 10, 30, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Rapid Review Meeting: RR-2026-014"


def test_moving_the_meeting_updates_it_and_withdraws_whoever_was_dropped(runtime: Runtime, case_id: int) -> None:
    invite(runtime, case_id, meeting_data())
    result = invite(runtime, case_id, meeting_data("2026-06-11T13:00:00+00:00", attendees=(ANNA, CHLOE)))
    first, update, withdrawal = queued(runtime)
    assert result["sequence"] == 1 and result["withdrawn"]["attendees"] == [BEN]
    assert update.template == "meeting_update" and update.to == [ANNA, CHLOE]
    assert update.subject == "Rapid Review Meeting changed: RR-2026-014"
    assert "When: 11 June 2026, 14:00 (was 10 June 2026, 10:00)" in update.body_text
    calendar, event = event_of(update)
    assert calendar["METHOD"] == "REQUEST" and event["UID"] == event_of(first)[1]["UID"] and event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == datetime(2026, 6, 11, 13, 0, tzinfo=UTC)
    assert str(event["SUMMARY"]) == "Rapid Review Meeting: RR-2026-014"  # the calendar entry keeps its name
    assert withdrawal.to == [BEN] and withdrawal.template == "meeting_cancellation"
    assert "You no longer need to attend the Rapid Review Meeting for RR-2026-014 on 10 June 2026, 10:00" \
        in withdrawal.body_text
    calendar, event = event_of(withdrawal)
    assert calendar["METHOD"] == "CANCEL" and event["SEQUENCE"] == 2 and "STATUS" not in event
    assert attendees(event) == [f"mailto:{BEN}"]


def test_inviting_again_with_nothing_changed_sends_nothing(runtime: Runtime, case_id: int) -> None:
    invite(runtime, case_id, meeting_data())
    assert invite(runtime, case_id, meeting_data())["unchanged"] is True
    assert len(queued(runtime)) == 1


def test_cancelling_cancels_for_everyone_and_a_new_meeting_gets_a_new_uid(runtime: Runtime, case_id: int) -> None:
    invite(runtime, case_id, meeting_data())
    result = invite(runtime, case_id, meeting_data(), cancel=True)
    assert result["cancelled"] is True and result["sequence"] == 1
    _, cancellation = queued(runtime)
    assert cancellation.to == [ANNA, BEN] and cancellation.subject == "Cancelled: Rapid Review Meeting RR-2026-014"
    assert "on 10 June 2026, 10:00 has been cancelled" in cancellation.body_text
    calendar, event = event_of(cancellation)
    assert calendar["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    with pytest.raises(OperatorError, match="no meeting to cancel"):
        invite(runtime, case_id, meeting_data(), cancel=True)
    again = invite(runtime, case_id, meeting_data("2026-06-12T09:00:00+00:00"))
    assert again["uid"] == "rapid-review-meeting-RR-2026-014-2@partnership.example" and again["sequence"] == 0


def test_the_meeting_item_table_keeps_one_row_per_meeting(runtime: Runtime, case_id: int) -> None:
    items = SqlMeetingItems(runtime.sessions)
    item = MeetingItem(uid="u-1", transport="graph", mailbox="rr@x.example", item_id="AAMk" + "x" * 200, sequence=0,
                       cancelled=False, message_id="<a@x>", provider_uid="040000008200E00074C5B7101A82E008" + "0" * 100)
    items.put(item)
    items.put(MeetingItem(**{**item.__dict__, "sequence": 1, "message_id": "<b@x>"}))
    assert items.get("u-1") == MeetingItem(**{**item.__dict__, "sequence": 1, "message_id": "<b@x>"})
    assert items.by_message_id("<b@x>") is not None and items.by_message_id("<a@x>") is None
    assert items.get("u-2") is None
    columns = {c["name"] for c in inspect(runtime.database).get_columns("outbox_messages")}
    assert "body_html" in columns


def test_a_meeting_from_another_transport_or_mailbox_is_created_afresh() -> None:
    class One:
        def __init__(self, item: MeetingItem) -> None:
            self.item = item

        def get(self, uid: str) -> MeetingItem | None:
            return self.item

        def by_message_id(self, message_id: str) -> MeetingItem | None:
            return None

        def put(self, item: MeetingItem) -> None:
            raise AssertionError

    old = MeetingItem(uid=invitation().uid, transport="ews", mailbox="rr@x.example", item_id="A", sequence=0,
                      cancelled=False, message_id="<old@x>")
    mail = meeting_mail(invitation=invitation(sequence=1), message_id="<new@x>")
    assert plan_meeting(One(old), "graph", "rr@x.example", mail).action == "create"
    assert plan_meeting(One(old), "ews", "other@x.example", mail).action == "create"
    assert plan_meeting(One(old), "ews", "RR@X.example", mail).action == "update"


def test_an_invitation_queued_before_this_release_can_still_be_moved(runtime: Runtime, case_id: int) -> None:
    with clock.using(clock.VirtualClock(NOW)), transaction(runtime.sessions) as session:
        session.add(OutboxMessage(  # as the first release wrote it: no attendees in the calendar details
            case_id=case_id, message_id="<old@partnership.example>", purpose="meeting_invitation",
            template="meeting_invitation", sender="rr@partnership.example", to=[ANNA, BEN], cc=[], subject="Old",
            body_text="Old", attachments=[], status="sent", attempts=1, next_attempt_at=NOW, created_at=NOW,
            calendar={"uid": "rapid-review-meeting-RR-2026-014@partnership.example", "sequence": 0,
                      "summary": "Rapid Review Meeting: RR-2026-014", "description": "Old", "location": "Teams",
                      "starts_at": "2026-06-10T09:00:00+00:00", "ends_at": "2026-06-10T11:00:00+00:00"}))
    result = invite(runtime, case_id, meeting_data(attendees=(ANNA,)))
    assert result["sequence"] == 1 and result["withdrawn"]["attendees"] == [BEN]
