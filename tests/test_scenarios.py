"""The bundled scenarios, run through the simulator on the test database, asserted on their timeline."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from email import message_from_bytes, policy
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from rapidreview.calendar import WorkingCalendar, to_london
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.simulator.runner import SimulationResult, simulate
from rapidreview.simulator.scenario import load_scenario
from tests.conftest import TEST_DATABASE_URL, requires_soffice

pytestmark = requires_soffice
SCENARIOS = PROJECT_ROOT / "scenarios"
PANEL = "Mailbox.NationalReviewPanel@education.gov.uk"
CAL = WorkingCalendar()


@pytest.fixture(scope="module")
def out_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("simulations")


_results: dict[str, SimulationResult] = {}


def run(name: str, out_root: Path) -> SimulationResult:
    """Each scenario runs once per test session; the tests below read its result."""
    if name not in _results:
        _results[name] = simulate(load_scenario(SCENARIOS / f"{name}.json"), bpmn_dir=PROJECT_ROOT / "bpmn",
                                  forms_dir=PROJECT_ROOT / "forms", templates_dir=PROJECT_ROOT / "templates",
                                  out_dir=out_root / name, database_url=TEST_DATABASE_URL, settings=Settings())
    return _results[name]


def events(result: SimulationResult, type_: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in result.events if e["type"] == type_ and all(e.get(k) == v for k, v in match.items())]


def london(event: dict[str, Any]) -> datetime:
    return to_london(datetime.fromisoformat(event["at"]))


def panel_email(result: SimulationResult) -> dict[str, Any]:
    sent = [e for e in events(result, "email_sent") if PANEL in e["to"]]
    assert len(sent) == 1, "exactly one e-mail goes to the National Panel"
    return sent[0]


@cache
def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def signed_pdf(result: SimulationResult) -> Path:
    [doc] = events(result, "document_created", kind="signed_report_pdf")
    return result.out_dir / doc["path"]


def test_the_happy_path_is_submitted_on_time_with_every_step_done(out_root: Path) -> None:
    result = run("happy_path", out_root)
    case = result.case
    assert case["status"] == "submitted" and case["late"] is False
    assert case["day_one"] == "2026-05-22" and case["deadline"] == "2026-06-12"
    assert case["submitted_on_day"] <= 15
    done = {e["id"] for e in events(result, "task_completed")}
    assert done == {"record_criteria_view", "commission_rapid_review", "share_agency_list",
                    "schedule_rapid_review_meeting", "complete_information_sharing_form",
                    "quality_assure_information_sharing_form", "prepare_draft_report", "record_meeting_outcomes",
                    "prepare_final_draft", "incorporate_comments", "sign_off_final_report", "submit_to_national_panel"}
    assert {e["partner"] for e in events(result, "task_completed", id="sign_off_final_report")} == {"LA", "MPS", "ICB"}
    assert [e["kind"] for e in events(result, "document_created")] == [
        "draft_report", "meeting_agenda", "final_draft_report", "final_report", "signed_report", "signed_report_pdf"]
    [draft_mail] = [e for e in events(result, "email_sent") if e["template"] == "draft_report_circulated"]
    assert [name.split("-v")[0] for name in draft_mail["attachments"]] == ["RR-2026-001-draft-report",
                                                                          "RR-2026-001-meeting-agenda"]
    assert events(result, "status_changed")[-1]["to"] == "submitted"
    # The meeting is on Day 8 at 14:00 London time (the process's default) and the outcome is recorded after it.
    [meeting] = events(result, "timer_fired", id="wait_for_meeting")
    assert meeting["day"] == 8 and london(meeting).strftime("%H:%M") == "14:00"
    # Each step is done by an account that may do it: the three sign-offs by three leads.
    signers = {e["partner"]: e["by"] for e in events(result, "task_completed", id="sign_off_final_report")}
    assert signers == {"LA": "la.lead@simulation.example", "MPS": "police.lead@simulation.example",
                       "ICB": "icb.lead@simulation.example"}
    [submitted] = events(result, "task_completed", id="submit_to_national_panel")
    assert submitted["by"] == "partnership.manager@simulation.example"
    invitations = [e for e in events(result, "email_sent") if e.get("invitation")]
    assert len(invitations) == 1 and "dsl@oak.example" in invitations[0]["to"]


def test_the_signed_pdf_holds_what_the_panel_needs_and_is_the_one_emailed(out_root: Path) -> None:
    result = run("sign_off_returned", out_root)
    path = signed_pdf(result)
    text = pdf_text(path)
    for expected in ("RR-2026-006", "Child M", "2 March 2019", "Female",
                     "The criteria for a Local Child Safeguarding Practice Review are met",
                     "two or more organisations", "How did agencies share information about the household?",
                     "Local Authority", "Metropolitan Police Service", "Integrated Care Board"):
        assert expected in " ".join(text.split()), expected
    assert text.count("Approved") >= 3
    email = panel_email(result)
    assert email["attachments"] == [path.name]
    [eml] = [p for p in (result.out_dir / "outbox").glob("*.eml")
             if PANEL in message_from_bytes(p.read_bytes(), policy=policy.default)["To"]]
    message = message_from_bytes(eml.read_bytes(), policy=policy.default)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    [doc] = events(result, "document_created", kind="signed_report_pdf")
    assert hashlib.sha256(attachment.get_content()).hexdigest() == doc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "Child M" not in message["Subject"]


def test_a_returned_sign_off_is_revised_and_signed_again_by_all_three(out_root: Path) -> None:
    result = run("sign_off_returned", out_root)
    sign_offs = events(result, "task_completed", id="sign_off_final_report")
    assert len(sign_offs) == 6
    assert [e["by"] for e in sign_offs if e["partner"] == "ICB"] == ["icb.lead@simulation.example"] * 2
    assert len(events(result, "task_completed", id="incorporate_comments")) == 2
    assert [e["version"] for e in events(result, "document_created", kind="final_report")] == [1, 2]
    assert len(events(result, "document_created", kind="signed_report")) == 1
    assert result.case["status"] == "submitted" and result.case["lcspr_recommended"] is True


def test_when_the_partners_disagree_the_chair_decides(out_root: Path) -> None:
    result = run("partners_disagree", out_root)
    [chair] = events(result, "task_completed", id="consult_independent_chair")
    assert chair["by"] == "independent.chair@simulation.example" and chair["day"] == 2
    assert events(result, "task_completed", id="commission_rapid_review")
    assert result.case["status"] == "submitted"


def test_when_all_three_partners_say_no_the_panel_is_told_with_the_decision_record(out_root: Path) -> None:
    result = run("not_commissioned", out_root)
    assert result.case["status"] == "not_commissioned" and result.case["submitted_at"] is None
    assert result.case["late"] is False
    assert not events(result, "task_ready", id="commission_rapid_review")
    assert not events(result, "task_ready", id="consult_independent_chair")
    [confirmed] = events(result, "task_completed", id="confirm_decision_record")
    assert confirmed["by"] == "partnership.manager@simulation.example"
    # Not commissioned from the partners' decision on, while the record goes to the Panel.
    [status] = events(result, "status_changed", to="not_commissioned")
    assert status["at"] <= confirmed["at"]
    told = panel_email(result)
    assert told["template"] == "national_panel_decision" and told["purpose"] == "national_panel_decision"
    assert {"la.lead@council.example", "police.lead@police.example", "icb.lead@icb.example"} <= set(told["cc"])
    [record] = events(result, "document_created", kind="decision_record_pdf")
    assert told["attachments"] == [record["path"].rsplit("/", 1)[-1]]
    text = " ".join(pdf_text(result.out_dir / record["path"]).split())
    assert "criteria for a Rapid Review" in text and "RR-" in text
    assert "Child" not in told["subject"]


def test_a_late_agency_is_reminded_and_escalated_and_a_missing_one_is_closed_out(out_root: Path) -> None:
    result = run("agency_late_and_missing", out_root)
    reminders = events(result, "timer_fired", id="information_sharing_reminder")
    assert sorted(e["agency"] for e in reminders) == ["gp", "school"]
    assert {(e["day"], london(e).strftime("%H:%M")) for e in reminders} == {(6, "09:00")}
    escalations = events(result, "timer_fired", id="information_sharing_escalation")
    assert sorted(e["agency"] for e in escalations) == ["gp", "school"]
    assert {(e["day"], london(e).strftime("%H:%M")) for e in escalations} == {(7, "17:00")}
    [closed] = events(result, "timer_fired", id="information_sharing_closed")
    assert closed["agency"] == "school" and closed["day"] == 8 and london(closed).strftime("%H:%M") == "09:00"
    # Reminders go to the agency's practitioner and manager; escalations to the chair and the Partnership Manager.
    reminder_mail = [e for e in events(result, "email_sent") if e["template"] == "information_sharing_reminder"]
    assert sorted(tuple(e["to"]) for e in reminder_mail) == [
        ("dsl@oak.example", "head@oak.example"),
        ("safeguarding@elmsurgery.example", "practice.manager@elmsurgery.example")]
    escalation_mail = [e for e in events(result, "email_sent") if e["template"] == "information_sharing_escalation"]
    assert len(escalation_mail) == 2
    for mail in escalation_mail:
        assert "partnership.manager@partnership.example" in mail["to"] and len(mail["to"]) == 2
    [gp] = events(result, "task_completed", id="complete_information_sharing_form", agency="gp")
    assert gp["day"] == 7 and london(gp).strftime("%H:%M") == "18:30"
    assert events(result, "task_cancelled", id="complete_information_sharing_form", agency="school")
    assert not events(result, "task_completed", id="complete_information_sharing_form", agency="school")
    assert result.case["status"] == "submitted" and result.case["late"] is False
    text = " ".join(pdf_text(signed_pdf(result)).split())
    # A list bullet sits between the sentence and the agency's name.
    assert re.search(r"did not return their information sharing form:\W{0,4}Oak Primary School Agency involvement", text)
    assert "Elm Street Surgery Returned" in text


def test_a_form_returned_by_the_manager_is_corrected_and_approved(out_root: Path) -> None:
    result = run("form_returned_for_correction", out_root)
    school = [(e["id"], e["by"]) for e in events(result, "task_completed", agency="school")]
    practitioner, manager = "agency.practitioner.school@simulation.example", "agency.manager.school@simulation.example"
    assert school == [
        ("complete_information_sharing_form", practitioner),
        ("quality_assure_information_sharing_form", manager),
        ("complete_information_sharing_form", practitioner),
        ("quality_assure_information_sharing_form", manager),
    ]
    assert [e["day"] for e in events(result, "task_completed", agency="school")] == [3, 3, 4, 4]
    assert not events(result, "timer_fired", id="information_sharing_reminder")
    assert result.case["status"] == "submitted"


def test_a_chair_drafting_late_puts_the_deadline_at_risk_then_misses_it(out_root: Path) -> None:
    result = run("chair_drafts_late", out_root)
    [at_risk] = events(result, "timer_fired", id="deadline_at_risk")
    assert at_risk["day"] == 12 and london(at_risk).strftime("%H:%M") == "09:00"
    [missed] = events(result, "timer_fired", id="deadline_missed")
    assert missed["day"] == 15 and london(missed).strftime("%H:%M") == "17:00"
    [risk_mail] = [e for e in events(result, "email_sent") if e["template"] == "deadline_at_risk"]
    # The chair appointed in commission_rapid_review, not the standing Independent Chair mailbox.
    assert risk_mail["to"] == ["helen.osei@northbridge-scp.example", "partnership.manager@partnership.example"]
    [missed_mail] = [e for e in events(result, "email_sent") if e["template"] == "deadline_missed"]
    assert missed_mail["to"] == ["helen.osei@northbridge-scp.example", "partnership.manager@partnership.example",
                                 "la.lead@council.example", "police.lead@police.example", "icb.lead@icb.example"]
    assert result.case["status"] == "submitted"
    assert result.case["late"] is True and result.case["submitted_on_day"] == 16


def test_a_case_finished_early_never_raises_deadline_alerts(out_root: Path) -> None:
    result = run("happy_path", out_root)
    assert not events(result, "timer_fired", id="deadline_at_risk")
    assert not events(result, "timer_fired", id="deadline_missed")


@pytest.mark.parametrize(("name", "day_one", "deadline", "meeting_day"), [
    ("christmas", "2026-12-18", "2027-01-12", "2026-12-31"),
    ("easter", "2027-03-25", "2027-04-16", "2027-04-07"),
])
def test_holidays_are_skipped_by_every_clock(out_root: Path, name: str, day_one: str, deadline: str, meeting_day: str) -> None:
    result = run(name, out_root)
    assert (result.case["day_one"], result.case["deadline"]) == (day_one, deadline)
    [meeting] = events(result, "timer_fired", id="wait_for_meeting")
    assert london(meeting).date().isoformat() == meeting_day
    for fired in events(result, "timer_fired"):
        assert CAL.is_working_day(london(fired).date()), fired
    assert result.case["status"] == "submitted" and result.case["late"] is False
    assert result.case["submitted_on_day"] == 15
    assert date.fromisoformat(result.case["submitted_at"][:10]) == date.fromisoformat(deadline)


def test_the_json_timeline_follows_the_documented_shape(out_root: Path) -> None:
    result = run("happy_path", out_root).as_json()
    assert set(result["case"]) == {"reference", "status", "day_one", "deadline", "submitted_at", "submitted_on_day",
                                   "late", "lcspr_recommended"}
    types = {e["type"] for e in result["events"]}
    assert {"task_ready", "task_completed", "timer_fired", "email_sent", "document_created", "status_changed"} <= types
    for event in result["events"]:
        assert datetime.fromisoformat(event["at"]).tzinfo is not None and isinstance(event["day"], int)
    assert [e["at"] for e in result["events"]] == sorted(e["at"] for e in result["events"])


def test_two_leads_signing_on_day_15_are_reminded_on_day_14_and_the_report_still_goes_that_day(out_root: Path) -> None:
    result = run("sign_offs_on_day_15", out_root)
    reminders = events(result, "timer_fired", id="sign_off_reminder")
    assert sorted(e["partner"] for e in reminders) == ["ICB", "MPS"]
    assert {(e["day"], london(e).strftime("%H:%M")) for e in reminders} == {(14, "09:00")}
    reminded = sorted(tuple(e["to"]) for e in events(result, "email_sent") if e["template"] == "sign_off_reminder")
    assert reminded == [("icb.lead@icb.example",), ("police.lead@police.example",)]
    [due_today] = events(result, "timer_fired", id="submission_due_today")
    assert due_today["day"] == 15 and london(due_today).strftime("%H:%M") == "09:00"
    [alert] = [e for e in events(result, "email_sent") if e["template"] == "submission_due_today"]
    assert alert["to"] == ["partnership.manager@partnership.example", "helen.osei@northbridge-scp.example"]
    assert not events(result, "timer_fired", id="deadline_missed")
    assert result.case["status"] == "submitted" and result.case["late"] is False and result.case["submitted_on_day"] == 15


def test_a_late_friday_notification_before_a_bank_holiday_gives_the_partners_until_tuesday_noon(out_root: Path) -> None:
    result = run("late_friday_before_bank_holiday", out_root)
    assert result.case["day_one"] == "2026-05-22"
    views = events(result, "task_ready", id="record_criteria_view")
    assert len(views) == 3 and {e["due"] for e in views} == {"2026-05-26T11:00:00+00:00"}
    for later in ("commission_rapid_review", "share_agency_list", "schedule_rapid_review_meeting"):
        [ready] = events(result, "task_ready", id=later)
        assert ready["due"] == "2026-05-26T11:00:00+00:00", later
    assert result.case["status"] == "submitted"


def test_everyone_hears_when_a_task_is_theirs_by_reference_only(out_root: Path) -> None:
    result = run("happy_path", out_root)
    for ready in events(result, "task_ready"):
        told = [e for e in events(result, "email_sent", purpose="your_turn") if e.get("task") == ready["id"]
                and e["at"] >= ready["at"]]
        assert told, f"nobody was told that {ready['id']} was theirs"
    for mail in (result.out_dir / "outbox").glob("*.eml"):
        message = message_from_bytes(mail.read_bytes(), policy=policy.default)
        if "is yours to do" in message.get_body(("plain",)).get_content():
            assert "Child M" not in message.get_body(("plain",)).get_content() and "Child M" not in message["Subject"]


def test_the_signed_report_carries_what_the_meeting_agreed_and_how_the_learning_will_spread(out_root: Path) -> None:
    text = " ".join(pdf_text(signed_pdf(run("happy_path", out_root))).split())
    for expected in ("Chair of the Rapid Review", "Knowing who lives in the household", "A 7-minute briefing to all agencies",
                     "Sam Adeyemi, Head of Service"):
        assert expected in text, expected
