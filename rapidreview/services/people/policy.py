"""Who may do what: the one place the application decides access.

Each question has one function; views (through ``@allow`` and the services they call) and services ask it,
and ``tests/web/test_access_matrix.py`` drives it from a table. Two rules hold everywhere, before any role:
nobody reaches another partnership's cases, tasks or documents; and what a request may not see it is not
told exists (the views answer 404).

Need to know: the staff who run reviews (the Partnership Manager, chairs, the statutory partners' leads and
the Local Authority officer) see their partnership's cases in full; agency staff see only their own agency's
part of a case. Administrators and process owners run the service and see no case content (the child's
name, the timeline, the documents) unless they hold a role in the case, or an administrator "breaks the
glass": a reason, audited, that opens the case for a short while and is shown on the case to the people who
run it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.services.people.roles import AGENCY_ROLES, PARTNER_ROLES
from rapidreview.services.people.users import SignedIn
from rapidreview.store.models import AuditEvent, Case, HumanTask, User

PARTNERSHIP_MANAGER = "partnership_manager"
CHAIR = "independent_chair"
ADMIN = "admin"
PROCESS_OWNER = "process_owner"
LEADS = tuple(PARTNER_ROLES.values())
# The staff who run the partnership's reviews: every case of their partnership, in full.
CASE_STAFF = (PARTNERSHIP_MANAGER, CHAIR, *LEADS, "la_officer")
STARTERS = (PARTNERSHIP_MANAGER, "la_officer")
OUTBOX_READERS = (PARTNERSHIP_MANAGER, ADMIN)  # what did not go out, and sending it again
VERSION_READERS = (PROCESS_OWNER, ADMIN)
VERSION_OWNERS = (PROCESS_OWNER,)
USER_ADMINS = (ADMIN,)
AGENCY_CONTACT_MANAGERS = (PARTNERSHIP_MANAGER,)  # invitations and an agency's contact for a case
TASK_REASSIGNERS = (PARTNERSHIP_MANAGER,)
DASHBOARD_READERS = (PARTNERSHIP_MANAGER, CHAIR, *LEADS)  # their own partnership's figures
COUNTS_READERS = (ADMIN,)  # counts across partnerships, never a case
ACTIVATORS = (*VERSION_OWNERS, ADMIN)  # making a version active; an administrator may also override its trials
DEMO_CLOCK_MOVERS = (PARTNERSHIP_MANAGER,)  # who runs a demonstration case's clock
BREAK_GLASS_FOR = timedelta(hours=1)

CaseView = Literal["full", "agency"]


@dataclass(frozen=True)
class CaseFacts:
    """What access to one case depends on beyond the person's role (read by :func:`case_facts`)."""

    agency_has_task: bool  # the person's agency has a task in the case
    holds_task: bool  # the person holds, or did, one of the case's tasks (asked of administrators only)
    break_glass_until: datetime | None  # an administrator's emergency access, while it lasts


def case_facts(session: Session, user: SignedIn, case: Case) -> CaseFacts:
    agency_has_task = user.agency_id is not None and session.scalar(
        select(HumanTask.id).where(HumanTask.case_id == case.id, HumanTask.agency_id == user.agency_id).limit(1)
    ) is not None
    holds_task = user.role in (ADMIN, PROCESS_OWNER) and session.scalar(
        select(HumanTask.id).where(HumanTask.case_id == case.id,
                                   or_(HumanTask.assignee == user.email, HumanTask.completed_by == user.email)).limit(1)
    ) is not None
    return CaseFacts(agency_has_task, holds_task, break_glass_until(session, user, case))


def same_partnership(user: SignedIn, case: Case) -> bool:
    return user.partnership_id == case.partnership_id


def case_view(user: SignedIn, case: Case, facts: CaseFacts) -> CaseView | None:
    """How much of ``case`` the person sees: all of it, their agency's part, or nothing."""
    if not same_partnership(user, case):
        return None
    if user.role in CASE_STAFF or user.email == case.chair_email:
        return "full"
    if user.role in (ADMIN, PROCESS_OWNER) and facts.holds_task:
        return "full"  # they hold a role in this case
    if user.role == ADMIN and facts.break_glass_until is not None and facts.break_glass_until > clock.now():
        return "full"
    if user.role in AGENCY_ROLES and facts.agency_has_task:
        return "agency"
    return None


def lists_case(user: SignedIn, case: Case, facts: CaseFacts) -> bool:
    """Whether the case appears in the person's case list (reference, dates and status only). Administrators
    and process owners see the list, to run the service, but not what is behind it."""
    return case_view(user, case, facts) is not None or (same_partnership(user, case)
                                                        and user.role in (ADMIN, PROCESS_OWNER))


def may_read_reports(user: SignedIn, case: Case, facts: CaseFacts) -> bool:
    """Reports hold every agency's information: whoever sees the case in full."""
    return case_view(user, case, facts) == "full"


def may_comment_on_drafts(user: SignedIn, case: Case, facts: CaseFacts) -> bool:
    """The final draft goes to the meeting's attendees and the statutory partners: whoever sees the case, in
    full or their agency's part, may comment on it in the app."""
    return case_view(user, case, facts) is not None


def may_edit_reports(user: SignedIn, case: Case, chair_has_account: bool) -> bool:
    """The Partnership Manager and the case's chair; the standing chair while none is appointed or the
    appointed one has no account (as for chair tasks, :func:`may_work_on`)."""
    if not same_partnership(user, case):
        return False
    if user.role == PARTNERSHIP_MANAGER or (case.chair_email and user.email == case.chair_email):
        return True
    return user.role == CHAIR and (not case.chair_email or not chair_has_account)


def may_work_on(user: SignedIn, task: HumanTask, case: Case, chair_has_account: bool) -> bool:
    """May ``user`` claim and complete ``task``? Nobody works on another partnership's tasks.

    The chair appointed for the case gets its chair tasks, whatever their standing role; the standing
    Independent Chair covers only when the appointed chair has no account in the case's partnership.
    """
    if task.role is None or not user.partnership_id == case.partnership_id == task.partnership_id:
        return False
    if task.role == CHAIR:
        if case.chair_email:
            if user.email == case.chair_email:
                return True
            return user.role == CHAIR and not chair_has_account
        return user.role == CHAIR
    if task.role == "statutory_partner":
        return user.role in LEADS
    if task.agency_id is not None and user.role in AGENCY_ROLES:
        return user.role == task.role and user.agency_id == task.agency_id
    return user.role == task.role


def may_see_task(user: SignedIn, task: HumanTask, case: Case, chair_has_account: bool) -> bool:
    """The task page: whoever may work on it, its assignee and the Partnership Manager, of its partnership."""
    if not same_partnership(user, case) or task.partnership_id != user.partnership_id:
        return False
    return (user.role == PARTNERSHIP_MANAGER or task.assignee == user.email
            or may_work_on(user, task, case, chair_has_account))


def may_release(user: SignedIn, task: HumanTask) -> bool:
    return task.assignee == user.email or user.role == PARTNERSHIP_MANAGER


def may_reassign(user: SignedIn) -> bool:
    return user.role in TASK_REASSIGNERS


def lists_all_cases(user: SignedIn) -> bool:
    """Whether the cases list shows every case of the partnership (before :func:`lists_case` judges each);
    agency staff see only those their agency has a task in, or that they chair."""
    return user.role in (*CASE_STAFF, ADMIN, PROCESS_OWNER)


def may_manage_agency_contacts(user: SignedIn) -> bool:
    return user.role in AGENCY_CONTACT_MANAGERS


def may_read_dashboard(user: SignedIn) -> bool:
    return user.role in DASHBOARD_READERS


def may_read_partnership_counts(user: SignedIn) -> bool:
    return user.role in COUNTS_READERS


def may_override_trials(user: SignedIn) -> bool:
    """Making a version active although its scenarios have not all passed, giving a reason."""
    return user.role == ADMIN


def may_move_demo_clock(user: SignedIn) -> bool:
    return user.role in DEMO_CLOCK_MOVERS


def may_read_outbox(user: SignedIn) -> bool:
    return user.role in OUTBOX_READERS


def may_read_versions(user: SignedIn) -> bool:
    return user.role in VERSION_READERS


def may_manage_users(user: SignedIn) -> bool:
    return user.role in USER_ADMINS


def navigation(user: SignedIn) -> dict[str, bool]:
    """Which of the service's areas the menu offers the person (every page shows it)."""
    return {"dashboard": may_read_dashboard(user) or may_read_partnership_counts(user),
            "outbox": may_read_outbox(user), "process": may_read_versions(user), "admin": may_manage_users(user)}


def may_start_cases(user: SignedIn) -> bool:
    return user.role in STARTERS


def may_change_versions(user: SignedIn) -> bool:
    return user.role in VERSION_OWNERS


def may_send_action(user: SignedIn, case: Case, facts: CaseFacts, sent_by: str | None) -> bool:
    """A case action (moving the meeting, say): the role the process names (``sentBy``), of the case's
    partnership, who sees the case in full. With no role named, nobody: an action must say who sends it."""
    return sent_by is not None and user.role == sent_by and case_view(user, case, facts) == "full"


def may_break_glass(user: SignedIn, case: Case) -> bool:
    return user.role == ADMIN and same_partnership(user, case)


def chair_has_account(session: Session, case: Case) -> bool:
    """Whether the chair appointed for ``case`` can sign in to the case's partnership."""
    if case.chair_email is None:
        return False
    return session.scalar(select(User.id).where(User.email == case.chair_email, User.active.is_(True),
                                                User.partnership_id == case.partnership_id)) is not None


def break_glass_until(session: Session, user: SignedIn, case: Case) -> datetime | None:
    """Until when the administrator's latest emergency access to ``case`` lasts; None if they have none."""
    if user.role != ADMIN:
        return None
    payload = session.scalar(select(AuditEvent.payload).where(
        AuditEvent.case_id == case.id, AuditEvent.type == "break_glass", AuditEvent.actor == user.email)
        .order_by(AuditEvent.id.desc()).limit(1))
    if not payload or "until" not in payload:
        return None
    return datetime.fromisoformat(str(payload["until"]))
