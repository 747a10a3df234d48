"""People hear when a task is theirs (at once, or in one digest at 08:00) and once when it is overdue."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from rapidreview import clock
from rapidreview.calendar import london_time
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases, notifications
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, OutboxMessage, User
from tests.factories import ready_tasks, start_case


def _mail(runtime: Runtime, template: str) -> list[OutboxMessage]:
    with transaction(runtime.sessions) as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.template == template)
                                    .order_by(OutboxMessage.id)))
        session.expunge_all()
        return rows


def test_each_lead_hears_at_once_that_their_view_is_needed_by_reference_only(deployed: Runtime,
                                                                           virtual_clock: clock.VirtualClock) -> None:
    start_case(deployed, "RR-N-1", child={"name": "Child Z", "date_of_birth": "2019-01-01", "sex": "male"})
    told = _mail(deployed, "your_turn")
    assert sorted(m.to[0] for m in told) == ["icb.lead@demo.example", "la.lead@demo.example", "police.lead@demo.example"]
    for message in told:
        assert message.tags == {"task": "record_criteria_view", "task_id": message.tags["task_id"]}  # type: ignore[index]
        assert "RR-N-1" in message.subject and "Child Z" not in message.subject + message.body_text
        assert f"/tasks/{message.tags['task_id']}" in message.body_text  # type: ignore[index]


def test_nobody_holding_the_role_the_role_mailbox_hears(runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    from rapidreview.config import PROJECT_ROOT
    from rapidreview.services.definitions.process_versions import deploy_directory

    deploy_directory(runtime, PROJECT_ROOT / "bpmn", PROJECT_ROOT / "forms", deployed_by="test")  # no accounts
    start_case(runtime, "RR-N-2")
    assert sorted(m.to[0] for m in _mail(runtime, "your_turn")) == [
        "icb.lead@icb.example", "la.lead@council.example", "police.lead@police.example"]


def test_a_person_who_chose_the_digest_hears_once_at_eight(deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    with transaction(deployed.sessions) as session:
        lead = session.scalars(select(User).where(User.email == "la.lead@demo.example")).one()
        lead_id = lead.id
    notifications.set_preference(deployed, lead_id, "digest")
    start_case(deployed, "RR-N-3")
    start_case(deployed, "RR-N-4")
    assert "la.lead@demo.example" not in {m.to[0] for m in _mail(deployed, "your_turn")}
    # It is 09:00: today's digest has gone, so these wait for tomorrow's.
    assert notifications.send_due_digests(deployed) == london_time(date(2026, 5, 23), "08:00")
    assert _mail(deployed, "task_digest") == []
    virtual_clock.set(london_time(date(2026, 5, 23), "08:00"))
    notifications.send_due_digests(deployed)
    notifications.send_due_digests(deployed)  # a second run (another scheduler) sends nothing more
    [digest] = _mail(deployed, "task_digest")
    assert digest.to == ["la.lead@demo.example"] and "tasks today (2)" in digest.subject
    assert "RR-N-3" in digest.body_text and "RR-N-4" in digest.body_text


def test_an_overdue_task_is_reported_once_to_its_holder_and_the_partnership_manager(
        deployed: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = start_case(deployed, "RR-N-5")  # Friday 22 May 2026, 09:00: the views are due at 17:00
    [la] = [t for t in ready_tasks(deployed, case_id) if t.partner == "LA"]
    from rapidreview.services.casework import worklist
    from rapidreview.services.people.users import get_user

    with transaction(deployed.sessions) as session:
        lead = get_user(session, session.scalars(select(User.id).where(User.email == "la.lead@demo.example")).one())
    assert lead is not None
    worklist.claim(deployed, la.id, lead)
    with transaction(deployed.sessions) as session:
        assert session.get(cases.Case, case_id).wake_at == la.due_at  # type: ignore[union-attr]
    virtual_clock.set(la.due_at + timedelta(seconds=1))  # type: ignore[operator]
    cases.advance_case(deployed, case_id)
    cases.advance_case(deployed, case_id)
    overdue = _mail(deployed, "task_overdue")
    assert len(overdue) == 3  # the three views, each once
    [mine] = [m for m in overdue if m.tags["task_id"] == la.id]  # type: ignore[index]
    assert mine.to == ["la.lead@demo.example"] and mine.cc == ["pm@demo.example"]
    with transaction(deployed.sessions) as session:
        assert len(session.scalars(select(AuditEvent).where(AuditEvent.type == "task_overdue")).all()) == 3
