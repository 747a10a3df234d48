"""Messages, invitations, e-mail templates, the file transport and choosing a transport."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import icalendar
import pytest
from markupsafe import escape

from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.mail.invitation import Invitation, to_ics
from rapidreview.mail.message import Attachment, OutgoingMail, new_message_id
from rapidreview.mail.templates import render_email, render_email_parts
from rapidreview.mail.transports import FileTransport, PermanentMailError, find_sent, make_transport

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
    assert parsed["Reply-To"] is None
    replied = FileTransport(tmp_path).send(replace(mail, message_id=new_message_id("rr@partnership.example"),
                                                   reply_to=["pm@partnership.example"]), START)
    assert message_from_bytes(Path(replied).read_bytes(), policy=policy.default)["Reply-To"] == "pm@partnership.example"
    assert parsed["Message-ID"].strip() == mail.message_id
    parts = {part.get_filename(): part for part in parsed.iter_attachments()}
    assert parts["report.pdf"].get_content() == b"%PDF-1.7 x"
    calendars = [p for p in parsed.walk() if p.get_content_type() == "text/calendar"]
    assert calendars and "METHOD:REQUEST" in calendars[0].get_content()
    assert not list(tmp_path.glob("*.tmp"))


# -- templates -------------------------------------------------------------------------------------------

TEMPLATES = PROJECT_ROOT / "templates"
EMAILS = sorted(p.stem for p in (TEMPLATES / "email").glob("*.txt"))
# Mail that goes outside the partnership carries no link into the system.
WITHOUT_LINK = {"test_message", "national_panel_submission", "national_panel_decision"}
# A person's own notices link to the task, and the day's summary lists tasks of several cases.
PERSONAL = {"your_turn", "task_overdue", "task_digest"}
TASK_LINK = "https://rapidreview.partnership.example/tasks/7"


def context(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "case": {"reference": "RR-2026-014", "day_one": "1 June 2026", "deadline": "19 June 2026", "day": 6,
                 "days": {n: f"Day {n} date" for n in range(1, 16)}},
        "agency": {"name": "Oak School"},
        "meeting": {"starts_at": "10 June 2026, 10:00", "location": "Civic Centre", "previous_starts_at": "",
                    "for_everyone": True},
        "link": "https://rapidreview.partnership.example/cases/RR-2026-014",
        "partnership_name": "Safeguarding Children Partnership", "chair_name": "Dr Jane Chair",
        # As in e-mails: an element whose time is not known yet is None (services.moments).
        "due": defaultdict(lambda: None, {e: {"at": "12pm on Tuesday 9 June 2026 (Day 7)", "day": 7, "time": "12pm",
                                              "date": "Tuesday 9 June 2026"}
                                          for e in ("prepare_draft_report", "sign_off_final_report",
                                                    "submit_to_national_panel", "comment_window_closes", "complete_information_sharing_form",
                                                              "information_sharing_closed")}),
        "partner_name": "Police", "submission": {"covering_note": "", "completed_by_name": "Pat Manager"},
        "task": {"name": "Complete the information sharing form", "agency": "Oak School", "partner": None,
                 "due": {"at": "5pm on Tuesday 9 June 2026", "day": 7}, "link": TASK_LINK},
        "name": "Sam Agency",
        # An invitation to an agency's contact, and the note that it lapsed unused (services/people/invitations.py).
        "invitation": {"role": "agency_practitioner", "expires": "9am on Wednesday 3 June 2026",
                       "contact_email": "partnership.manager@partnership.example", "providers": ["Northbridge Council"],
                       "person": "Nia Jones", "email": "nia.jones@littleacorns.example"},
    }
    values.update(changes)
    values["tasks"] = [{"case": values["case"], "task": values["task"]}]
    return values


@pytest.mark.parametrize("name", EMAILS)
def test_every_email_has_an_html_alternative_with_the_same_reference_and_link(name: str) -> None:
    mail = render_email_parts(TEMPLATES, name, context())
    assert mail.html is not None, f"templates/email/{name}.html is missing"
    assert mail.html.startswith("<!DOCTYPE html>") and f"<title>{escape(mail.subject)}</title>" in mail.html
    if name not in ("test_message", "task_digest"):
        assert "RR-2026-014" in mail.subject
    if name != "test_message":
        assert "RR-2026-014" in mail.text and "RR-2026-014" in mail.html
    if name in PERSONAL:
        assert TASK_LINK in mail.text and f'href="{TASK_LINK}"' in mail.html
    elif name not in WITHOUT_LINK:
        assert context()["link"] in mail.text
        assert f'href="{context()["link"]}"' in mail.html


@pytest.mark.parametrize("name", EMAILS)
def test_subject_lines_name_only_the_case_reference_and_the_partnership(name: str) -> None:
    # A subject line is shown in notification pop-ups and mail lists: never the child's name or any detail.
    subject_line = (TEMPLATES / "email" / f"{name}.txt").read_text().splitlines()[0]
    assert subject_line.startswith("Subject: ")
    # A task's name is the BPMN step's, the same for every case, so it may say which task it is; a deadline
    # is the process's (its day and time), the same for every case on that day.
    deadlines = {f"due.{e}.{part}" for e in ("complete_information_sharing_form", "sign_off_final_report")
                 for part in ("time", "day")}
    assert set(re.findall(r"{{\s*(.*?)\s*}}", subject_line)) <= {"case.reference", "partnership_name", "task.name",
                                                                       "tasks | length", *deadlines}
    assert "{%" not in subject_line


def test_html_escapes_what_the_text_keeps_as_it_is() -> None:
    hostile = context(agency={"name": 'Smith & Sons <script>alert("x")</script>'})
    mail = render_email_parts(TEMPLATES, "information_sharing_request", hostile)
    assert "Smith & Sons <script>" in mail.text
    assert mail.html is not None and "<script>" not in mail.html
    assert "Smith &amp; Sons &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in mail.html


def test_a_template_without_an_html_file_still_renders_as_plain_text(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "plain.txt").write_text("Subject: Hello {{ name }}\n\nBody for {{ name }}\n")
    mail = render_email_parts(tmp_path, "plain", {"name": "Ann"})
    assert (mail.subject, mail.text, mail.html) == ("Hello Ann", "Body for Ann\n", None)
    assert render_email(tmp_path, "plain", {"name": "Ann"}) == ("Hello Ann", "Body for Ann\n")


# -- messages, cancellations, the file transport ---------------------------------------------------------

def test_the_eml_offers_plain_text_html_and_the_calendar_as_alternatives(tmp_path: Path) -> None:
    mail = OutgoingMail(message_id="<m@partnership.example>", sender="rr@partnership.example", to=["a@x.example"],
                        subject="Rapid Review Meeting: RR-1", body="Plain", html="<p>Rich</p>", invitation=invitation())
    parsed = message_from_bytes(Path(FileTransport(tmp_path).send(mail, START)).read_bytes(), policy=policy.default)
    [alternative] = [p for p in parsed.walk() if p.get_content_type() == "multipart/alternative"]
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html", "text/calendar"]


def test_a_cancellation_is_an_icalendar_cancel_with_the_same_uid_and_a_higher_sequence() -> None:
    request = icalendar.Calendar.from_ical(to_ics(invitation(sequence=3)))
    cancel = icalendar.Calendar.from_ical(to_ics(invitation(sequence=4, cancel="meeting")))
    assert (request["METHOD"], cancel["METHOD"]) == ("REQUEST", "CANCEL")
    [before], [after] = request.walk("VEVENT"), cancel.walk("VEVENT")
    assert before["UID"] == after["UID"] and (before["SEQUENCE"], after["SEQUENCE"]) == (3, 4)
    assert after["STATUS"] == "CANCELLED"
    withdrawn = icalendar.Calendar.from_ical(to_ics(invitation(sequence=5, cancel="attendees", attendees=["b@y.example"])))
    assert withdrawn["METHOD"] == "CANCEL" and "STATUS" not in withdrawn.walk("VEVENT")[0]
    with pytest.raises(ValueError, match="cancel"):
        invitation(cancel="maybe")


def test_an_outbox_calendar_row_becomes_the_same_invitation() -> None:
    row = {"uid": "u@x", "sequence": 2, "summary": "S", "description": "D", "location": "L",
           "starts_at": START.isoformat(), "ends_at": START.replace(hour=12).isoformat(), "cancel": "meeting"}
    inv = Invitation.from_calendar(row, organizer="rr@x.example", attendees=["a@x.example"], stamp=START)
    assert inv == Invitation(uid="u@x", sequence=2, summary="S", description="D", location="L", starts_at=START,
                             ends_at=START.replace(hour=12), organizer="rr@x.example", attendees=["a@x.example"],
                             stamp=START, cancel="meeting")


def test_the_file_transport_finds_what_it_already_wrote(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path)
    mail = OutgoingMail(message_id="<found@partnership.example>", sender="rr@partnership.example", to=["a@x.example"],
                        subject="S", body="B")
    assert find_sent(transport, mail.message_id) is None
    where = transport.send(mail, START)
    assert find_sent(transport, mail.message_id) == where
    assert transport.find_sent("<other@partnership.example>") is None


# -- choosing a transport --------------------------------------------------------------------------------

def test_the_configured_transport_is_built_and_the_old_call_still_gives_files(tmp_path: Path) -> None:
    assert make_transport(Settings(mail_transport="file", data_dir=tmp_path)).name == "file"
    assert make_transport(Settings(mail_transport="smtp")).name == "smtp"
    assert isinstance(make_transport("file", tmp_path), FileTransport)
    with pytest.raises(PermanentMailError, match="needs the settings"):
        make_transport("smtp", tmp_path)


def test_exchange_and_graph_refuse_meetings_without_the_database(tmp_path: Path) -> None:
    from rapidreview.mail.meetings import UnavailableMeetingItems

    with pytest.raises(PermanentMailError, match="needs the database"):
        UnavailableMeetingItems().get("uid")


def test_importing_the_app_does_not_import_exchangelib_or_msal() -> None:
    code = ("import sys, rapidreview.cli, rapidreview.services.platform.outbox, rapidreview.scheduler.jobs\n"
            "from rapidreview.config import Settings\nfrom rapidreview.mail.transports import make_transport\n"
            "make_transport(Settings(mail_transport='smtp'))\n"
            "print(sorted(m for m in ('exchangelib', 'msal') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
