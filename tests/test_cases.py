"""Case steps: one transaction each, durable, and safe when two people act at once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm.exc import StaleDataError

from rapidreview import clock
from rapidreview.config import PROJECT_ROOT
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.forms import FormAnswersError
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.definitions.process_versions import deploy_directory
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, HumanTask

NOTIFIED = datetime(2026, 5, 22, 8, 30, tzinfo=UTC)


def notification(reference: str = "RR-T-1") -> cases.Notification:
    return cases.Notification(reference=reference, notified_at=NOTIFIED,
                              child={"name": "Child T", "date_of_birth": "2018-01-01", "sex": "male"},
                              incident={"date": "2026-05-20", "summary": "Injury"},
                              agencies=[{"id": "school", "name": "Oak School", "contact_email": "dsl@oak.example",
                                         "manager_email": "head@oak.example"}])


@pytest.fixture
def started(runtime: Runtime) -> int:
    clock.install(clock.VirtualClock(NOTIFIED))
    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")
    yield cases.start_case(runtime, notification(), actor="test")
    clock.install(clock.SystemClock())


def ready(rt: Runtime, case_id: int) -> list[HumanTask]:
    with transaction(rt.sessions) as session:
        return cases.ready_tasks(session, case_id)


def test_a_new_case_waits_for_the_three_partners_views(runtime: Runtime, started: int) -> None:
    tasks = ready(runtime, started)
    assert sorted((t.element_id, t.partner, t.role) for t in tasks) == [
        ("record_criteria_view", "ICB", "icb_lead"), ("record_criteria_view", "LA", "la_lead"),
        ("record_criteria_view", "MPS", "police_lead")]
    assert all(t.due_at == datetime(2026, 5, 22, 16, 0, tzinfo=UTC) for t in tasks)  # Day 1, 17:00 London (BST)
    with transaction(runtime.sessions) as session:
        case = session.get(Case, started)
        assert case is not None and case.day_one.isoformat() == "2026-05-22" and case.deadline.isoformat() == "2026-06-12"


def test_a_task_completed_twice_is_refused_the_second_time(runtime: Runtime, started: int) -> None:
    task = ready(runtime, started)[0]
    answers = starting_answers(runtime, task.id, with_examples=True)
    cases.complete_task(runtime, task.id, answers, actor="first")
    with pytest.raises(cases.TaskUnavailable, match="already been completed"):
        cases.complete_task(runtime, task.id, answers, actor="second")


def test_two_people_completing_one_task_at_once_cannot_both_win(runtime: Runtime, started: int) -> None:
    task = ready(runtime, started)[0]
    answers = starting_answers(runtime, task.id, with_examples=True)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def complete(who: str) -> None:
        barrier.wait()
        try:
            cases.complete_task(runtime, task.id, answers, actor=who)
            outcomes.append("won")
        except cases.TaskUnavailable:
            outcomes.append("refused")
        except Exception as exc:  # SQLite may report its write lock; that is a refusal too
            outcomes.append(f"refused: {type(exc).__name__}")

    threads = [threading.Thread(target=complete, args=(who,)) for who in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "won"]
    with transaction(runtime.sessions) as session:
        row = session.get(HumanTask, task.id)
        assert row is not None and row.state == "completed"
    assert len([t for t in ready(runtime, started) if t.element_id == "record_criteria_view"]) == 2


def test_a_stale_copy_of_a_case_cannot_overwrite_a_newer_one(runtime: Runtime, started: int) -> None:
    first, second = runtime.sessions(), runtime.sessions()
    try:
        a, b = first.get(Case, started), second.get(Case, started)
        assert a is not None and b is not None
        a.engine_error = "first"
        first.commit()
        b.engine_error = "second"
        with pytest.raises(StaleDataError):
            second.commit()
    finally:
        first.close()
        second.close()


def test_answers_that_do_not_fit_the_form_are_refused_and_nothing_changes(runtime: Runtime, started: int) -> None:
    task = ready(runtime, started)[0]
    with transaction(runtime.sessions) as session:
        before = session.get(Case, started).workflow_json  # type: ignore[union-attr]
    with pytest.raises(FormAnswersError, match="criteria_met"):
        cases.complete_task(runtime, task.id, {"criteria_met": "maybe", "rationale": "x"}, actor="someone")
    with transaction(runtime.sessions) as session:
        assert session.get(Case, started).workflow_json == before  # type: ignore[union-attr]
        assert session.get(HumanTask, task.id).state == "ready"  # type: ignore[union-attr]


def test_the_saved_workflow_restores_to_exactly_what_was_saved(runtime: Runtime, started: int) -> None:
    for _ in range(6):  # through the partners' views, commissioning and the agency list
        task = ready(runtime, started)[0]
        cases.complete_task(runtime, task.id, starting_answers(runtime, task.id, with_examples=True), actor="t")
        with transaction(runtime.sessions) as session:
            case = session.get(Case, started)
            assert case is not None
            assert runtime.restore(case).dump() == case.workflow_json
    assert {t.element_id for t in ready(runtime, started)} >= {"complete_information_sharing_form"}


def test_a_duplicate_reference_is_refused(runtime: Runtime, started: int) -> None:
    with pytest.raises(cases.CaseError, match="RR-T-1.*already exists"):
        cases.start_case(runtime, notification(), actor="test")
