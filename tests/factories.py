"""Plain factory functions for tests: start a case, and move it on until a task is ready."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rapidreview import clock
from rapidreview.services import cases
from rapidreview.services.runtime import Runtime
from rapidreview.services.tasks import starting_answers
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, HumanTask

AGENCIES = [{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
             "manager_email": "head@oak.example"}]


def start_case(runtime: Runtime, reference: str = "RR-F-1", notified_at: datetime | None = None,
               agencies: list[dict[str, str]] | None = None, child: dict[str, Any] | None = None) -> int:
    notification = cases.Notification(
        reference=reference, notified_at=notified_at or clock.now(),
        child=child or {"name": "Child F", "date_of_birth": "2019-03-02", "sex": "female"},
        incident={"date": "2026-05-20", "summary": "Admitted to hospital with a head injury."},
        agencies=AGENCIES if agencies is None else agencies)
    return cases.start_case(runtime, notification, actor="test")


def ready_tasks(runtime: Runtime, case_id: int) -> list[HumanTask]:
    with transaction(runtime.sessions) as session:
        rows = cases.ready_tasks(session, case_id)
        session.expunge_all()
        return rows


def complete(runtime: Runtime, task: HumanTask, answers: dict[str, Any] | None = None, actor: str = "test") -> None:
    given = starting_answers(runtime, task.id, with_examples=True) | (answers or {})
    cases.complete_task(runtime, task.id, given, actor=actor)


def drive_until(runtime: Runtime, virtual_clock: clock.VirtualClock, case_id: int, element_id: str,
                answers: dict[str, dict[str, Any]] | None = None, partner: str | None = None) -> HumanTask:
    """Complete tasks with their example answers, and let time pass, until ``element_id`` is ready."""
    for _ in range(200):
        ready = ready_tasks(runtime, case_id)
        wanted = [t for t in ready if t.element_id == element_id and (partner is None or t.partner == partner)]
        if wanted:
            return wanted[0]
        if ready:
            complete(runtime, ready[0], (answers or {}).get(ready[0].element_id))
            continue
        with transaction(runtime.sessions) as session:
            due = session.get(Case, case_id).wake_at  # type: ignore[union-attr]
        assert due is not None, f"the case waits for nothing and {element_id} is not ready"
        virtual_clock.set(max(due, virtual_clock.now()))
        cases.advance_case(runtime, case_id, actor="test")
    raise AssertionError(f"{element_id} never became ready")
