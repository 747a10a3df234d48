"""E-mail and Word templates are part of a process version: stored with it, checked before it is stored,
written once to a folder per set of templates, and a case renders with the templates of the version it
started on."""

from __future__ import annotations

import io
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from rapidreview import clock
from rapidreview.calendar import WorkingCalendar
from rapidreview.config import PROJECT_ROOT
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions import version_templates
from rapidreview.services.definitions.validation import validate_files
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, OutboxMessage, ProcessVersion

TEMPLATES = PROJECT_ROOT / "templates"
NOTIFIED = datetime(2026, 5, 22, 8, 30, tzinfo=UTC)
YOUR_TURN = "templates/email/your_turn.txt"


def bundled_files() -> dict[str, bytes]:
    return versions.files_from_paths([PROJECT_ROOT / "bpmn"], PROJECT_ROOT / "forms", TEMPLATES)


def replaced_in_docx(content: bytes, old: str, new: str) -> bytes:
    """The .docx with ``old`` replaced in its body, as an edit in Word would."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                text = data.decode("utf-8")
                assert old in text
                data = text.replace(old, new).encode("utf-8")
            target.writestr(item, data)
    return out.getvalue()


def template_problems(files: dict[str, bytes]) -> list[str]:
    calendar = WorkingCalendar.from_settings(None, ())
    return [str(p) for p in validate_files(files, calendar, lint=False) if p.file.startswith("templates/")]


# ---- the folder of a version's templates -------------------------------------------------------------


def test_a_versions_templates_are_written_once_to_a_folder_named_by_their_digest(tmp_path: Path) -> None:
    files = {**bundled_files(), "templates/../escape.txt": b"never written"}
    folder = version_templates.extract(tmp_path, files)
    assert folder.parent == tmp_path and len(folder.name) == 64
    assert (folder / "email" / "your_turn.txt").read_bytes() == (TEMPLATES / "email" / "your_turn.txt").read_bytes()
    assert (folder / "rapid_review_report.docx").is_file() and not (tmp_path / "escape.txt").exists()
    assert not (folder / "email" / "_bpmn").exists() and not any(folder.rglob("*.bpmn"))

    (folder / "email" / "marker").write_text("kept")  # written once: asking again reuses the folder
    assert version_templates.extract(tmp_path, files) == folder and (folder / "email" / "marker").exists()
    changed = {**files, YOUR_TURN: b"Subject: changed\n\nBody\n"}
    other = version_templates.extract(tmp_path, changed)
    assert other != folder and (other / "email" / "your_turn.txt").read_text() == "Subject: changed\n\nBody\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([folder.name, other.name])  # no scratch left


def test_a_version_without_templates_uses_the_settings_folder(runtime: Runtime) -> None:
    old = versions.deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    with transaction(runtime.sessions) as session:
        assert version_templates.folder_for_version(runtime, session, old.id) == runtime.settings.templates_dir
        assert version_templates.folder_for_version(runtime, session, None) == runtime.settings.templates_dir
    assert version_templates.active_folder(runtime) == runtime.settings.templates_dir

    new = versions.deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test",
                                    templates_dir=TEMPLATES)
    folder = version_templates.active_folder(runtime)
    assert folder.parent == runtime.settings.data_dir / "templates"
    assert (folder / "email" / "your_turn.txt").is_file()
    with transaction(runtime.sessions) as session:
        assert version_templates.folder_for_version(runtime, session, new.id) == folder


def test_the_digest_covers_the_templates() -> None:
    files = bundled_files()
    assert versions.digest_of(files) != versions.digest_of({**files, YOUR_TURN: files[YOUR_TURN] + b"More.\n"})


# ---- checking the templates --------------------------------------------------------------------------


def test_the_bundled_templates_pass_every_check() -> None:
    assert template_problems(bundled_files()) == []


def test_a_broken_email_template_is_refused_naming_the_file_and_the_line() -> None:
    files = bundled_files()
    files[YOUR_TURN] = b"Subject: Rapid Review {{ case.reference }}\n\nDear colleague,\n{% if task.due %}Due soon\n"
    files["templates/email/task_overdue.txt"] = b"Rapid Review\n\nA task is overdue.\n"
    files["templates/email/information_complete.txt"] = \
        b"Subject: Information complete\n\nThe information about {{ child.name }} is complete.\n"
    assert template_problems(files) == [
        "templates/email/information_complete.txt: line 3: uses 'child', which this e-mail is not given (it has "
        "agency, case, chair_name, due, link, meeting, national_panel_address, partner_name, partnership_name, "
        "submission)",
        "templates/email/task_overdue.txt: line 1: an e-mail template must start with a 'Subject:' line, then a blank "
        "line, then the body",
        "templates/email/your_turn.txt: line 4: Unexpected end of template. Jinja was looking for the following tags: "
        "'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.",
    ]


def test_an_email_may_use_only_the_names_its_sender_gives_it() -> None:
    files = bundled_files()
    files[YOUR_TURN] = b"Subject: Rapid Review {{ case.reference }}\n\nSee {{ link }} by {{ task.due.at }}.\n"
    assert template_problems(files) == [
        "templates/email/your_turn.txt: line 3: uses 'link', which this e-mail is not given (it has case, "
        "partnership_name, task)"]


def test_a_word_template_with_an_unknown_tag_refuses_the_version_and_nothing_is_stored(
        runtime: Runtime) -> None:
    files = bundled_files()
    report = "templates/rapid_review_report.docx"
    files[report] = replaced_in_docx(files[report], "{{ outcome.rationale }}", "{{ outcome.rationle }}")
    with pytest.raises(versions.InvalidVersion) as refused:
        versions.deploy_files(runtime, files, deployed_by="owner", lint=False)
    assert [str(p) for p in refused.value.problems] == [
        "templates/rapid_review_report.docx: body: the tag uses outcome.rationle, which the document's context does "
        "not provide; nearest valid names: outcome.rationale"]
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(ProcessVersion)).all() == []


# ---- a case keeps its version's wording ----------------------------------------------------------------


def start(rt: Runtime, reference: str) -> int:
    notification = cases.Notification(
        reference=reference, notified_at=NOTIFIED, child={"name": "Child T"},
        incident={"date": "2026-05-20", "summary": "Injury"},
        agencies=[{"id": "school", "name": "Oak School", "contact_email": "dsl@oak.example",
                   "manager_email": "head@oak.example"}])
    return cases.start_case(rt, notification, actor="test")


def your_turn_subjects(rt: Runtime, case_id: int) -> list[str]:
    with transaction(rt.sessions) as session:
        return list(session.scalars(select(OutboxMessage.subject).where(
            OutboxMessage.case_id == case_id, OutboxMessage.template == "your_turn").order_by(OutboxMessage.id)))


def complete_one_task(rt: Runtime, case_id: int) -> None:
    with transaction(rt.sessions) as session:
        task = cases.ready_tasks(session, case_id)[0]
    cases.complete_task(rt, task.id, starting_answers(rt, task.id, with_examples=True), actor="test")


def test_a_running_case_keeps_its_versions_wording_and_a_new_case_gets_the_new_one(deployed: Runtime) -> None:
    rt = deployed
    with clock.using(clock.VirtualClock(NOTIFIED)):
        running = start(rt, "RR-T-1")  # on version 1, deployed with the bundled templates
        before = your_turn_subjects(rt, running)
        assert before and all(s.startswith("Rapid Review RR-T-1: ") for s in before)

        files = bundled_files()
        files[YOUR_TURN] = files[YOUR_TURN].replace(b"Subject: Rapid Review ", b"Subject: Your turn on ")
        second = versions.deploy_files(rt, files, deployed_by="owner", note="new wording", lint=False)
        assert second.active and second.number == 2

        new = start(rt, "RR-T-2")
        assert your_turn_subjects(rt, new) and all(s.startswith("Your turn on RR-T-2: ")
                                                   for s in your_turn_subjects(rt, new))
        for _ in range(6):  # until a task of the running case is someone's after version 2 went live
            complete_one_task(rt, running)
            if len(your_turn_subjects(rt, running)) > len(before):
                break
        after = your_turn_subjects(rt, running)[len(before):]
        assert after and all(s.startswith("Rapid Review RR-T-1: ") for s in after)
    with transaction(rt.sessions) as session:
        assert [c.process_version_id for c in session.scalars(select(Case).order_by(Case.id))] == [1, second.id]


def test_templates_added_removed_and_changed_are_listed_when_versions_are_compared() -> None:
    old = bundled_files()
    new = {**old, YOUR_TURN: old[YOUR_TURN] + b"More.\n", "templates/email/agency_chaser.txt": b"Subject: x\n\ny\n"}
    del new["templates/meeting_agenda.docx"]
    diff = versions.diff_files(old, new)
    assert (diff.templates_added, diff.templates_removed, diff.templates_changed, diff.other_changed) == (
        ["email/agency_chaser.txt"], ["meeting_agenda.docx"], ["email/your_turn.txt"], [])


# ---- the command line ----------------------------------------------------------------------------------


def test_deploy_stores_the_templates_folder_and_validate_refuses_a_broken_email(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from rapidreview.cli import main
    from rapidreview.config import from_environment
    from rapidreview.runtime import build_runtime

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    wording = (folder / "email" / "your_turn.txt").read_text().replace("Subject: Rapid Review ", "Subject: Over to you, ")
    (folder / "email" / "your_turn.txt").write_text(wording)
    assert main(["deploy", "--candidate", "--no-lint", "--templates", str(folder)]) == 0
    rt = build_runtime(from_environment())
    try:
        with transaction(rt.sessions) as session:
            files = versions.version_files(versions.get_version(session, 1))
    finally:
        rt.close()
    assert files[YOUR_TURN] == wording.encode() and "templates/decision_record.docx" in files

    (folder / "email" / "your_turn.txt").write_text("Subject: {{ case.reference }\n\nHello\n")
    capsys.readouterr()
    assert main(["validate", "--no-lint", "--templates", str(folder)]) == 1
    assert "templates/email/your_turn.txt: line 1: " in capsys.readouterr().err


def test_a_tried_version_is_written_out_with_its_templates(tmp_path: Path) -> None:
    bpmn, forms = versions.materialise(bundled_files(), tmp_path)
    assert (bpmn / "rapid_review.bpmn").is_file() and (forms / "record_criteria_view.schema.json").is_file()
    assert (tmp_path / "templates" / "version" / "email" / "your_turn.txt").read_bytes() == \
        (TEMPLATES / "email" / "your_turn.txt").read_bytes()


def test_trying_a_version_sends_its_own_emails(tmp_path: Path) -> None:
    files = {p: c.replace(b"Subject: ", b"Subject: [tried] ", 1) if p.endswith(".txt") else c
             for p, c in bundled_files().items()}
    result = versions.try_scenario(files, PROJECT_ROOT / "tests" / "fixtures" / "quick_scenarios" /
                                   "not_commissioned.json")
    subjects = [e["subject"] for e in result["events"] if e["type"] == "email_sent"]
    assert subjects and all(s.startswith("[tried] ") for s in subjects)


def test_the_names_process_emails_are_checked_against_are_those_the_operator_gives(deployed: Runtime) -> None:
    from rapidreview.mail.template_check import PROCESS_EMAIL_NAMES
    from rapidreview.services.casework.operators import CaseOperators

    with clock.using(clock.VirtualClock(NOTIFIED)):
        case_id = start(deployed, "RR-T-3")
        with transaction(deployed.sessions) as session:
            case = session.get(Case, case_id)
            assert case is not None
            assert set(CaseOperators(deployed, session, case).email_context({})) == PROCESS_EMAIL_NAMES
