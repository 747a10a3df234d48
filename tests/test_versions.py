"""Process versions: a deploy applies to new cases only, running cases keep theirs, and rollback restores."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from rapidreview import clock
from rapidreview.cli import main
from rapidreview.config import PROJECT_ROOT
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions import version_trials
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, ProcessVersion

NOTIFIED = datetime(2026, 5, 22, 8, 30, tzinfo=UTC)  # Day 1 is Friday 22 May 2026
DAY_7_1700 = datetime(2026, 6, 2, 16, 0, tzinfo=UTC)
DAY_6_1700 = datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
FORM = "complete_information_sharing_form"
SCENARIOS = PROJECT_ROOT / "scenarios"


@pytest.fixture
def at_notification() -> Iterator[None]:
    with clock.using(clock.VirtualClock(NOTIFIED)):
        yield


def day_6_model(tmp_path: Path) -> Path:
    """A copy of bpmn/ whose information-sharing deadline (due date and escalation) is Day 6, not Day 7."""
    folder = tmp_path / "day6"
    shutil.copytree(PROJECT_ROOT / "bpmn", folder)
    path = folder / "information_sharing.bpmn"
    text = path.read_text()
    assert text.count("day(7, ") == 3
    path.write_text(text.replace("day(7, ", "day(6, ").replace("Day 7", "Day 6"))
    return folder


def start(rt: Runtime, reference: str) -> int:
    notification = cases.Notification(
        reference=reference, notified_at=NOTIFIED, child={"name": "Child V"},
        incident={"date": "2026-05-20", "summary": "Injury"},
        agencies=[{"id": "school", "name": "Oak School", "contact_email": "dsl@oak.example",
                   "manager_email": "head@oak.example"}])
    return cases.start_case(rt, notification, actor="test")


def information_sharing_due(rt: Runtime, case_id: int) -> datetime | None:
    """Complete every task by autopilot answers until the agency's form is ready; return its due time."""
    for _ in range(12):
        with transaction(rt.sessions) as session:
            ready = cases.ready_tasks(session, case_id)
        form = next((t for t in ready if t.element_id == FORM), None)
        if form is not None:
            return form.due_at
        task = ready[0]
        cases.complete_task(rt, task.id, starting_answers(rt, task.id, with_examples=True), actor="test")
    raise AssertionError("the information-sharing form never became ready")


def test_a_deployed_deadline_change_applies_to_new_cases_only_and_rollback_restores_it(
        runtime: Runtime, tmp_path: Path, at_notification: None) -> None:
    forms = PROJECT_ROOT / "forms"
    first = versions.deploy_files(runtime, versions.files_from_paths([PROJECT_ROOT / "bpmn"], forms),
                                  deployed_by="owner", note="as published", lint=False)
    running = start(runtime, "RR-V-1")

    second = versions.deploy_files(runtime, versions.files_from_paths([day_6_model(tmp_path)], forms),
                                   deployed_by="owner", note="information sharing due on Day 6", lint=False)
    assert (first.number, second.number, second.active) == (1, 2, True)
    new = start(runtime, "RR-V-2")
    assert information_sharing_due(runtime, running) == DAY_7_1700
    assert information_sharing_due(runtime, new) == DAY_6_1700

    versions.activate_version(runtime, first.number, actor="owner", note="Day 6 was a mistake")
    after_rollback = start(runtime, "RR-V-3")
    assert information_sharing_due(runtime, after_rollback) == DAY_7_1700
    with transaction(runtime.sessions) as session:
        used = {c.reference: c.process_version_id for c in session.scalars(select(Case))}
        numbers = {v.id: v.number for v in session.scalars(select(ProcessVersion))}
        # The version's own events (agency staff invited by the cases are recorded apart from any case too).
        kinds = [e.type for e in session.scalars(select(AuditEvent).where(AuditEvent.case_id.is_(None),
                                                                          AuditEvent.type.like("process_%")))]
    assert {ref: numbers[vid] for ref, vid in used.items()} == {"RR-V-1": 1, "RR-V-2": 2, "RR-V-3": 1}
    assert kinds == ["process_deployed", "process_deployed", "process_rolled_back"]
    assert information_sharing_due(runtime, new) == DAY_6_1700  # a rollback leaves running cases alone


def test_an_invalid_version_is_refused_and_nothing_is_stored(runtime: Runtime, tmp_path: Path) -> None:
    folder = day_6_model(tmp_path)
    path = folder / "information_sharing.bpmn"
    path.write_text(path.read_text().replace('name="Agency manager"', 'name="Agency boss"'))
    with pytest.raises(versions.InvalidVersion) as refused:
        versions.deploy_files(runtime, versions.files_from_paths([folder], PROJECT_ROOT / "forms"),
                              deployed_by="owner", lint=False)
    assert [p.element_id for p in refused.value.problems] == ["lane_agency_manager"]
    with transaction(runtime.sessions) as session:
        assert versions.list_versions(session) == []


def test_a_candidate_stays_inactive_until_activated(runtime: Runtime, tmp_path: Path) -> None:
    forms = PROJECT_ROOT / "forms"
    versions.deploy_files(runtime, versions.files_from_paths([PROJECT_ROOT / "bpmn"], forms), deployed_by="o", lint=False)
    candidate = versions.deploy_files(runtime, versions.files_from_paths([day_6_model(tmp_path)], forms),
                                      deployed_by="o", activate=False, lint=False)
    with transaction(runtime.sessions) as session:
        active = versions.active_version(session)
        assert active is not None and active.number == 1 and not candidate.active
    with pytest.raises(versions.NotReady, match="not tried yet on not_commissioned"):
        versions.activate_version(runtime, candidate.number, actor="o", scenarios=["not_commissioned"])
    version_trials.try_version(runtime, candidate.number, actor="o", scenarios=[SCENARIOS / "not_commissioned.json"])
    versions.activate_version(runtime, candidate.number, actor="o", scenarios=["not_commissioned"])
    with pytest.raises(versions.VersionError, match="already the active version"):
        versions.activate_version(runtime, candidate.number, actor="o", scenarios=["not_commissioned"])


def test_the_diff_names_changed_elements_and_forms(tmp_path: Path) -> None:
    forms = PROJECT_ROOT / "forms"
    old = versions.files_from_paths([PROJECT_ROOT / "bpmn"], forms)
    new = versions.files_from_paths([day_6_model(tmp_path)], forms)
    new["forms/extra.schema.json"] = b"{}"
    del new["forms/report_content.schema.json"]
    diff = versions.diff_files(old, new)
    assert sorted(c.element_id for c in diff.changed) == [
        "complete_information_sharing_form", "information_sharing_escalation", "quality_assure_information_sharing_form"]
    assert diff.added == [] and diff.removed == []
    assert (diff.forms_added, diff.forms_removed, diff.forms_changed) == (["extra.schema.json"], ["report_content.schema.json"], [])


def test_deploy_versions_and_rollback_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # The commands read their settings from the environment: a SQLite file of their own, on every test run.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path / "data"))
    quick = tmp_path / "scenarios"
    quick.mkdir()
    shutil.copy(SCENARIOS / "not_commissioned.json", quick)
    assert main(["deploy", "--note", "first", "--no-lint", "--scenarios", str(quick)]) == 0
    assert main(["deploy", str(day_6_model(tmp_path)), "--note", "Day 6", "--no-lint", "--scenarios", str(quick)]) == 0
    assert "passed  not_commissioned: ended not commissioned" in capsys.readouterr().out
    broken = tmp_path / "broken"
    shutil.copytree(PROJECT_ROOT / "bpmn", broken)
    (broken / "rapid_review.bpmn").write_text((broken / "rapid_review.bpmn").read_text()
                                             .replace('id="invite_to_meeting"', 'id="invite_to_party"'))
    assert main(["deploy", str(broken), "--no-lint"]) == 1
    assert "not deployed" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a rollback says why
        main(["rollback", "1"])
    assert main(["rollback", "1", "--note", "Day 6 withdrawn"]) == 0
    assert main(["deploy", str(day_6_model(tmp_path / "again")), "--candidate", "--no-lint"]) == 0
    capsys.readouterr()
    assert main(["versions"]) == 0
    listed = [line.split()[:2] for line in capsys.readouterr().out.splitlines()]
    assert listed == [["3", "candidate"], ["2", "inactive"], ["1", "active"]]
    assert main(["discard", "2"]) == 2  # it was active once: it stays in the history
    assert main(["discard", "3", "--note", "broken upload"]) == 0
    assert [line.split()[0] for line in _listed(capsys)] == ["2", "1"]


def _listed(capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert main(["versions"]) == 0
    return capsys.readouterr().out.splitlines()


def test_the_diff_gives_each_changed_property_before_and_after_and_each_form_question(tmp_path: Path) -> None:
    import json

    forms = PROJECT_ROOT / "forms"
    old = versions.files_from_paths([PROJECT_ROOT / "bpmn"], forms)
    new = versions.files_from_paths([day_6_model(tmp_path)], forms)
    path = "forms/share_agency_list.schema.json"
    schema = json.loads(old[path])
    schema["description"] = "List the agencies."
    first = next(iter(schema["properties"]))
    schema["properties"][first]["title"] = "Agencies involved (renamed)"
    schema["properties"]["urgent"] = {"type": "boolean", "title": "Is it urgent?"}
    new[path] = json.dumps(schema).encode()
    diff = versions.diff_files(old, new)
    escalation = next(c for c in diff.changed if c.element_id == "information_sharing_escalation")
    assert [(p.label, p.before, p.after) for p in escalation.changes] == [
        ("name", "Day 7, 17:00: escalate", "Day 6, 17:00: escalate"), ("timer", 'day(7, "17:00")', 'day(6, "17:00")')]
    form = diff.form_changes[0]
    assert (form.name, form.added, form.removed) == ("share_agency_list.schema.json", ("Is it urgent?",), ())
    assert ("form text", "List the agencies.") in [(p.label, p.after) for p in form.changes]
    assert any(p.label.startswith("question of") and p.after == "Agencies involved (renamed)" for p in form.changes)
