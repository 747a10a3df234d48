"""Inviting agency staff who have no account yet, and accepting an invitation.

When a case's agency list names a contact or manager with no account in the partnership, the same step makes
them an account with the agency role for that agency only, unusable until they accept, and queues an invitation
e-mail (it names the case by reference, never the child) with a single-use link. The link expires after
``invitation_hours`` or at the close of the case's information-sharing window (Day 8, 09:00), whichever comes
first, and a newer invitation withdraws it. Accepting needs the link and the address it was sent to: a forwarded
link opened by someone else does not open the account. Only the SHA-256 of a link's token is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from rapidreview import clock
from rapidreview.calendar import clock_time, to_london
from rapidreview.errors import Conflict, NotFound
from rapidreview.forms import FieldError
from rapidreview.runtime import Runtime
from rapidreview.services.casework.case_mail import queue_case_email
from rapidreview.services.people import partnerships
from rapidreview.services.people.users import (
    EMAIL,
    PASSWORD_METHOD,
    ROLES,
    SignedIn,
    UserError,
    password_problem,
    signed_in,
)
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import Agency, Case, HumanTask, Invitation, User

INVITATION = "agency_invitation"
PRACTITIONER, MANAGER = "agency_practitioner", "agency_manager"
# Which address of an agency list row is invited to which role.
ROW_ROLES = (("contact_email", "contact_name", PRACTITIONER), ("manager_email", "manager_name", MANAGER))
# The information-sharing window closes on Day 8 at 09:00 (the `information_sharing_closed` timer): a link for a
# case lasts no longer than the window it was sent for.
WINDOW_CLOSES = (8, "09:00")
WRONG_ADDRESSES_ALLOWED = 5  # then the link is withdrawn: it is being tried by someone it was not sent to
NOT_USABLE = "!invited"  # the password hash of an account nobody has accepted yet: matches no password

VALID, USED, EXPIRED, WITHDRAWN, UNKNOWN, ELSEWHERE = (
    "valid",
    "used",
    "expired",
    "withdrawn",
    "unknown",
    "elsewhere",
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class InvitationProblem(Conflict):
    """The link cannot be used: ``state`` is used, expired, withdrawn or unknown."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


@dataclass(frozen=True)
class InvitationPage:
    """What the acceptance page may show: nothing about the case, only the person's own details."""

    state: str
    name: str = ""
    agency_name: str = ""
    role: str = ""
    expires_at: datetime | None = None
    partnership_id: int | None = None


def link_expiry(rt: Runtime, case: Case, now: datetime) -> datetime:
    """``invitation_hours`` from now, or the close of the case's information-sharing window if that is sooner
    (and still ahead: a manager invited later for a returned form gets the full period)."""
    full = now + timedelta(hours=rt.settings.invitation_hours)
    closes = rt.calendar.day_at(case.day_one, *WINDOW_CLOSES)
    return closes if now < closes < full else full


def invite_listed(
    rt: Runtime, session: Session, case: Case, rows: Sequence[Mapping[str, Any]], *, actor: str
) -> list[FieldError]:
    """In the agency list's step: invite each contact and manager the list names who has no account. Returns the
    addresses that cannot be invited (an account with another role, agency or partnership), at their fields."""
    errors: list[FieldError] = []
    for index, row in enumerate(rows):
        agency = session.get(Agency, str(row.get("id", "")))
        if agency is None:
            continue
        for email_key, name_key, role in ROW_ROLES:
            email = str(row.get(email_key, "")).strip().lower()
            if not email:
                continue
            problem = _account_problem(session, email, role, agency)
            if problem:
                errors.append(FieldError(f"agencies/{index}/{email_key}", problem))
                continue
            invite(
                rt,
                session,
                email=email,
                name=str(row.get(name_key) or ""),
                role=role,
                agency=agency,
                case=case,
                actor=actor,
            )
    return errors


def _account_problem(session: Session, email: str, role: str, agency: Agency) -> str | None:
    if not EMAIL.match(email):
        return "Enter an email address in the correct format, like name@example.com"
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        return None
    if user.partnership_id != agency.partnership_id:
        return f"{email} cannot be invited to this partnership: name someone else, or ask your administrator"
    if user.agency_id != agency.id or user.role != role:
        where = f" of {_agency_name(session, user.agency_id)}" if user.agency_id else ""
        return (
            f"{email} already has an account as {ROLES.get(user.role, user.role)}{where}. Name someone else, "
            "or ask your administrator"
        )
    if not user.active and user.invited_at is None:
        return f"The account for {email} is closed. Name someone else, or ask your administrator to open it"
    return None


def _agency_name(session: Session, agency_id: str | None) -> str:
    agency = session.get(Agency, agency_id) if agency_id else None
    return agency.name if agency is not None else str(agency_id)


def invite(
    rt: Runtime,
    session: Session,
    *,
    email: str,
    name: str,
    role: str,
    agency: Agency,
    case: Case,
    actor: str,
) -> Invitation | None:
    """In the caller's transaction: the account for ``email`` (made if missing, reopened if it lapsed) and, unless
    it is already in use, a new invitation that withdraws the person's earlier ones. None: nothing to send."""
    now = clock.now()
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is not None and user.active and not user.awaiting_acceptance:
        return None  # they can sign in already: the task e-mail tells them the rest
    if user is None:
        user = User(
            email=email,
            name=name.strip() or email,
            role=role,
            agency_id=agency.id,
            active=True,
            password_hash=NOT_USABLE,
            created_at=now,
            partnership_id=agency.partnership_id,
            invited_by=actor,
            invited_at=now,
        )
        session.add(user)
        session.flush()
        _record_invited(session, actor, email, role, agency, case)
    elif not user.active:  # lapsed: named again, so invited again, and accepts afresh
        user.active, user.lapsed_at, user.accepted_at = True, None, None
        user.password_hash, user.invited_by, user.invited_at = NOT_USABLE, actor, now
        user.totp_secret, user.totp_confirmed_at, user.totp_last_step = None, None, None
        _record_invited(session, actor, email, role, agency, case, again=True)
    return _send(rt, session, user, agency, case, actor, now)


def _record_invited(session: Any, actor: str, email: str, role: str, agency: Any, case: Any, *,
                    again: bool = False) -> None:
    audit.record(session, None, "user_invited", actor=actor, user=email, role=role, agency=agency.id,
                 partnership=agency.partnership_id, case=case.id, again=again or None)


def _send(
    rt: Runtime, session: Session, user: User, agency: Agency, case: Case, actor: str, now: datetime
) -> Invitation:
    session.execute(
        update(Invitation)
        .where(Invitation.user_id == user.id, Invitation.used_at.is_(None), Invitation.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        user_id=user.id,
        partnership_id=user.partnership_id,
        case_id=case.id,
        token_hash=token_hash(token),
        invited_by=actor,
        created_at=now,
        expires_at=link_expiry(rt, case, now),
    )
    session.add(invitation)
    session.flush()
    settings = partnerships.settings_for(rt, session, user.partnership_id)
    expires = (
        f"{clock_time(invitation.expires_at)} on {to_london(invitation.expires_at).strftime('%A %-d %B %Y')}"
    )
    context = {
        "name": user.name if user.name != user.email else "",
        "case": {"reference": case.reference},
        "agency": {"name": agency.name},
        "link": f"{rt.settings.base_url.rstrip('/')}/invitation/{token}",
        "partnership_name": settings.partnership_name,
        "invitation": {
            "role": user.role,
            "expires": expires,
            "contact_email": settings.partnership_contact_email,
            "providers": [p.label for p in rt.settings.oidc_providers],
        },
    }
    queue_case_email(rt, session, case, INVITATION, context, to=[user.email],
                     tags={"invitation": invitation.id, "agency": agency.id})
    audit.record(
        session,
        case.id,
        "invitation_sent",
        actor=actor,
        user=user.email,
        agency=agency.id,
        role=user.role,
        expires=invitation.expires_at.isoformat(),
    )
    return invitation


def _find(session: Session, token: str) -> Invitation | None:
    if not token or len(token) > 200:
        return None
    return session.scalars(select(Invitation).where(Invitation.token_hash == token_hash(token))).first()


def _state(invitation: Invitation | None, user: User | None, now: datetime) -> str:
    if invitation is None or user is None:
        return UNKNOWN
    if invitation.used_at is not None:
        return USED
    if invitation.withdrawn_at is not None:
        return WITHDRAWN
    if invitation.expires_at <= now or not user.active:
        return EXPIRED
    return VALID


def page(rt: Runtime, token: str, signed_in_as: SignedIn | None = None) -> InvitationPage:
    """What the link's page may show. A person signed in as someone else is told the link is not theirs."""
    with transaction(rt.sessions) as session:
        invitation = _find(session, token)
        user = session.get(User, invitation.user_id) if invitation is not None else None
        state = _state(invitation, user, clock.now())
        if invitation is None or user is None:
            return InvitationPage(UNKNOWN)
        if state == VALID and signed_in_as is not None and signed_in_as.id != user.id:
            audit.record(
                session,
                None,
                "invitation_refused",
                actor=signed_in_as.email,
                user=user.email,
                reason="signed_in_as_someone_else",
            )
            state = ELSEWHERE
        return InvitationPage(
            state,
            user.name if user.name != user.email else "",
            _agency_name(session, user.agency_id),
            user.role,
            invitation.expires_at,
            user.partnership_id,
        )


def accept(
    rt: Runtime, token: str, *, email: str, name: str, password: str, ip: str | None = None
) -> SignedIn:
    """Set the invited person's name and password: the link is used up and the account can sign in.
    :class:`InvitationProblem` when the link cannot be used; :class:`UserError` for what to correct."""
    email = email.strip().lower()
    with transaction(rt.sessions) as session:
        invitation = _find(session, token)
        if invitation is not None:
            session.refresh(invitation, with_for_update=True)  # two tabs submitting at once: one wins
        user = session.get(User, invitation.user_id) if invitation is not None else None
        state = _state(invitation, user, clock.now())
        if state != VALID or invitation is None or user is None:
            raise InvitationProblem(state)
        if email != user.email:
            invitation.wrong_addresses += 1
            audit.record(
                session,
                None,
                "invitation_refused",
                actor=email or "unknown",
                user=user.email,
                reason="wrong_address",
                ip=ip,
            )
            if invitation.wrong_addresses >= WRONG_ADDRESSES_ALLOWED:
                invitation.withdrawn_at = clock.now()
                audit.record(
                    session,
                    None,
                    "invitation_withdrawn",
                    actor="system",
                    user=user.email,
                    reason="too_many_wrong_addresses",
                )
            wrong = True
        else:
            wrong = False
            if not name.strip():
                raise UserError("name", "Enter your full name")
            problem = password_problem(password, user.email)
            if problem:
                raise UserError("password", problem)
            now = clock.now()
            user.name, user.password_hash = (
                name.strip()[:200],
                generate_password_hash(password, method=PASSWORD_METHOD),
            )
            user.accepted_at, user.credentials_changed_at = now, now
            invitation.used_at = now
            audit.record(
                session,
                invitation.case_id,
                "invitation_accepted",
                actor=user.email,
                agency=user.agency_id,
                how="password",
                ip=ip,
            )
            result = signed_in(user)
    if wrong:
        raise UserError("email", "Enter the email address this invitation was sent to")
    return result


def accepted_through_provider(session: Session, user: User, provider: str) -> None:
    """An invited person signed in with their organisation's account (its verified address is theirs): their
    invitation is used up as if they had set a password."""
    if not user.awaiting_acceptance:
        return
    now = clock.now()
    user.accepted_at = now
    for invitation in session.scalars(
        select(Invitation).where(
            Invitation.user_id == user.id, Invitation.used_at.is_(None), Invitation.withdrawn_at.is_(None)
        )
    ):
        invitation.used_at = now
    audit.record(session, None, "invitation_accepted", actor=user.email, agency=user.agency_id, how=provider)


_Row = TypeVar("_Row", Case, User, Agency)


def _own(session: Session, kind: type[_Row], key: object, partnership_id: int) -> _Row | None:
    """The row of ``kind`` with ``key`` if it belongs to ``partnership_id``: another partnership's is not found."""
    row = session.get(kind, key)
    return row if row is not None and row.partnership_id == partnership_id else None


def resend(rt: Runtime, case_id: int, user_id: int, *, actor: str, partnership_id: int) -> str:
    """A new link for an invited person who has not accepted (the old one stops working). Returns their address."""
    with transaction(rt.sessions) as session:
        case, user = _own(session, Case, case_id, partnership_id), _own(session, User, user_id, partnership_id)
        if case is None or user is None:
            raise NotFound("no such invitation")
        agency = session.get(Agency, user.agency_id) if user.agency_id else None
        if agency is None:
            raise NotFound("no such invitation")
        if not user.awaiting_acceptance and user.active:
            raise UserError("user", f"{user.name} has already accepted: they can sign in")
        if not user.active:
            user.active, user.lapsed_at = True, None
        _send(rt, session, user, agency, case, actor, clock.now())
        return user.email


def change_contact(
    rt: Runtime,
    case_id: int,
    agency_id: str,
    role: str,
    *,
    email: str,
    name: str,
    actor: str,
    partnership_id: int,
) -> str:
    """The agency's contact (or manager) for this case is someone else: they are invited (unless they have an
    account for the agency already), the agency's register entry takes the new address, and the agency's open
    task claimed by the previous person goes back to the agency, so the new person can take it."""
    email = email.strip().lower()
    if role not in (PRACTITIONER, MANAGER):
        raise UserError("role", "Select whether this is the contact or the manager")
    if not EMAIL.match(email):
        raise UserError("email", "Enter an email address in the correct format, like name@example.com")
    with transaction(rt.sessions) as session:
        case, agency = _own(session, Case, case_id, partnership_id), _own(session, Agency, agency_id, partnership_id)
        if case is None or agency is None:
            raise NotFound("no such agency")
        problem = _account_problem(session, email, role, agency)
        if problem:
            raise UserError("email", problem)
        previous = agency.contact_email if role == PRACTITIONER else agency.manager_email
        if role == PRACTITIONER:
            agency.contact_email = email
        else:
            agency.manager_email = email
        for task in session.scalars(
            select(HumanTask).where(
                HumanTask.case_id == case.id,
                HumanTask.agency_id == agency.id,
                HumanTask.role == role,
                HumanTask.state == "ready",
            )
        ):
            if task.assignee and task.assignee != email:
                audit.record(
                    session,
                    case.id,
                    "task_released",
                    actor=actor,
                    task=task.id,
                    id=task.element_id,
                    previous=task.assignee,
                    reason="contact_changed",
                )
                task.assignee = None
        audit.record(
            session,
            case.id,
            "agency_contact_changed",
            actor=actor,
            agency=agency.id,
            role=role,
            previous=previous,
            to=email,
        )
        invite(rt, session, email=email, name=name, role=role, agency=agency, case=case, actor=actor)
        return email
