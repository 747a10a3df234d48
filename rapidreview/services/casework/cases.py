"""Case use cases. Each public function is one step: one transaction, one save of the workflow.

A step loads the case row (locked on PostgreSQL, version-checked everywhere), restores the workflow
from its JSON, applies the action, runs the engine, and in the same commit saves the workflow, syncs
the human-task rows, appends audit events, queues outbox messages and stores the next timer due time.
"""

from __future__ import annotations

import errno
import logging
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from rapidreview import clock
from rapidreview.documents.pdf import PdfConversionError
from rapidreview.engine.runtime import (
    CaseAction,
    CaseWorkflow,
    EngineError,
    StepResult,
    TaskNotReady,
    UserTaskView,
)
from rapidreview.errors import Invalid
from rapidreview.forms import FieldError, without_decisions
from rapidreview.process_contract import AGENCY_LIST_TASK as AGENCY_LIST_ELEMENT
from rapidreview.process_contract import (
    COMMISSION_TASK,
    NOT_COMMISSIONED_END,
    PANEL_SUBMISSION_SENT,
)
from rapidreview.process_contract import MEETING_OUTCOMES_TASK as LCSPR_DECISION_TASK
from rapidreview.runtime import Runtime
from rapidreview.services.casework import agency_register, notifications
from rapidreview.services.casework.defaults import STAMPS
from rapidreview.services.casework.forms import FormAnswersError, check_answers, form_schema
from rapidreview.services.casework.operators import CaseOperators
from rapidreview.services.definitions.process_versions import active_version, bundle_of
from rapidreview.services.people import invitations
from rapidreview.services.people.roles import PARTNERS, role_for
from rapidreview.services.people.users import ROLES
from rapidreview.services.platform import audit, outbox
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, HumanTask, User

logger = logging.getLogger(__name__)

OPEN, NOT_COMMISSIONED, SUBMITTED = "open", "not_commissioned", "submitted"
# The review ends here when the criteria are not met; the case is not commissioned from then on, while the
# Partnership Manager confirms the decision record for the National Panel.
NOT_COMMISSIONED_DECIDED = NOT_COMMISSIONED_END
# The agency list: its agencies are tied to the partnership's register, and their staff without accounts invited.
AGENCY_LIST_TASK = AGENCY_LIST_ELEMENT


class CaseError(Invalid):
    pass


# A reference names the case in every link to it (/cases/RR/2026/014/documents): parts of letters, digits,
# hyphens and underscores, joined by single slashes; no part may be a word the case pages use after it.
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(?:/[A-Za-z0-9][A-Za-z0-9_-]*)*$")
REFERENCE_MAX = 50
RESERVED_REFERENCE_PARTS = frozenset({"new", "documents", "upload", "compare", "actions", "comments", "break-glass"})


def reference_problem(reference: str) -> str | None:
    """Why ``reference`` cannot name a case, in words for the person typing it; None when it can."""
    if not reference:
        return "Enter the case reference"
    if len(reference) > REFERENCE_MAX:
        return f"The case reference must be {REFERENCE_MAX} characters or fewer"
    if not REFERENCE.match(reference):
        return ("Enter a reference using only letters, numbers, hyphens, underscores and single slashes between "
                "parts, starting with a letter or number, like RR-2026-014 or RR/2026/014")
    used = sorted(RESERVED_REFERENCE_PARTS.intersection(part.lower() for part in reference.split("/")))
    if used:
        return f"A case reference cannot contain the word {used[0]!r} as a part of its own"
    return None


class TaskUnavailable(CaseError):
    """The task was completed, cancelled or claimed by someone else meanwhile."""

    status = 409


class StorageFull(CaseError):
    """The step needed to write a file (a report, its PDF) and the disk is full or read-only: the step was
    rolled back, so the task and the case are as they were, and it can be tried again once there is room."""

    status = 503


class PdfNotMade(CaseError):
    """The step had to turn the signed report into a PDF and the converter failed: the step rolled back, so
    nothing was saved or sent, and it can be submitted again."""

    status = 503


STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def _behind(exc: BaseException, found: Callable[[BaseException], bool]) -> BaseException | None:
    """The first error in ``exc``'s chain of causes for which ``found`` holds, however deep the engine wrapped it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if found(current):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def storage_failure(exc: BaseException) -> OSError | None:
    """The "no room to write" error behind ``exc``; None if there is none."""
    found = _behind(exc, lambda e: isinstance(e, OSError) and e.errno in STORAGE_ERRNOS)
    return found if isinstance(found, OSError) else None


@dataclass(frozen=True)
class Notification:
    reference: str
    notified_at: datetime
    child: Mapping[str, Any]
    incident: Mapping[str, Any]
    agencies: Sequence[Mapping[str, Any]] = field(default_factory=list)
    referral: Mapping[str, Any] = field(default_factory=dict)


def start_case(rt: Runtime, notification: Notification, *, actor: str, partnership_id: int | None = None) -> int:
    if notification.notified_at.tzinfo is None:
        raise CaseError("notified_at must carry a time zone offset")
    problem = reference_problem(notification.reference)
    if problem:
        raise CaseError(problem)
    day_one = rt.calendar.day_one(notification.notified_at)
    try:
        with transaction(rt.sessions) as session:
            version = active_version(session)
            if version is None:
                raise CaseError("no process version is deployed: run `rapidreview deploy` first")
            compiled = rt.compiled(bundle_of(version), version.process_id)
            notification_json = {"child": dict(notification.child), "incident": dict(notification.incident),
                                 "referral": dict(notification.referral),
                                 "agencies": [dict(a) for a in notification.agencies]}
            case = Case(reference=notification.reference, process_version_id=version.id, status=OPEN,
                        notified_at=notification.notified_at, day_one=day_one,
                        deadline=rt.calendar.deadline_date(day_one), notification=notification_json,
                        workflow_json="{}", created_at=clock.now(), partnership_id=partnership_id)
            session.add(case)
            session.flush()
            audit.record(session, case.id, "case_started", actor=actor, reference=case.reference,
                         process_version=version.number, day_one=day_one.isoformat(), deadline=case.deadline.isoformat())
            audit.record(session, case.id, "status_changed", actor=actor, to=OPEN)
            start_data = {
                "case_reference": case.reference, "notified_at": notification.notified_at.isoformat(),
                "day_one": day_one.isoformat(), "notification": notification_json, "partners": dict(PARTNERS),
            }
            workflow, result = rt.engine.start(compiled, start_data, CaseOperators(rt, session, case))
            _after_step(session, rt, case, workflow, result, actor)
            return case.id
    except IntegrityError as exc:
        # Only a taken reference is the person's to fix; any other violation (a schema the code does not
        # match, during an upgrade) is the operator's, so it is logged and reported as a fault.
        with transaction(rt.sessions) as session:
            taken = session.scalar(select(Case.id).where(Case.reference == notification.reference)) is not None
        if taken:
            raise CaseError(f"a case with reference {notification.reference!r} already exists") from None
        # The first line only: the rest of the driver's message can quote the row, with the child's name.
        reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
        logger.error("starting case %s failed on a database constraint, not a duplicate reference: %s",
                     notification.reference, reason)
        raise CaseError("the case could not be saved because of a fault in the service's database, not in what "
                        "you entered; nothing was saved. Tell your administrator (the fault is in the log)") from None


def complete_task(rt: Runtime, task_id: int, answers: Mapping[str, Any], *, actor: str) -> None:
    """Complete a human task with validated answers. Two completions of one task cannot both win."""
    try:
        _complete_task(rt, task_id, answers, actor=actor)
    except StaleDataError:
        raise TaskUnavailable("the case changed while you were working on it; reload the task and try again") from None
    except (EngineError, OSError) as exc:
        if (pdf := _behind(exc, lambda e: isinstance(e, PdfConversionError))) is not None:
            raise PdfNotMade(str(pdf)) from exc
        if (full := storage_failure(exc)) is None:
            raise
        raise StorageFull(f"the server has no room to store files ({errno.errorcode.get(full.errno or 0, '?')}), "
                          "so nothing was saved") from exc


def _complete_task(rt: Runtime, task_id: int, answers: Mapping[str, Any], *, actor: str) -> None:
    with transaction(rt.sessions) as session:
        case, task = _lock_task(session, task_id)
        with own_time(case):
            if task.state != "ready":
                raise TaskUnavailable(f"{task.name} for case {case.reference} has already been {task.state}")
            if task.form:
                check_answers(session, case.process_version_id, task.form, answers)
            if task.element_id == AGENCY_LIST_TASK:
                answers = _registered_agencies(rt, session, case, task, answers, actor)
            workflow = rt.restore(case)
            problems = workflow.answer_problems(task.element_id, answers, task.engine_task_id)
            if problems:
                raise FormAnswersError(task.form or task.element_id, [FieldError(f, m) for f, m in problems])
            stamped = {**dict(answers), **_signature(session, actor, case.partnership_id)}
            # Recorded first so the timeline reads cause before effect (documents, e-mails the step makes).
            audit.record(session, case.id, "task_completed", actor=actor, id=task.element_id, name=task.name,
                         partner=task.partner, agency=task.agency_id, by=actor, task=task.id)
            try:
                result = workflow.complete_user_task(task.engine_task_id, stamped, CaseOperators(rt, session, case))
            except TaskNotReady as exc:
                raise TaskUnavailable(str(exc)) from None
            task.state, task.completed_at, task.completed_by, task.answers = "completed", clock.now(), actor, dict(answers)
            if task.element_id == LCSPR_DECISION_TASK and isinstance(answers.get("lcspr_recommended"), bool):
                case.lcspr_recommended = answers["lcspr_recommended"]
            if task.element_id == COMMISSION_TASK and answers.get("chair_email"):
                case.chair_email = str(answers["chair_email"]).strip().lower()
            _after_step(session, rt, case, workflow, result, actor)


def _registered_agencies(rt: Runtime, session: Session, case: Case, task: HumanTask, answers: Mapping[str, Any],
                         actor: str) -> dict[str, Any]:
    """The agency list tied to the register (new agencies registered) and its people without accounts invited,
    in this step's transaction: the invitations exist before the agencies' tasks do, so nobody is told twice."""
    resolved, problems = agency_register.resolve_list(session, case.partnership_id, answers, actor=actor,
                                                      case_id=case.id)
    if not problems:
        problems = invitations.invite_listed(rt, session, case, resolved.get("agencies") or [], actor=actor)
    if problems:
        raise FormAnswersError(task.form or task.element_id, problems)
    return resolved


def _signature(session: Session, actor: str, partnership_id: int) -> dict[str, str]:
    """Who completed a step, as the process data records it: the e-mail, and the account's name and role,
    so documents name the signed-in person (a sign-off is the account's, not free text)."""
    stamp = {"completed_at": clock.now().isoformat(), "completed_by": actor}
    account = session.scalars(select(User).where(User.email == actor, User.partnership_id == partnership_id)).first()
    if account is not None:
        stamp.update(completed_by_name=account.name, completed_by_role=ROLES.get(account.role, account.role))
    return stamp


def waiting_actions(rt: Runtime, case: Case) -> list[CaseAction]:
    """The actions the case waits for (its workflow restored from the row; nothing is saved)."""
    return rt.restore(case).waiting_actions() if case.status == OPEN else []


def send_case_action(rt: Runtime, case_id: int, element_id: str, answers: Mapping[str, Any], *, actor: str) -> None:
    """Deliver a person's action (moving the meeting, say) to the case: one step, like completing a task.
    Whether the person may send it is the caller's to decide (services.policy)."""
    try:
        with transaction(rt.sessions) as session:
            case = _lock_case(session, case_id)
            with own_time(case):
                _send_locked(session, rt, case, element_id, answers, actor=actor)
    except StaleDataError:
        raise TaskUnavailable("the case changed while you were working on it; reload the page and try again") from None


def _send_locked(session: Session, rt: Runtime, case: Case, element_id: str, answers: Mapping[str, Any], *,
                 actor: str) -> None:
    workflow = rt.restore(case)
    action = next((a for a in workflow.waiting_actions() if a.element_id == element_id), None)
    if action is None:
        raise TaskUnavailable("The case is no longer waiting for this: reload the case page")
    if action.form:
        check_answers(session, case.process_version_id, action.form, answers)
    problems = workflow.answer_problems(element_id, answers)
    if problems:
        raise FormAnswersError(action.form or element_id, [FieldError(f, m) for f, m in problems])
    payload = {**dict(answers), **_signature(session, actor, case.partnership_id)}
    audit.record(session, case.id, "case_action", actor=actor, id=element_id, name=action.name)
    result = workflow.send_message(element_id, payload, CaseOperators(rt, session, case))
    _after_step(session, rt, case, workflow, result, actor)


def advance_case(rt: Runtime, case_id: int, *, actor: str = "scheduler") -> StepResult:
    """Fire the case's due timers and run the engine. Safe to call at any time."""
    with transaction(rt.sessions) as session:
        return advance_locked_case(session, rt, _lock_case(session, case_id), actor=actor)


def advance_locked_case(session: Session, rt: Runtime, case: Case, *, actor: str) -> StepResult:
    """The step of :func:`advance_case` on a case this transaction has locked (the scheduler claims it)."""
    with own_time(case):
        return advance_workflow(session, rt, case, rt.restore(case), actor=actor)


@contextmanager
def own_time(case: Case) -> Iterator[None]:
    """Run a step at the case's own time: a demonstration case moved ahead (services.demo_clock) runs that far
    ahead of the clock; every other case, and a step already running at its case's time, as it is."""
    if not case.clock_offset_s or clock.shift():
        yield
        return
    with clock.shifted(timedelta(seconds=case.clock_offset_s)):
        yield


def advance_workflow(session: Session, rt: Runtime, case: Case, workflow: CaseWorkflow, *, actor: str) -> StepResult:
    """Run ``workflow`` (the locked case's, already in memory) until it waits, then save it with the case."""
    result = workflow.advance(CaseOperators(rt, session, case))
    _after_step(session, rt, case, workflow, result, actor)
    return result


def ready_tasks(session: Session, case_id: int) -> list[HumanTask]:
    return list(session.scalars(
        select(HumanTask).where(HumanTask.case_id == case_id, HumanTask.state == "ready").order_by(HumanTask.id)
    ))


def _lock_task(session: Session, task_id: int) -> tuple[Case, HumanTask]:
    """The task and its case, both locked, in one statement. PostgreSQL locks a join's rows in FROM order,
    so the case is locked before the task, as every other step does (case first, then its task rows)."""
    row = session.execute(
        select(Case, HumanTask).join(HumanTask, HumanTask.case_id == Case.id).where(HumanTask.id == task_id)
        .with_for_update().execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise TaskUnavailable(f"there is no task {task_id}")
    return row[0], row[1]


def _lock_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id, with_for_update=True)
    if case is None:
        raise CaseError(f"there is no case {case_id}")
    return case


def _after_step(session: Session, rt: Runtime, case: Case, workflow: CaseWorkflow, result: StepResult, actor: str) -> None:
    for fired in result.fired_timers:
        late_ms = int((clock.now() - fired.due).total_seconds() * 1000) if fired.due else None
        audit.record(session, case.id, "timer_fired", actor=actor, id=fired.element_id, partner=fired.partner,
                     agency=(fired.agency or {}).get("id"), due=fired.due.isoformat() if fired.due else None,
                     late_ms=late_ms)
    _sync_human_tasks(session, rt, case, workflow)
    for task in notifications.overdue_tasks(session, case.id, clock.now()):
        notifications.tell_overdue(rt, session, case, task)
    if PANEL_SUBMISSION_SENT in result.completed_elements and case.status != SUBMITTED:
        # The e-mail's task completes once the Panel's server has accepted the message: submitted then.
        previous, case.status = case.status, SUBMITTED
        case.submitted_at = outbox.accepted_at(session, case.id, outbox.NATIONAL_PANEL_SUBMISSION) or clock.now()
        audit.record(session, case.id, "status_changed", actor=actor, **{"from": previous, "to": SUBMITTED})
    if NOT_COMMISSIONED_DECIDED in result.completed_elements and case.status == OPEN:
        case.status = NOT_COMMISSIONED
        audit.record(session, case.id, "status_changed", actor=actor, **{"from": OPEN, "to": NOT_COMMISSIONED})
    case.workflow_json = workflow.dump()
    case.next_timer_due = workflow.next_timer_due()
    # Woken for its next timer, or when an open task falls overdue (its holder hears of it then).
    case.wake_at = min((t for t in (case.next_timer_due, notifications.next_overdue(session, case.id)) if t is not None),
                       default=None)
    if case.wake_at is not None and case.clock_offset_s:
        case.wake_at -= timedelta(seconds=case.clock_offset_s)  # the scheduler compares it with the real clock
    case.engine_error, case.engine_attempts, case.engine_failed_since = None, 0, None
    case.updated_at = clock.now()


def _reopened_draft(session: Session, case: Case, view: UserTaskView) -> dict[str, Any] | None:
    """A task that comes back (a form returned for correction, a report returned at sign-off) starts from what
    was sent, but with every decision unanswered: the person decides again (the page shows the last round)."""
    if not view.previous_answers:
        return None
    schema = form_schema(session, case.process_version_id, view.form)[0] if view.form else None
    kept = without_decisions(schema, {k: v for k, v in view.previous_answers.items() if k not in STAMPS})
    return kept or None


def _sync_human_tasks(session: Session, rt: Runtime, case: Case, workflow: CaseWorkflow) -> None:
    """Make the task rows match the engine: new ready tasks appear, vanished ones are cancelled."""
    ready = workflow.ready_user_task_ids()
    # No autoflush: this step's changes so far are flushed once, at commit. Rows this step has already
    # completed or cancelled are still 'ready' in the database, so the state is checked here too.
    with session.no_autoflush:
        rows = {t.engine_task_id: t for t in ready_tasks(session, case.id) if t.state == "ready"}
    ready_ids = set(ready)
    for engine_id, row in rows.items():
        if engine_id not in ready_ids:
            row.state = "cancelled"
            audit.record(session, case.id, "task_cancelled", id=row.element_id, agency=row.agency_id,
                         partner=row.partner, task=row.id)
    added: list[tuple[UserTaskView, HumanTask]] = []
    for engine_id in ready:
        if engine_id in rows:
            continue
        view = workflow.user_task_view(engine_id)  # only new tasks need the full view
        agency = view.agency or {}
        row = HumanTask(case_id=case.id, engine_task_id=view.id, element_id=view.element_id, name=view.name,
                        process_id=view.process_id, lane=view.lane, role=role_for(view.lane, view.partner),
                        form=view.form, partner=view.partner, agency_id=agency.get("id"),
                        agency_name=agency.get("name"), state="ready", due_at=view.due, created_at=clock.now(),
                        draft=_reopened_draft(session, case, view),
                        partnership_id=case.partnership_id)
        session.add(row)
        added.append((view, row))
    if not added:
        return
    session.flush()  # one batched INSERT gives every new row its id, which the audit events name
    for view, row in added:
        audit.record(session, case.id, "task_ready", id=view.element_id, name=view.name, partner=view.partner,
                     agency=(view.agency or {}).get("id"), task=row.id, due=view.due.isoformat() if view.due else None)
        notifications.tell_task_ready(rt, session, case, row, view.agency)


__all__ = ["Notification", "start_case", "complete_task", "advance_case", "CaseError", "TaskUnavailable",
           "EngineError", "FormAnswersError", "advance_locked_case", "advance_workflow", "ready_tasks"]
