"""Deadlines people read come from the process: move a due date in the BPMN and the words follow it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from rapidreview import clock
from rapidreview.calendar import WorkingCalendar
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import task_detail
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions.validation import validate_with_warnings
from rapidreview.services.people import policy
from rapidreview.services.people.users import SignedIn
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, OutboxMessage
from tests.test_versions import FORM, NOTIFIED, information_sharing_due, start

CALLED = "bpmn/information_sharing.bpmn"
EMAILS = PROJECT_ROOT / "templates" / "email"


@pytest.fixture
def at_notification() -> Iterator[None]:
    with clock.using(clock.VirtualClock(NOTIFIED)):
        yield


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    settings = Settings()
    return WorkingCalendar.from_settings(settings.bank_holidays_file, settings.closure_dates)


def bundled() -> dict[str, bytes]:
    files = versions.files_from_paths([PROJECT_ROOT / "bpmn"], PROJECT_ROOT / "forms")
    files.update({f"templates/email/{p.name}": p.read_bytes() for p in EMAILS.iterdir()})
    return files


def due_on_day_6(files: dict[str, bytes]) -> dict[str, bytes]:
    """What the owner changes, as the docs describe: the form's due dates and the escalation, Day 7 to Day 6."""
    text = files[CALLED].decode()
    assert text.count("day(7, ") == 3
    return {**files, CALLED: text.replace("day(7, ", "day(6, ").encode()}


def test_a_deadline_moved_to_day_6_changes_the_e_mail_and_the_instructions(
    runtime: Runtime, at_notification: None
) -> None:
    files = due_on_day_6(versions.files_from_paths([PROJECT_ROOT / "bpmn"], PROJECT_ROOT / "forms"))
    versions.deploy_files(runtime, files, deployed_by="owner", note="Day 6", lint=False)
    case_id = start(runtime, "RR-W-1")
    information_sharing_due(runtime, case_id)
    with transaction(runtime.sessions) as session:
        request = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "information_sharing_request")
        ).one()
        subject, body = request.subject, request.body_text
        form = next(t for t in cases.ready_tasks(session, case_id) if t.element_id == FORM)
        partnership_id = session.get(Case, case_id).partnership_id  # type: ignore[union-attr]
    assert subject.endswith("information sharing form needed by 5pm on Day 6")
    assert "by 5pm on Monday 1 June 2026 (Day 6)" in body and "Day 7" not in body
    manager = SignedIn(0, "pm@test.example", "PM", policy.PARTNERSHIP_MANAGER, None, partnership_id)
    detail = task_detail(runtime, form.id, manager)
    assert detail is not None
    assert (
        "Due by 5pm on Monday 1 June 2026 (Day 6)" in detail.instructions
        and "Day 7" not in detail.instructions
    )


def test_the_bundled_process_and_e_mails_state_no_deadline_in_words(calendar: WorkingCalendar) -> None:
    problems, warnings = validate_with_warnings(bundled(), calendar, lint=False)
    assert (problems, warnings) == ([], [])


def test_words_left_saying_day_7_after_the_change_are_warned_about(calendar: WorkingCalendar) -> None:
    files = due_on_day_6(bundled())
    files["templates/email/agency_chaser.txt"] = (
        b"Subject: Rapid Review {{ case.reference }}\n\n"
        b"Please return the form by 5pm on Day 7 ({{ case.days[7] }}).\n"
    )
    files["forms/share_agency_list.schema.json"] = files["forms/share_agency_list.schema.json"].replace(
        b"by the deadline the process sets", b"within one week"
    )
    problems, warnings = validate_with_warnings(files, calendar, lint=False)
    assert problems == []
    said = sorted(f"{w.file}: {w.element_id}: {w.message.split(': ')[0]}" for w in warnings)
    assert said == [
        "information_sharing.bpmn: information_sharing_escalation: its name says Day 7 but its timer fires on Day 6",
        "share_agency_list.schema.json: None: the words 'within one week' state a deadline the process does not know",
        "templates/email/agency_chaser.txt: None: the words '5pm on Day 7' give a deadline at 17:00 on Day 7, but no "
        "due date or timer of the process falls at 17:00 on Day 7 (they fall on Day 1, Day 2, Day 6, Day 7, Day 8, "
        "Day 9, Day 11, Day 12, Day 13, Day 14, Day 15)",
    ]


def test_an_e_mail_asking_for_the_due_date_of_a_step_without_one_is_refused(
    calendar: WorkingCalendar,
) -> None:
    files = bundled()
    files["templates/email/information_sharing_request.txt"] = files[
        "templates/email/information_sharing_request.txt"
    ].replace(b"due.complete_information_sharing_form.at", b"due.complete_information_sharing.at")
    problems, _ = validate_with_warnings(files, calendar, lint=False)
    assert [p.file for p in problems] == ["templates/email/information_sharing_request.txt"]
    assert problems[0].message.startswith(
        "due.complete_information_sharing names no step with a due date or timer"
    )


def test_the_validate_command_prints_the_warnings_and_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rapidreview.cli import main

    folder = tmp_path / "bpmn"
    folder.mkdir()
    for path, content in due_on_day_6(bundled()).items():
        if path.startswith("bpmn/"):
            (folder / Path(path).name).write_bytes(content)
    assert main(["validate", str(folder), "--no-lint"]) == 0
    err = capsys.readouterr().err
    assert "1 warning:" in err and "its name says Day 7 but its timer fires on Day 6" in err
