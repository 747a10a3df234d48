"""Telling people a task is theirs, and that it is overdue.

When a user task becomes ready, each person who may do it (its appointed chair, the holders of its role in the
case's partnership, the agency's own staff) is told, in one e-mail that names the case by reference only, never
the child: at once, or in one digest at 08:00 London time for people who chose that. Where nobody holds the
role yet, the role's mailbox or the agency's contact in the case hears instead, so a task is never silent.
A task still open at its due time is reported once to whoever holds it (or its role) and the Partnership
Manager.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.calendar import clock_time, london_time, to_london
from rapidreview.errors import Invalid, NotFound
from rapidreview.mail.templates import render_email_parts
from rapidreview.runtime import Runtime
from rapidreview.services.casework.case_mail import queue_case_email
from rapidreview.services.definitions import version_templates
from rapidreview.services.people import invitations, partnerships, policy
from rapidreview.services.people.users import signed_in
from rapidreview.services.platform import audit, outbox
from rapidreview.store.db import transaction
from rapidreview.store.models import Agency, Case, DigestItem, HumanTask, Invitation, User

YOUR_TURN, OVERDUE, DIGEST = "your_turn", "task_overdue", "task_digest"
IMMEDIATE = "immediate"
DIGEST_AT = "08:00"
NOTIFY_CHOICES = {IMMEDIATE: "An e-mail for each task, as soon as it is yours",
                  "digest": "One e-mail a day at 8am, listing the tasks that became yours"}


def holders(session: Session, case: Case, task: HumanTask) -> list[User]:
    """Active people of the case's partnership who may work on ``task`` (services.policy decides)."""
    has_account = policy.chair_has_account(session, case)
    people = session.scalars(select(User).where(User.partnership_id == case.partnership_id, User.active.is_(True))
                             .order_by(User.id))
    return [u for u in people if policy.may_work_on(signed_in(u), task, case, has_account)]


def _fallback(rt: Runtime, session: Session, case: Case, task: HumanTask, agency: Mapping[str, Any] | None) -> list[str]:
    """Where to write when nobody holds the task: the agency's own contact, the appointed chair, the role's mailbox."""
    if agency:
        key = "manager_email" if task.role == "agency_manager" else "contact_email"
        return [str(agency[key])] if agency.get(key) else []
    if task.role == policy.CHAIR and case.chair_email:
        return [case.chair_email]
    settings = partnerships.settings_for(rt, session, case.partnership_id)
    if task.role == "statutory_partner":
        return [a for r in policy.LEADS if (a := settings.role_mailboxes.get(r))]
    address = settings.role_mailboxes.get(task.role or "")
    return [address] if address else []


def _context(rt: Runtime, session: Session, case: Case, task: HumanTask) -> dict[str, Any]:
    due = None
    if task.due_at is not None:
        local = to_london(task.due_at)
        due = {"at": f"{clock_time(task.due_at)} on {local.strftime('%A %-d %B %Y')}",
               "day": rt.calendar.case_day(case.day_one, task.due_at)}
    base = rt.settings.base_url.rstrip("/")
    return {"case": {"reference": case.reference, "day": rt.calendar.case_day(case.day_one, clock.now()),
                     "deadline": case.deadline.strftime("%A %-d %B %Y")},
            "task": {"name": task.name, "agency": task.agency_name, "partner": task.partner, "due": due,
                     "link": f"{base}/tasks/{task.id}"},
            "partnership_name": partnerships.settings_for(rt, session, case.partnership_id).partnership_name}


def _queue(rt: Runtime, session: Session, case: Case, template: str, to: list[str], cc: list[str],
           context: dict[str, Any], task: HumanTask, purpose: str) -> None:
    queue_case_email(rt, session, case, template, context, to=to, cc=[a for a in cc if a not in to], purpose=purpose,
                     tags={"task": task.element_id, "task_id": task.id})


def tell_task_ready(rt: Runtime, session: Session, case: Case, task: HumanTask, agency: Mapping[str, Any] | None) -> None:
    """In the step's transaction: tell whoever may do the new ``task`` (at once, or in the next digest)."""
    everyone = holders(session, case, task)
    # Invited people who have not accepted hear from their invitation, which a task of theirs renews once it
    # has lapsed; the task e-mail's link would only meet a sign-in they cannot pass yet.
    people = [u for u in everyone if not u.awaiting_acceptance]
    _renew_invitations(rt, session, case, task, [u for u in everyone if u.awaiting_acceptance])
    now = clock.now()
    immediate = [u.email for u in people if u.notify_by != "digest"]
    for user in (u for u in people if u.notify_by == "digest"):
        session.add(DigestItem(user_id=user.id, task_id=task.id, case_id=case.id, kind=YOUR_TURN, created_at=now))
    if not everyone:
        immediate = _fallback(rt, session, case, task, agency)
    if immediate:
        # One e-mail a person: each is told it is theirs to do, so nobody sees who else was told.
        context = _context(rt, session, case, task)
        for address in immediate:
            _queue(rt, session, case, YOUR_TURN, [address], [], context, task, YOUR_TURN)


def _renew_invitations(rt: Runtime, session: Session, case: Case, task: HumanTask, waiting: list[User]) -> None:
    now = clock.now()
    for user in waiting:
        newest = session.scalars(select(Invitation).where(Invitation.user_id == user.id)
                                 .order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(1)).first()
        usable = newest is not None and newest.used_at is None and newest.withdrawn_at is None and newest.expires_at > now
        agency = session.get(Agency, user.agency_id) if user.agency_id else None
        if not usable and agency is not None:
            invitations.invite(rt, session, email=user.email, name=user.name, role=user.role or "", agency=agency,
                               case=case, actor="system")


def tell_overdue(rt: Runtime, session: Session, case: Case, task: HumanTask) -> None:
    """In the step's transaction: ``task`` is past its due time; its holder and the Partnership Manager hear, once."""
    if task.assignee:
        to = [task.assignee]
    else:
        to = [u.email for u in holders(session, case, task)] or _fallback(rt, session, case, task, None)
    settings = partnerships.settings_for(rt, session, case.partnership_id)
    managers = [u.email for u in session.scalars(select(User).where(
        User.partnership_id == case.partnership_id, User.role == policy.PARTNERSHIP_MANAGER, User.active.is_(True)))]
    cc = managers or ([settings.role_mailboxes["partnership_manager"]] if settings.role_mailboxes.get("partnership_manager") else [])
    task.overdue_alerted_at = clock.now()
    audit.record(session, case.id, "task_overdue", id=task.element_id, name=task.name, task=task.id,
                 due=task.due_at.isoformat() if task.due_at else None, agency=task.agency_id, partner=task.partner)
    if to or cc:
        _queue(rt, session, case, OVERDUE, to or cc, cc, _context(rt, session, case, task), task, OVERDUE)


def overdue_tasks(session: Session, case_id: int, now: datetime) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(
        HumanTask.case_id == case_id, HumanTask.state == "ready", HumanTask.due_at <= now,
        HumanTask.overdue_alerted_at.is_(None)).order_by(HumanTask.due_at, HumanTask.id)))


def next_overdue(session: Session, case_id: int) -> datetime | None:
    """When the case's next open task falls overdue, for the case's wake-up time."""
    return session.scalar(select(HumanTask.due_at).where(
        HumanTask.case_id == case_id, HumanTask.state == "ready", HumanTask.due_at.is_not(None),
        HumanTask.overdue_alerted_at.is_(None)).order_by(HumanTask.due_at).limit(1))


# -- the daily digest -------------------------------------------------------------------------------------------

def next_digest_time(rt: Runtime, now: datetime) -> datetime:
    today = london_time(to_london(now).date(), DIGEST_AT)
    return today if today > now else london_time(to_london(now).date() + timedelta(days=1), DIGEST_AT)


def send_due_digests(rt: Runtime) -> datetime | None:
    """At or after 08:00 London time, one e-mail to each person with tasks waiting in their digest. Returns when
    to run next. Several schedulers may run it: each person's items are claimed with their rows locked."""
    now = clock.now()
    today = london_time(to_london(now).date(), DIGEST_AT)
    # The digest of 08:00 covers what became someone's before 08:00; later tasks wait for the next one.
    cutoff = today if now >= today else london_time(to_london(now).date() - timedelta(days=1), DIGEST_AT)
    unsent = (DigestItem.sent_at.is_(None)) & (DigestItem.created_at < cutoff)
    with transaction(rt.sessions) as session:
        user_ids = list(session.scalars(select(DigestItem.user_id).where(unsent).distinct()))
    for user_id in user_ids:
        with transaction(rt.sessions) as session:
            items = list(session.scalars(select(DigestItem).where(DigestItem.user_id == user_id, unsent)
                                         .with_for_update(skip_locked=True)))
            user = session.get(User, user_id)
            if not items or user is None:
                continue
            rows = []
            for item in items:
                item.sent_at = now
                task, case = session.get(HumanTask, item.task_id), session.get(Case, item.case_id)
                if task is None or case is None or task.state != "ready" or not user.active:
                    continue  # done (or no longer theirs) before the digest went: nothing to say
                rows.append(_context(rt, session, case, task))
            if rows:
                # A digest spans cases: it is worded by the version new cases start on.
                mail = render_email_parts(version_templates.active_folder(rt, session), DIGEST, {
                    "tasks": rows, "name": user.name,
                    "partnership_name": partnerships.settings_for(rt, session, user.partnership_id).partnership_name})
                outbox.queue(session, rt, case_id=None, template=DIGEST, to=[user.email], subject=mail.subject,
                             body=mail.text, body_html=mail.html, purpose=DIGEST, tags={"tasks": len(rows)})
    return next_digest_time(rt, now)


def preference(rt: Runtime, user_id: int) -> str:
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id)
        return user.notify_by if user is not None else IMMEDIATE


def set_preference(rt: Runtime, user_id: int, choice: str) -> None:
    if choice not in NOTIFY_CHOICES:
        raise Invalid("Select how you want to hear about your tasks")
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("There is no such user")
        user.notify_by = choice
        audit.record(session, None, "notifications_changed", actor=user.email, notify_by=choice)
