"""Who may see, claim and complete which task, and the worklist queries behind /tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session, defer, object_session

from rapidreview import clock
from rapidreview.errors import Conflict, NotFound
from rapidreview.runtime import Runtime
from rapidreview.services.people import policy
from rapidreview.services.people.users import SignedIn, signed_in
from rapidreview.services.platform import audit
from rapidreview.services.reading.snapshots import snapshot
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, HumanTask, User

CHAIR_ROLE = policy.CHAIR


class ClaimError(Conflict):
    pass


class TaskNotFound(ClaimError, NotFound):
    """No such task in the person's partnership: the view answers 404, so other partnerships' tasks stay unseen."""


class TaskClosed(ClaimError):
    """The task is no longer open, so claiming, releasing or reassigning it changes nothing (409)."""


@dataclass(frozen=True)
class TaskRow:
    task: HumanTask
    case: Case
    working_days_left: int | None
    overdue: bool


def may_work_on(user: SignedIn, task: HumanTask, case: Case) -> bool:
    """:func:`policy.may_work_on`, looking up the appointed chair's account through the case's session."""
    session = object_session(case)
    has_account = True if session is None else policy.chair_has_account(session, case)  # cannot tell: fail closed
    return policy.may_work_on(user, task, case, has_account)


def chair_has_account(rt: Runtime, case: Case) -> bool:
    with transaction(rt.sessions) as session:
        return policy.chair_has_account(session, case)


def _row(rt: Runtime, task: HumanTask, case: Case, now: datetime) -> TaskRow:
    if task.due_at is None:
        return TaskRow(snapshot(task), snapshot(case), None, False)
    overdue = task.due_at < now
    left = max(0, rt.calendar.case_day(case.day_one, task.due_at) - rt.calendar.case_day(case.day_one, now))
    return TaskRow(snapshot(task), snapshot(case), left, overdue)


def _candidates(user: SignedIn) -> list[str]:
    roles = [user.role, CHAIR_ROLE]
    if user.role in policy.LEADS:
        roles.append("statutory_partner")
    return roles


# Available tasks a page; nobody works through more at once, and a longer page is slower to serve and use.
AVAILABLE_LIMIT = 100


def worklist(rt: Runtime, user: SignedIn, page: int = 1) -> tuple[list[TaskRow], list[TaskRow], bool]:
    """(my tasks, one page of available tasks, whether another page follows), each by due date, soonest first.

    A page holds up to AVAILABLE_LIMIT available tasks (fewer when some are for someone else, such as another
    case's appointed chair, which only the rule below can tell).
    """
    page = max(1, page)
    now = clock.now()
    order = (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
    with transaction(rt.sessions) as session:
        # Scoped to the person's partnership first: the ready-task index leads with it (docs/performance.md).
        own = HumanTask.partnership_id == user.partnership_id
        mine_q = (select(HumanTask).where(own, HumanTask.state == "ready", HumanTask.assignee == user.email)
                  .order_by(*order))
        mine = [_row(rt, t, c, now) for t, c in _with_cases(session, mine_q)]
        open_q = (select(HumanTask)
                  .where(own, HumanTask.state == "ready", HumanTask.assignee.is_(None),
                         HumanTask.role.in_(_candidates(user)))
                  .order_by(*order))
        if user.role != CHAIR_ROLE:
            # Chair tasks go to the case's appointed chair; may_work_on below decides, this only skips the rest.
            chaired = select(Case.id).where(Case.chair_email == user.email, Case.partnership_id == user.partnership_id)
            open_q = open_q.where(or_(HumanTask.role != CHAIR_ROLE, HumanTask.case_id.in_(chaired)))
        if user.agency_id is not None:
            open_q = open_q.where(or_(HumanTask.agency_id.is_(None), HumanTask.agency_id == user.agency_id))
        open_q = open_q.offset((page - 1) * AVAILABLE_LIMIT).limit(AVAILABLE_LIMIT + 1)
        found = _with_cases(session, open_q)
        more = len(found) > AVAILABLE_LIMIT
        available = [_row(rt, t, c, now) for t, c in found[:AVAILABLE_LIMIT] if may_work_on(user, t, c)]
        return mine, available, more


def _with_cases(session: Session, tasks_q: Select[HumanTask]) -> list[tuple[HumanTask, Case]]:
    """The tasks, each with its case, in two indexed queries. (A join let PostgreSQL misjudge the filtered
    task count and scan every case; a worklist row needs neither the workflow nor the notification.)"""
    tasks = list(session.scalars(tasks_q))
    ids = {t.case_id for t in tasks}
    found: list[Case] = list(session.scalars(select(Case).options(defer(Case.workflow_json), defer(Case.notification))
                                            .where(Case.id.in_(ids)))) if ids else []
    cases = {c.id: c for c in found}
    return [(t, cases[t.case_id]) for t in tasks]


def load_task(session: Session, task_id: int, partnership_id: int | None = None) -> tuple[HumanTask, Case] | None:
    """The task and its case; None when there is none, or (given ``partnership_id``) it is another partnership's."""
    task = session.get(HumanTask, task_id)
    if task is None:
        return None
    case = session.get(Case, task.case_id)
    assert case is not None
    if partnership_id is not None and (case.partnership_id != partnership_id or task.partnership_id != partnership_id):
        return None
    return task, case


def _own_task(session: Session, task_id: int, user: SignedIn) -> tuple[HumanTask, Case]:
    found = load_task(session, task_id, user.partnership_id)
    if found is None:
        raise TaskNotFound("There is no such task")
    return found


def claim(rt: Runtime, task_id: int, user: SignedIn) -> None:
    with transaction(rt.sessions) as session:
        found = _own_task(session, task_id, user)
        if not may_work_on(user, *found):
            raise ClaimError("You cannot claim this task")
        # A conditional update: of two people claiming at once, exactly one changes the row.
        result = session.execute(update(HumanTask).where(
            HumanTask.id == task_id, HumanTask.state == "ready", HumanTask.assignee.is_(None)).values(assignee=user.email))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(found[0])
            who = found[0].assignee
            raise ClaimError(f"This task has already been claimed by {who}" if who else "This task is no longer open")
        audit.record(session, found[1].id, "task_claimed", actor=user.email, id=found[0].element_id,
                     name=found[0].name, task=task_id)


def release(rt: Runtime, task_id: int, user: SignedIn) -> None:
    with transaction(rt.sessions) as session:
        task, case = _own_task(session, task_id, user)
        if task.state != "ready":
            raise TaskClosed("This task has already been completed, so it cannot be released")
        if not policy.may_release(user, task):
            raise ClaimError("Only the person who claimed this task, or the Partnership Manager, can release it")
        task.assignee = None
        audit.record(session, case.id, "task_released", actor=user.email, id=task.element_id, task=task_id)


def reassign(rt: Runtime, task_id: int, to_email: str, user: SignedIn) -> None:
    if not policy.may_reassign(user):
        raise ClaimError("Only the Partnership Manager can reassign tasks")
    with transaction(rt.sessions) as session:
        found = _own_task(session, task_id, user)
        if found[0].state != "ready":
            raise ClaimError("This task is no longer open")
        target = session.scalars(select(User).where(User.email == to_email.strip().lower(), User.active.is_(True),
                                                    User.partnership_id == user.partnership_id)).first()
        if target is None:
            raise ClaimError(f"There is no active user {to_email}")
        if not may_work_on(signed_in(target), *found):
            raise ClaimError(f"{target.name} cannot work on this task (role or agency does not match)")
        found[0].assignee = target.email
        audit.record(session, found[1].id, "task_reassigned", actor=user.email, id=found[0].element_id,
                     task=task_id, to=target.email)


def eligible_users(rt: Runtime, task_id: int, partnership_id: int) -> list[SignedIn]:
    """Active people of the task's partnership (which must be ``partnership_id``) who may work on it."""
    with transaction(rt.sessions) as session:
        found = load_task(session, task_id, partnership_id)
        if found is None:
            return []
        users = session.scalars(select(User).where(User.active.is_(True), User.partnership_id == partnership_id)
                                .order_by(User.name))
        # Invited people who have not accepted yet cannot sign in: a task given to them would sit unseen.
        return [person for person in map(signed_in, (u for u in users if not u.awaiting_acceptance))
                if may_work_on(person, *found)]
