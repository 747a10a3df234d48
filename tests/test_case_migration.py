"""Moving open cases to a new process version: safe moves happen and are audited, unsafe ones are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from rapidreview.cli import main
from rapidreview.config import PROJECT_ROOT, from_environment
from rapidreview.engine import migration
from rapidreview.engine.process import ProcessBundle, compile_bundle
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.casework import case_migration, cases
from rapidreview.services.definitions import process_versions as versions
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, HumanTask, ProcessVersion
from tests.test_versions import (  # noqa: F401 - at_notification is a fixture
    DAY_6_1700,
    DAY_7_1700,
    FORM,
    at_notification,
    day_6_model,
    information_sharing_due,
    start,
)

FORMS = PROJECT_ROOT / "forms"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
pytestmark = pytest.mark.usefixtures("at_notification")  # Day 1 is Friday 22 May 2026


def deploy(rt: Runtime, folder: Path, note: str) -> ProcessVersion:
    return versions.deploy_files(rt, versions.files_from_paths([folder], FORMS), deployed_by="owner", note=note,
                                 lint=False)


def renamed_agency_return_model(tmp_path: Path) -> Path:
    """A copy of bpmn/ whose agency call activity collects each return under another name: a real change
    to an element a case in information sharing is inside."""
    folder = day_6_model(tmp_path)
    path = folder / "rapid_review.bpmn"
    text = path.read_text()
    assert text.count('name="agency_return"') == 1
    path.write_text(text.replace('name="agency_return"', 'name="agency_result"'))
    return folder


def without_share_agency_list(files: dict[str, bytes]) -> dict[str, bytes]:
    """The process with 'Share the list of agencies involved' taken out (commissioning leads straight on)."""
    root = etree.fromstring(files["rapid_review.bpmn"])
    ns = {"bpmn": BPMN_NS}
    task = root.find(".//bpmn:userTask[@id='share_agency_list']", ns)
    task.getparent().remove(task)
    flow = root.find(".//bpmn:sequenceFlow[@id='share_agency_list_to_build_agency_list']", ns)
    flow.getparent().remove(flow)
    root.find(".//bpmn:sequenceFlow[@id='commission_rapid_review_to_share_agency_list']", ns).set(
        "targetRef", "build_agency_list")
    incoming = root.find(".//bpmn:scriptTask[@id='build_agency_list']/bpmn:incoming", ns)
    incoming.text = "commission_rapid_review_to_share_agency_list"
    return {**files, "rapid_review.bpmn": etree.tostring(root)}


def case_row(rt: Runtime, case_id: int) -> Case:
    with transaction(rt.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        session.expunge(case)
        return case


def version_number(rt: Runtime, case_id: int) -> int:
    with transaction(rt.sessions) as session:
        return session.scalar(select(ProcessVersion.number).join(Case, Case.process_version_id == ProcessVersion.id)
                              .where(Case.id == case_id))


def form_task(rt: Runtime, case_id: int) -> HumanTask:
    with transaction(rt.sessions) as session:
        task = session.scalars(select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.element_id == FORM,
                                                       HumanTask.state == "ready")).one()
        session.expunge(task)
        return task


def test_a_deadline_change_moves_a_waiting_case_keeping_its_claim_and_draft(
        runtime: Runtime, tmp_path: Path) -> None:
    deploy(runtime, PROJECT_ROOT / "bpmn", "as published")
    waiting = start(runtime, "RR-M-1")
    assert information_sharing_due(runtime, waiting) == DAY_7_1700
    early = start(runtime, "RR-M-2")  # still at the partners' views: information sharing not begun
    before = form_task(runtime, waiting)
    with transaction(runtime.sessions) as session:
        row = session.get(HumanTask, before.id)
        assert row is not None
        row.assignee, row.draft = "dsl@oak.example", {"summary": "half written"}
    deploy(runtime, day_6_model(tmp_path), "information sharing due on Day 6")

    active, checks = case_migration.check_cases(runtime)
    assert active == 2
    assert {c.reference: c.can_move for c in checks} == {"RR-M-1": True, "RR-M-2": True}
    waiting_check = next(c for c in checks if c.reference == "RR-M-1")
    assert {n.element_id for n in waiting_check.plan.reset} == {FORM, "information_sharing_escalation"}
    # The page and the command say when each will now be due, and only where the case really stands.
    details = {n.element_id: n.detail for n in waiting_check.plan.reset}
    assert details[FORM].endswith("it will be due 5pm on Monday 1 June 2026 (Day 6) instead of "
                                  "5pm on Tuesday 2 June 2026 (Day 7)")
    assert details["information_sharing_escalation"].endswith("(Day 6) instead of 5pm on Tuesday 2 June 2026 (Day 7)")

    report = case_migration.move_cases(runtime, actor="owner", note="Day 6 for everyone")
    assert sorted(c.reference for c in report.moved) == ["RR-M-1", "RR-M-2"]
    assert report.refused == [] and report.failed == []

    after = form_task(runtime, waiting)
    assert after.id == before.id  # the same task: nobody loses their place
    assert (after.assignee, after.draft) == ("dsl@oak.example", {"summary": "half written"})
    assert after.due_at == DAY_6_1700
    assert version_number(runtime, waiting) == 2 and version_number(runtime, early) == 2
    assert information_sharing_due(runtime, early) == DAY_6_1700  # when it gets there, the new rule applies
    with transaction(runtime.sessions) as session:
        moved = session.scalars(select(AuditEvent).where(AuditEvent.type == "case_moved",
                                                         AuditEvent.case_id == waiting)).one()
    assert (moved.actor, moved.payload["from"], moved.payload["to"], moved.payload["note"]) == (
        "owner", 1, 2, "Day 6 for everyone")
    assert any("information_sharing_escalation" in line for line in moved.payload["reset"])
    assert case_migration.check_cases(runtime) == (2, [])  # nothing left behind


def test_the_escalation_timer_follows_the_moved_deadline(runtime: Runtime, tmp_path: Path) -> None:
    deploy(runtime, PROJECT_ROOT / "bpmn", "as published")
    case_id = start(runtime, "RR-M-3")
    information_sharing_due(runtime, case_id)
    workflow = runtime.restore(case_row(runtime, case_id))
    assert dict(workflow.waiting_timers())["information_sharing_escalation"] == DAY_7_1700
    deploy(runtime, day_6_model(tmp_path), "Day 6")
    case_migration.move_cases(runtime, actor="owner", note="test")
    case = case_row(runtime, case_id)
    timers = dict(runtime.restore(case).waiting_timers())
    assert timers["information_sharing_escalation"] == DAY_6_1700
    assert case.next_timer_due is not None and case.next_timer_due <= DAY_6_1700


def test_a_case_inside_a_changed_call_activity_is_refused_and_left_untouched(
        runtime: Runtime, tmp_path: Path) -> None:
    deploy(runtime, PROJECT_ROOT / "bpmn", "as published")
    inside = start(runtime, "RR-M-4")
    information_sharing_due(runtime, inside)
    early = start(runtime, "RR-M-5")
    stored = case_row(runtime, inside).workflow_json
    deploy(runtime, renamed_agency_return_model(tmp_path), "returns collected as agency_result")

    report = case_migration.move_cases(runtime, actor="owner", note="test")
    assert [c.reference for c in report.moved] == ["RR-M-5"]
    assert [c.reference for c in report.refused] == ["RR-M-4"]
    reasons = [str(o) for o in report.refused[0].plan.obstacles]
    assert any("collect_information" in r and "inside it" in r for r in reasons), reasons
    case = case_row(runtime, inside)
    assert (case.workflow_json, version_number(runtime, inside)) == (stored, 1)
    with transaction(runtime.sessions) as session:
        moved = set(session.scalars(select(AuditEvent.case_id).where(AuditEvent.type == "case_moved")))
    assert moved == {early}


def test_a_removed_element_the_case_has_done_blocks_the_move_but_not_a_case_before_it(
        runtime: Runtime) -> None:
    deploy(runtime, PROJECT_ROOT / "bpmn", "as published")
    files = dict(ProcessBundle.from_directory(PROJECT_ROOT / "bpmn").files)
    target = compile_bundle(ProcessBundle(without_share_agency_list(files)), "rapid_review")
    past = start(runtime, "RR-M-6")
    information_sharing_due(runtime, past)  # share_agency_list is done
    before = start(runtime, "RR-M-7")

    plan = migration.plan_migration(runtime.restore(case_row(runtime, past)), target)
    assert [(o.element_id, o.state) for o in plan.obstacles] == [("share_agency_list", "done")]
    assert plan.obstacles[0].detail == "the new version removes this element, which this case has done"

    workflow = runtime.restore(case_row(runtime, before))
    assert migration.migrate(workflow, target).safe
    restored = runtime.engine.restore(workflow.dump(), target)  # the moved case saves and restores
    assert [t.element_id for t in restored.ready_user_tasks()] == ["record_criteria_view"] * 3


@pytest.mark.parametrize(("state", "words"), [
    ("COMPLETED", "which this case has done"), ("READY", "where this case is waiting now"),
    ("WAITING", "where this case is waiting now"), ("STARTED", "which this case is in the middle of"),
    ("FUTURE", "which is already lined up as one of this case's next steps")])
def test_a_refusal_says_where_the_case_stands_and_never_that_it_reached_a_step_it_has_not(
        state: str, words: str) -> None:
    from SpiffWorkflow.util.task import TaskState

    class Task:
        def has_state(self, mask: int) -> bool:
            return bool(getattr(TaskState, state) & mask)

    assert migration._where(Task()) == words


def test_naming_cases_moves_only_those_and_bad_names_are_explained(
        runtime: Runtime, tmp_path: Path) -> None:
    deploy(runtime, PROJECT_ROOT / "bpmn", "as published")
    start(runtime, "RR-M-8")
    start(runtime, "RR-M-9")
    deploy(runtime, day_6_model(tmp_path), "Day 6")
    report = case_migration.move_cases(runtime, actor="owner", note="test", references=["RR-M-9"])
    assert [c.reference for c in report.moved] == ["RR-M-9"]
    for references, message in ((["RR-NOPE"], "there is no case RR-NOPE"),
                                (["RR-M-9"], "already runs on version 2")):
        try:
            case_migration.move_cases(runtime, actor="owner", note="test", references=references)
        except case_migration.MoveError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"{references} should be refused")


def test_a_closed_case_is_never_moved(runtime: Runtime, tmp_path: Path) -> None:
    deploy(runtime, PROJECT_ROOT / "bpmn", "as published")
    case_id = start(runtime, "RR-M-10")
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.status = cases.NOT_COMMISSIONED
    deploy(runtime, day_6_model(tmp_path), "Day 6")
    assert case_migration.check_cases(runtime) == (2, [])
    try:
        case_migration.move_cases(runtime, actor="owner", note="test", references=["RR-M-10"])
    except case_migration.MoveError as exc:
        assert "closed" in str(exc)
    else:
        raise AssertionError("a closed case must not move")


def test_the_move_cases_command_checks_then_moves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path / "data"))
    quick = tmp_path / "scenarios"
    quick.mkdir()
    (quick / "not_commissioned.json").write_bytes((PROJECT_ROOT / "scenarios" / "not_commissioned.json").read_bytes())
    assert main(["deploy", "--note", "first", "--no-lint", "--scenarios", str(quick)]) == 0
    rt = build_runtime(from_environment())
    try:
        start(rt, "RR-M-11")
    finally:
        rt.close()
    assert main(["move-cases", "--check"]) == 0  # nothing on another version yet
    assert main(["deploy", str(day_6_model(tmp_path)), "--note", "Day 6", "--no-lint", "--scenarios", str(quick)]) == 0
    capsys.readouterr()

    assert main(["move-cases", "--check"]) == 0
    assert "RR-M-11: can move (version 1)" in capsys.readouterr().out
    assert main(["move-cases"]) == 2  # a move says why
    assert "say why you are moving the cases" in capsys.readouterr().err
    assert main(["move-cases", "--note", "Day 6 for all"]) == 0
    assert "1 moved, 0 refused, 0 failed (active version 2)" in capsys.readouterr().out
    assert main(["move-cases", "RR-M-11", "--note", "again"]) == 2
    assert "already runs on version 2" in capsys.readouterr().err
    assert main(["move-cases", "--partnership", "nowhere"]) == 2
    assert "there is no partnership 'nowhere' (known: default)" in capsys.readouterr().err


def test_a_task_moved_to_another_lane_goes_to_that_role_and_its_claim_is_released(
        runtime: Runtime, tmp_path: Path) -> None:
    deploy(runtime, PROJECT_ROOT / "bpmn", "as published")
    case_id = start(runtime, "RR-M-12")
    information_sharing_due(runtime, case_id)
    with transaction(runtime.sessions) as session:
        row = session.get(HumanTask, form_task(runtime, case_id).id)
        assert row is not None and row.role == "agency_practitioner"
        row.assignee = "dsl@oak.example"
    folder = day_6_model(tmp_path)
    path = folder / "information_sharing.bpmn"
    text = path.read_text()
    ref = "<bpmn:flowNodeRef>complete_information_sharing_form</bpmn:flowNodeRef>"
    assert text.count(ref) == 1
    manager_lane = '<bpmn:lane id="lane_agency_manager" name="Agency manager">'
    path.write_text(text.replace(ref, "").replace(manager_lane, manager_lane + ref))
    deploy(runtime, folder, "the manager completes the form")

    report = case_migration.move_cases(runtime, actor="owner", note="test")
    assert [c.reference for c in report.moved] == ["RR-M-12"]
    moved = form_task(runtime, case_id)
    assert (moved.role, moved.lane, moved.assignee) == ("agency_manager", "Agency manager", None)
    with transaction(runtime.sessions) as session:
        released = session.scalars(select(AuditEvent).where(AuditEvent.type == "task_released")).one()
    assert released.payload["by"] == "dsl@oak.example"
