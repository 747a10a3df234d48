"""Where each agency of a case stands with its access, the upkeep of invited accounts, and the administrator's list.

For each agency of a case the Partnership Manager sees whether its contact and manager have accepted their
invitations, whether the form has been opened, and flags an open task nobody can reach (no account that can sign
in, no invitation still valid) the moment the task exists. The scheduler reports invitations that lapsed unused
while their task is open (once, to the Partnership Manager) and closes invited accounts no case has needed for
``invited_access_days`` (audited; their sessions end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.errors import NotFound
from rapidreview.process_contract import INFORMATION_SHARING_TASK
from rapidreview.runtime import Runtime
from rapidreview.services.casework.case_mail import queue_case_email
from rapidreview.services.people import partnerships
from rapidreview.services.people.roles import AGENCY_ROLES
from rapidreview.services.people.users import ACCOUNT_CLOSED, end_sessions
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import Agency, Case, HumanTask, Invitation, User

LAPSED_TEMPLATE = "invitation_lapsed"

# A person's standing, in the words the case page shows.
ACCEPTED, INVITED, LINK_EXPIRED, CLOSED = (
    "Can sign in",
    "Invited, not yet accepted",
    "Invitation expired",
    "Account closed",
)


@dataclass(frozen=True)
class PersonAccess:
    user_id: int
    name: str
    email: str
    role: str
    standing: str
    invited_by: str | None
    expires_at: datetime | None  # of their newest invitation, while they have not accepted
    can_resend: bool


@dataclass
class AgencyAccess:
    agency_id: str
    name: str
    people: list[PersonAccess] = field(default_factory=list)
    form: str = "No form yet"  # Returned, Opened by ..., Not opened, Closed
    unreachable: list[str] = field(default_factory=list)  # open tasks nobody can reach: their names

    @property
    def flagged(self) -> bool:
        return bool(self.unreachable)


def _newest_invitation(session: Session, user_id: int) -> Invitation | None:
    return session.scalars(
        select(Invitation)
        .where(Invitation.user_id == user_id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(1)
    ).first()


def _standing(user: User, newest: Invitation | None, now: datetime) -> tuple[str, datetime | None]:
    if not user.active:
        return CLOSED, None
    if not user.awaiting_acceptance:
        return ACCEPTED, None
    if (
        newest is None
        or newest.used_at is not None
        or newest.withdrawn_at is not None
        or newest.expires_at <= now
    ):
        return LINK_EXPIRED, newest.expires_at if newest else None
    return INVITED, newest.expires_at


@dataclass(frozen=True)
class CaseAgencies:
    """A case of the person's partnership and the agencies with a task in it (the contact-change pages)."""

    reference: str
    agencies: dict[str, AgencyAccess]  # by agency id


def agencies_of_case(rt: Runtime, case_id: int, partnership_id: int | None) -> CaseAgencies:
    """The case's agencies; another partnership's case, or none, is not found."""
    with transaction(rt.sessions) as session:
        case = session.get(Case, case_id)
        if case is None or case.partnership_id != partnership_id:
            raise NotFound("no such case")
        return CaseAgencies(case.reference, {a.agency_id: a for a in case_agencies(session, case)})


def case_agencies(session: Session, case: Case) -> list[AgencyAccess]:
    """Each agency with a task in ``case``: its people's standing, its form, and any task nobody can reach."""
    now = clock.now()
    tasks = list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.case_id == case.id, HumanTask.agency_id.is_not(None))
            .order_by(HumanTask.id)
        )
    )
    result: dict[str, AgencyAccess] = {}
    for task in tasks:
        agency_id = str(task.agency_id)
        if agency_id not in result:
            agency = session.get(Agency, agency_id)
            result[agency_id] = AgencyAccess(
                agency_id, agency.name if agency else (task.agency_name or agency_id)
            )
    for agency_id, row in result.items():
        people = session.scalars(
            select(User)
            .where(
                User.agency_id == agency_id,
                User.partnership_id == case.partnership_id,
                User.role.in_(AGENCY_ROLES),
            )
            .order_by(User.role.desc(), User.name)
        )
        reachable: set[str] = set()
        for user in people:
            newest = _newest_invitation(session, user.id) if user.invited_at is not None else None
            standing, expires = _standing(user, newest, now)
            if standing in (ACCEPTED, INVITED):
                reachable.add(user.role)
            if user.invited_at is None and not user.active:
                continue  # an administrator's closed account: not this case's business
            row.people.append(
                PersonAccess(
                    user.id,
                    user.name,
                    user.email,
                    user.role,
                    standing,
                    user.invited_by,
                    expires,
                    can_resend=standing in (INVITED, LINK_EXPIRED, CLOSED) and user.invited_at is not None,
                )
            )
        agency_tasks = [t for t in tasks if t.agency_id == agency_id]
        form_tasks = [t for t in agency_tasks if t.element_id == INFORMATION_SHARING_TASK]
        row.form = _form_state(form_tasks)
        row.unreachable = [t.name for t in agency_tasks if t.state == "ready" and t.role not in reachable]
    return sorted(result.values(), key=lambda a: (not a.flagged, a.name.lower()))


def _form_state(form_tasks: list[HumanTask]) -> str:
    if not form_tasks:
        return "No form yet"
    latest = form_tasks[-1]
    if latest.state == "completed":
        return "Returned"
    if latest.state == "cancelled":
        return "Closed without a return"
    if latest.assignee or latest.draft:
        return "Opened"
    return "Not opened"


# -- the scheduler's upkeep ---------------------------------------------------------------------------------------


def upkeep(rt: Runtime) -> datetime | None:
    """Report invitations that lapsed while their task is open, and close invited accounts no case needs."""
    report_lapsed_invitations(rt)
    close_unneeded_accounts(rt)
    return None


def report_lapsed_invitations(rt: Runtime) -> int:
    now = clock.now()
    told = 0
    with transaction(rt.sessions) as session:
        lapsed = list(
            session.scalars(
                select(Invitation)
                .where(
                    Invitation.used_at.is_(None),
                    Invitation.withdrawn_at.is_(None),
                    Invitation.expires_at <= now,
                    Invitation.lapse_reported_at.is_(None),
                    Invitation.case_id.is_not(None),
                )
                .with_for_update(skip_locked=True)
            )
        )
        for invitation in lapsed:
            invitation.lapse_reported_at = now
            user, case = session.get(User, invitation.user_id), session.get(Case, invitation.case_id)
            if user is None or case is None or not user.awaiting_acceptance:
                continue
            open_task = session.scalar(
                select(HumanTask.id)
                .where(
                    HumanTask.case_id == case.id,
                    HumanTask.agency_id == user.agency_id,
                    HumanTask.role == user.role,
                    HumanTask.state == "ready",
                )
                .limit(1)
            )
            if open_task is None:
                continue
            _tell_manager(rt, session, case, user)
            told += 1
    return told


def _tell_manager(rt: Runtime, session: Session, case: Case, user: User) -> None:
    settings = partnerships.settings_for(rt, session, case.partnership_id)
    managers = [
        u.email
        for u in session.scalars(
            select(User).where(
                User.partnership_id == case.partnership_id,
                User.role == "partnership_manager",
                User.active.is_(True),
            )
        )
    ]
    to = managers or [settings.partnership_contact_email]
    agency = session.get(Agency, user.agency_id) if user.agency_id else None
    context = {
        "case": {"reference": case.reference},
        "agency": {"name": agency.name if agency else user.agency_id},
        "invitation": {"person": user.name, "email": user.email, "role": user.role},
        "link": f"{rt.settings.base_url.rstrip('/')}/cases/{case.reference}#agencies",
        "partnership_name": settings.partnership_name,
    }
    queue_case_email(rt, session, case, LAPSED_TEMPLATE, context, to=to, tags={"agency": user.agency_id})
    audit.record(
        session, case.id, "invitation_lapsed", actor="system", user=user.email, agency=user.agency_id
    )


def close_unneeded_accounts(rt: Runtime) -> list[str]:
    """Invited accounts whose agency has no open task and has had none for ``invited_access_days``: closed."""
    now = clock.now()
    cutoff = now - timedelta(days=rt.settings.invited_access_days)
    closed: list[str] = []
    with transaction(rt.sessions) as session:
        invited = list(
            session.scalars(
                select(User).where(
                    User.invited_at.is_not(None), User.active.is_(True), User.role.in_(AGENCY_ROLES)
                )
            )
        )
        for user in invited:
            open_task = session.scalar(
                select(HumanTask.id)
                .where(
                    HumanTask.agency_id == user.agency_id,
                    HumanTask.partnership_id == user.partnership_id,
                    HumanTask.state == "ready",
                )
                .limit(1)
            )
            if open_task is not None:
                continue
            last_need = session.scalar(
                select(func.max(func.coalesce(HumanTask.completed_at, HumanTask.created_at))).where(
                    HumanTask.agency_id == user.agency_id, HumanTask.partnership_id == user.partnership_id
                )
            )
            newest = max(t for t in (last_need, user.invited_at) if t is not None)
            if newest > cutoff:
                continue
            user.active, user.lapsed_at = False, now
            end_sessions(session, user.id, ACCOUNT_CLOSED)
            audit.record(
                session,
                None,
                "invited_access_lapsed",
                actor="system",
                user=user.email,
                agency=user.agency_id,
                days=rt.settings.invited_access_days,
            )
            closed.append(user.email)
    return closed


# -- the administrator's list ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitedAccount:
    user_id: int
    name: str
    email: str
    role: str
    agency: str
    invited_by: str | None
    invited_at: datetime | None
    standing: str
    accepted_at: datetime | None
    lapsed_at: datetime | None
    expires_at: datetime | None


def invited_accounts(rt: Runtime, partnership_id: int) -> list[InvitedAccount]:
    now = clock.now()
    with transaction(rt.sessions) as session:
        rows = []
        for user in session.scalars(
            select(User)
            .where(User.partnership_id == partnership_id, User.invited_at.is_not(None))
            .order_by(User.invited_at.desc(), User.id.desc())
        ):
            newest = _newest_invitation(session, user.id)
            standing, expires = _standing(user, newest, now)
            rows.append(
                InvitedAccount(
                    user.id,
                    user.name,
                    user.email,
                    user.role,
                    _agency_name(session, user.agency_id),
                    user.invited_by,
                    user.invited_at,
                    "Lapsed (no case needed it)" if user.lapsed_at and not user.active else standing,
                    user.accepted_at,
                    user.lapsed_at,
                    expires,
                )
            )
        return rows


def _agency_name(session: Session, agency_id: str | None) -> str:
    agency = session.get(Agency, agency_id) if agency_id else None
    return agency.name if agency is not None else (agency_id or "")
