"""Moving open cases to the active process version, one audited step per case.

A process owner fixes a deadline or a form and wants the cases already running to follow. Each case is
checked with SpiffWorkflow's diff (see :mod:`rapidreview.engine.migration` for the rules); a case is moved only
when that is safe, otherwise it is left exactly as it was and the reason is given. Moving is one
transaction per case: the workflow is moved and stepped, its task rows follow (claims and drafts kept,
due dates updated), and an audit event records from which version to which, by whom, and what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview.engine.migration import ElementNote, MigrationPlan, MigrationRefused, migrate, plan_migration
from rapidreview.engine.process import CompiledProcess, ProcessDefinitionError
from rapidreview.engine.runtime import CaseWorkflow, EngineError
from rapidreview.errors import Conflict
from rapidreview.runtime import Runtime
from rapidreview.services.casework.cases import OPEN, CaseError, advance_workflow, ready_tasks
from rapidreview.services.definitions.process_versions import VersionError, active_version, bundle_of
from rapidreview.services.people.roles import role_for
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, ProcessVersion


class MoveError(Conflict):
    """The request itself cannot be carried out (no such case, not open, not the active version)."""


@dataclass(frozen=True)
class CaseCheck:
    """Whether one case can move to the target version, and what moving it would do."""

    reference: str
    from_version: int
    plan: MigrationPlan

    @property
    def can_move(self) -> bool:
        return self.plan.safe


@dataclass
class MoveReport:
    to_version: int
    moved: list[CaseCheck] = field(default_factory=list)
    refused: list[CaseCheck] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (reference, why): the engine could not step


def _target(session: Session, rt: Runtime) -> tuple[ProcessVersion, CompiledProcess]:
    version = active_version(session)
    if version is None:
        raise MoveError("no process version is active")
    try:
        return version, rt.compiled(bundle_of(version), version.process_id)
    except ProcessDefinitionError as exc:
        raise MoveError(f"the active version {version.number} cannot be read: {exc}") from exc


def _open_cases_behind(session: Session, target: ProcessVersion, references: Sequence[str] | None,
                       limit: int | None = None, partnership_id: int | None = None) -> list[Case]:
    query = select(Case).where(Case.status == OPEN, Case.process_version_id != target.id).order_by(Case.id)
    if partnership_id is not None:  # a process owner on the web sees their own partnership's cases only
        query = query.where(Case.partnership_id == partnership_id)
    if limit is not None:
        query = query.limit(limit)
    if references:
        wanted = list(dict.fromkeys(references))
        found = {c.reference: c for c in session.scalars(select(Case).where(Case.reference.in_(wanted)))}
        for reference in wanted:
            case = found.get(reference)
            if case is None or (partnership_id is not None and case.partnership_id != partnership_id):
                raise MoveError(f"there is no case {reference}")
            if case.status != OPEN:
                raise MoveError(f"case {reference} is closed ({case.status.replace('_', ' ')}); only open cases move")
            if case.process_version_id == target.id:
                raise MoveError(f"case {reference} already runs on version {target.number}")
        query = query.where(Case.reference.in_(wanted))
    return list(session.scalars(query))


def _numbers(session: Session) -> dict[int, int]:
    return {v.id: v.number for v in session.scalars(select(ProcessVersion))}


def check_cases(rt: Runtime, references: Sequence[str] | None = None, limit: int | None = None,
                partnership_id: int | None = None) -> tuple[int, list[CaseCheck]]:
    """(active version number, a check per open case on another version, oldest first); changes nothing."""
    with transaction(rt.sessions) as session:
        target, compiled = _target(session, rt)
        numbers = _numbers(session)
        checks = []
        for case in _open_cases_behind(session, target, references, limit, partnership_id):
            workflow = rt.restore(case)
            checks.append(CaseCheck(case.reference, numbers[case.process_version_id],
                                    plan_migration(workflow, compiled)))
        return target.number, checks


def move_cases(rt: Runtime, *, actor: str, note: str = "", references: Sequence[str] | None = None,
               expected_version: int | None = None, partnership_id: int | None = None) -> MoveReport:
    """Move every open case (or those named) that can safely move to the active version.

    Each case moves in its own transaction, so one refusal or failure leaves the others unaffected.
    ``expected_version`` guards a person's request against the active version changing under it. ``note``
    says why; it is required, and kept in each moved case's audit trail.
    """
    if not note.strip():
        raise MoveError("say why you are moving the cases (the reason is kept in each case's audit trail)")
    with transaction(rt.sessions) as session:
        target, _ = _target(session, rt)
        if expected_version is not None and target.number != expected_version:
            raise MoveError(f"version {expected_version} is not the active version (version {target.number} is); "
                            "open cases move only to the active version")
        ids = [c.id for c in _open_cases_behind(session, target, references, partnership_id=partnership_id)]
        target_number = target.number
    report = MoveReport(to_version=target_number)
    for case_id in ids:
        try:
            check = _move_one(rt, case_id, actor=actor, note=note, expected_version=target_number)
        except MoveError:
            raise
        except (CaseError, VersionError, EngineError) as exc:
            report.failed.append((_reference(rt, case_id), str(exc)))
            continue
        if check is not None:
            (report.moved if check.can_move else report.refused).append(check)
    return report


def _reference(rt: Runtime, case_id: int) -> str:
    with transaction(rt.sessions) as session:
        case = session.get(Case, case_id)
        return case.reference if case is not None else str(case_id)


def _move_one(rt: Runtime, case_id: int, *, actor: str, note: str, expected_version: int) -> CaseCheck | None:
    """Move one case; the check says whether it moved (a refused case is left untouched)."""
    with transaction(rt.sessions) as session:
        case = session.get(Case, case_id, with_for_update=True)
        target, compiled = _target(session, rt)
        if target.number != expected_version:
            raise MoveError(f"the active version changed to {target.number} meanwhile; check again")
        if case is None or case.status != OPEN or case.process_version_id == target.id:
            return None  # closed or moved meanwhile: nothing to do
        numbers = _numbers(session)
        workflow = rt.restore(case)
        try:
            plan = migrate(workflow, compiled)
        except MigrationRefused as refused:
            return CaseCheck(case.reference, numbers[case.process_version_id], refused.plan)
        check = CaseCheck(case.reference, numbers[case.process_version_id], plan)
        audit.record(session, case.id, "case_moved", actor=actor, **{"from": check.from_version, "to": target.number},
                     note=note or None, reset=[str(n) for n in plan.reset] or None,
                     already_done=[str(n) for n in plan.already_done] or None)
        case.process_version_id = target.id
        # Step the case: reset tasks become ready or waiting again under the new definitions.
        advance_workflow(session, rt, case, workflow, actor=actor)
        _refresh_task_rows(session, case, workflow)
        return check


def _refresh_task_rows(session: Session, case: Case, workflow: CaseWorkflow) -> None:
    """Ready task rows keep their claim and draft; due date, name, form and lane follow the new version.

    A task whose lane changed goes to the new lane's role, so a claim by someone of the old role is released.
    """
    views = {v.id: v for v in workflow.ready_user_tasks()}
    for row in ready_tasks(session, case.id):
        view = views.get(row.engine_task_id)
        if view is None:
            continue
        row.due_at, row.name, row.form = view.due, view.name, view.form
        role = role_for(view.lane, view.partner)
        if (row.lane, row.role) != (view.lane, role):
            row.lane, row.role = view.lane, role
            if row.assignee is not None:
                audit.record(session, case.id, "task_released", id=row.element_id, task=row.id, by=row.assignee,
                             reason="the task moved to another role in the new process version")
                row.assignee = None


__all__ = ["CaseCheck", "ElementNote", "MoveError", "MoveReport", "check_cases", "move_cases"]
