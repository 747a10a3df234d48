"""Partnerships: one deployment serves many safeguarding partnerships, each seeing only its own work.

Staff, agencies and cases belong to one partnership; task rows carry their case's. Every query a person's
request makes is scoped to the signed-in person's partnership (docs/security.md). Migration 0008 puts
everything that existed before partnerships into the one with code ``default``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.config import DEFAULT_ROLE_MAILBOXES, Settings
from rapidreview.errors import Invalid
from rapidreview.runtime import Runtime
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import Partnership, User

DEFAULT_CODE = "default"
CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAILBOX_ROLES = tuple(DEFAULT_ROLE_MAILBOXES)  # partnership_manager, independent_chair and the three leads


class PartnershipError(Invalid):
    pass


@dataclass(frozen=True)
class PartnershipInfo:
    id: int
    code: str
    name: str
    active: bool
    created_at: datetime


def _info(row: Partnership) -> PartnershipInfo:
    return PartnershipInfo(row.id, row.code, row.name, row.active, row.created_at)


def id_for_code(session: Session, code: str) -> int:
    """The partnership's id; :class:`PartnershipError` naming the known codes when there is none."""
    found = session.scalar(select(Partnership.id).where(Partnership.code == code.strip().lower()))
    if found is None:
        known = ", ".join(session.scalars(select(Partnership.code).order_by(Partnership.code)))
        raise PartnershipError(f"there is no partnership {code!r} (known: {known or 'none'}); "
                               "add it with `rapidreview partnership add CODE NAME`")
    return found


def default_id(session: Session) -> int:
    """The ``default`` partnership's id: what callers that name no partnership (the simulator, the demo,
    existing scripts) use."""
    return id_for_code(session, DEFAULT_CODE)


def add_partnership(rt: Runtime, code: str, name: str, *, actor: str) -> PartnershipInfo:
    code = code.strip().lower()
    if not CODE.match(code):
        raise PartnershipError("a partnership code is 1 to 40 lower-case letters, digits, - or _ (like northbridge)")
    if not name.strip():
        raise PartnershipError("enter the partnership's name")
    with transaction(rt.sessions) as session:
        if session.scalar(select(Partnership.id).where(Partnership.code == code)) is not None:
            raise PartnershipError(f"there is already a partnership {code!r}")
        row = Partnership(code=code, name=name.strip(), active=True, created_at=clock.now())
        session.add(row)
        session.flush()
        audit.record(session, None, "partnership_added", actor=actor, partnership=code, name=row.name)
        return _info(row)


def set_active(rt: Runtime, code: str, active: bool, *, actor: str) -> None:
    """An inactive partnership's people cannot sign in; its data stays (retention applies as ever)."""
    with transaction(rt.sessions) as session:
        row = session.get(Partnership, id_for_code(session, code))
        assert row is not None
        row.active = active
        audit.record(session, None, "partnership_activated" if active else "partnership_deactivated", actor=actor,
                     partnership=row.code)


def list_partnerships(rt: Runtime) -> list[PartnershipInfo]:
    with transaction(rt.sessions) as session:
        return [_info(p) for p in session.scalars(select(Partnership).order_by(Partnership.code))]


def partnership_name(session: Session, partnership_id: int) -> str:
    row = session.get(Partnership, partnership_id)
    return row.name if row is not None else ""


# What a partnership's documents and e-mails say and where they go. The default partnership (every
# deployment's first) takes them from the deployment's settings (RAPIDREVIEW_PARTNERSHIP_NAME, the role
# mailboxes); any other takes its own, so no partnership's mail ever reaches another's mailboxes.


def display_name(rt: Runtime, session: Session, partnership_id: int | None) -> str:
    """The name pages show: the deployment's setting for the default partnership, its own for any other."""
    row = session.get(Partnership, partnership_id) if partnership_id is not None else None
    return rt.settings.partnership_name if row is None or row.code == DEFAULT_CODE else row.name


def contact_email(rt: Runtime, partnership_id: int | None) -> str:
    """Where people of ``partnership_id`` are told to write (say, for a new invitation link)."""
    with transaction(rt.sessions) as session:
        return settings_for(rt, session, partnership_id).partnership_contact_email


def settings_for(rt: Runtime, session: Session | None, partnership_id: int | None) -> Settings:
    """The deployment's settings as one partnership sees them: its name, contact and role mailboxes.

    A role without a mailbox in the partnership's profile goes to that partnership's own active people with
    the role (the first, by account age); with nobody, to no one: never to the deployment's mailbox.
    """
    if session is None:
        with transaction(rt.sessions) as own:
            return settings_for(rt, own, partnership_id)
    row = session.get(Partnership, partnership_id) if partnership_id is not None else None
    if row is None or row.code == DEFAULT_CODE:
        return rt.settings
    profile = row.profile or {}
    configured = profile.get("mailboxes") or {}
    mailboxes = {}
    for role in MAILBOX_ROLES:
        address = configured.get(role) or session.scalar(
            select(User.email).where(User.partnership_id == row.id, User.role == role, User.active.is_(True))
            .order_by(User.id).limit(1))
        mailboxes[role] = address or ""
    return rt.settings.with_(partnership_name=row.name,
                             partnership_contact_name=profile.get("contact_name") or "Partnership Manager",
                             role_mailboxes=mailboxes)


def password_sign_in_allowed(session: Session, partnership_id: int) -> bool:
    """Whether the partnership's people may sign in with a password, or only through their organisation's
    identity provider (``rapidreview partnership set CODE --password-sign-in off``)."""
    row = session.get(Partnership, partnership_id)
    return row is None or (row.profile or {}).get("password_sign_in", True) is not False


def set_profile(rt: Runtime, code: str, *, actor: str, name: str | None = None, contact_name: str | None = None,
                mailboxes: dict[str, str] | None = None, password_sign_in: bool | None = None) -> None:
    """Change a partnership's name, contact name or role mailboxes (an empty address removes one), or whether
    its people may sign in with a password."""
    unknown = sorted(set(mailboxes or {}) - set(MAILBOX_ROLES))
    if unknown:
        raise PartnershipError(f"no mailbox role {', '.join(unknown)} (roles: {', '.join(MAILBOX_ROLES)})")
    for role, address in (mailboxes or {}).items():
        if address and not EMAIL.match(address):
            raise PartnershipError(f"{role}: {address!r} is not an e-mail address")
    if name is not None and not name.strip():
        raise PartnershipError("enter the partnership's name")
    with transaction(rt.sessions) as session:
        row = session.get(Partnership, id_for_code(session, code))
        assert row is not None
        if row.code == DEFAULT_CODE and (contact_name is not None or mailboxes):
            raise PartnershipError("the default partnership's name and mailboxes are the deployment's settings "
                                   "(RAPIDREVIEW_PARTNERSHIP_NAME, RAPIDREVIEW_MAILBOX_<ROLE>): set them there")
        profile = dict(row.profile or {})
        if contact_name is not None:
            profile["contact_name"] = contact_name.strip()
        if password_sign_in is not None:
            profile["password_sign_in"] = password_sign_in
        if mailboxes:
            boxes = {**(profile.get("mailboxes") or {}), **{r: a.strip().lower() for r, a in mailboxes.items()}}
            profile["mailboxes"] = {r: a for r, a in boxes.items() if a}
        row.profile = profile
        if name is not None:
            row.name = name.strip()
        audit.record(session, None, "partnership_changed", actor=actor, partnership=row.code, name=row.name,
                     profile=profile)


# People every Rapid Review Meeting of the partnership invites, besides the case's own (seed: Local Authority
# Legal Services, the Designated Health Professionals, the Principal Child and Family Social Worker).
STANDING_MEETING_ROLES = ("Local Authority Legal Services", "Designated Doctor for Safeguarding Children",
                          "Designated Nurse for Safeguarding Children", "Principal Child and Family Social Worker")
MAX_MEETING_CONTACTS = 20


@dataclass(frozen=True)
class MeetingContact:
    role: str
    name: str
    email: str
    organisation: str


def meeting_contacts(session: Session, partnership_id: int) -> list[MeetingContact]:
    row = session.get(Partnership, partnership_id)
    listed = ((row.profile or {}) if row is not None else {}).get("meeting_contacts") or []
    return [MeetingContact(c.get("role", ""), c.get("name", ""), c.get("email", ""), c.get("organisation", ""))
            for c in listed if isinstance(c, dict)]


def set_meeting_contacts(rt: Runtime, partnership_id: int, contacts: list[MeetingContact], *, actor: str) -> None:
    """Replace the partnership's standing meeting invitees. A row with no e-mail is left out; a row with one
    needs a role and a name. :class:`PartnershipError` names the first problem, with the row's number."""
    kept: list[dict[str, str]] = []
    for number, c in enumerate(contacts, 1):
        if not (c.email.strip() or c.name.strip()):
            continue
        if not EMAIL.match(c.email.strip()):
            raise PartnershipError(f"row {number}: enter an e-mail address in the correct format, like name@example.com")
        if not c.role.strip():
            raise PartnershipError(f"row {number}: enter the person's role in the meeting")
        if not c.name.strip():
            raise PartnershipError(f"row {number}: enter the person's name")
        kept.append({"role": c.role.strip()[:200], "name": c.name.strip()[:200], "email": c.email.strip().lower(),
                     "organisation": c.organisation.strip()[:200]})
    if len(kept) > MAX_MEETING_CONTACTS:
        raise PartnershipError(f"a partnership can have up to {MAX_MEETING_CONTACTS} standing meeting invitees")
    with transaction(rt.sessions) as session:
        row = session.get(Partnership, partnership_id)
        if row is None:
            raise PartnershipError("there is no such partnership")
        row.profile = {**(row.profile or {}), "meeting_contacts": kept}
        audit.record(session, None, "meeting_contacts_changed", actor=actor, partnership=row.code,
                     contacts=[c["role"] for c in kept])


def standing_meeting_contacts(rt: Runtime, partnership_id: int) -> list[MeetingContact]:
    """The invitees for the admin page: those saved, then an empty row for each standing role not yet filled,
    then two spare rows."""
    with transaction(rt.sessions) as session:
        saved = meeting_contacts(session, partnership_id)
    roles = {c.role for c in saved}
    rows = saved + [MeetingContact(role, "", "", "") for role in STANDING_MEETING_ROLES if role not in roles]
    return rows + [MeetingContact("", "", "", "")] * 2
