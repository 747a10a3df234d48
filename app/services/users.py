"""Staff accounts and agencies."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from app import clock
from app.services import audit
from app.services.runtime import Runtime
from app.store.db import transaction
from app.store.models import Agency, User

ROLES: dict[str, str] = {
    "partnership_manager": "Partnership Manager",
    "independent_chair": "Independent Chair",
    "la_lead": "Local Authority lead",
    "police_lead": "Police (MPS) lead",
    "icb_lead": "Integrated Care Board lead",
    "la_officer": "Local Authority officer",
    "agency_practitioner": "Agency practitioner",
    "agency_manager": "Agency manager",
    "process_owner": "Process owner",
    "admin": "Administrator",
}
AGENCY_ROLES = ("agency_practitioner", "agency_manager")
MIN_PASSWORD = 12
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# scrypt with werkzeug's strong defaults; the test suite lowers the cost through this variable.
PASSWORD_METHOD = os.environ.get("RAPIDREVIEW_PASSWORD_HASH_METHOD", "scrypt")
# A hash to compare against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password", method=PASSWORD_METHOD)


class UserError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class SignedIn:
    id: int
    email: str
    name: str
    role: str
    agency_id: str | None


def _signed_in(user: User) -> SignedIn:
    return SignedIn(user.id, user.email, user.name, user.role, user.agency_id)


def create_user(rt: Runtime, *, email: str, name: str, role: str, password: str, agency_id: str | None = None,
                actor: str = "system") -> SignedIn:
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise UserError("email", "Enter an email address in the correct format, like name@example.com")
    if not name.strip():
        raise UserError("name", "Enter the person's name")
    if role not in ROLES:
        raise UserError("role", f"Select a role ({', '.join(ROLES)})")
    if role in AGENCY_ROLES and not agency_id:
        raise UserError("agency_id", "Select the person's agency: agency practitioners and managers belong to one agency")
    if role not in AGENCY_ROLES:
        agency_id = None
    if len(password) < MIN_PASSWORD:
        raise UserError("password", f"Password must be {MIN_PASSWORD} characters or more")
    try:
        with transaction(rt.sessions) as session:
            if agency_id and session.get(Agency, agency_id) is None:
                raise UserError("agency_id", f"There is no agency {agency_id!r}")
            user = User(email=email, name=name.strip(), role=role, agency_id=agency_id, active=True,
                        password_hash=generate_password_hash(password, method=PASSWORD_METHOD), created_at=clock.now())
            session.add(user)
            session.flush()
            audit.record(session, None, "user_created", actor=actor, user=email, role=role, agency=agency_id)
            return _signed_in(user)
    except IntegrityError:
        raise UserError("email", f"There is already an account for {email}") from None


def authenticate(rt: Runtime, email: str, password: str) -> SignedIn | None:
    with transaction(rt.sessions) as session:
        user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
        if user is None or not user.active:
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(user.password_hash, password):
            audit.record(session, None, "sign_in_failed", actor=user.email)
            return None
        user.last_sign_in_at = clock.now()
        audit.record(session, None, "signed_in", actor=user.email)
        return _signed_in(user)


def get_user(session: Session, user_id: int) -> SignedIn | None:
    user = session.get(User, user_id)
    return _signed_in(user) if user is not None and user.active else None


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.name)))


def set_active(rt: Runtime, user_id: int, active: bool, *, actor: str) -> None:
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id)
        if user is None:
            raise UserError("user", "There is no such user")
        user.active = active
        audit.record(session, None, "user_activated" if active else "user_deactivated", actor=actor, user=user.email)


def users_count(session: Session) -> int:
    return int(session.scalar(select(func.count(User.id))) or 0)


def save_agency(rt: Runtime, *, id: str, name: str, contact_email: str, manager_email: str, actor: str) -> None:
    if not AGENCY_ID.match(id):
        raise UserError("id", "Enter a short ID of lower-case letters, digits, - or _ (like oak-school)")
    if not name.strip():
        raise UserError("name", "Enter the agency's name")
    for field, value in (("contact_email", contact_email), ("manager_email", manager_email)):
        if not EMAIL.match(value.strip()):
            raise UserError(field, "Enter an email address in the correct format, like name@example.com")
    with transaction(rt.sessions) as session:
        agency = session.get(Agency, id) or Agency(id=id, active=True)
        agency.name, agency.contact_email, agency.manager_email = name.strip(), contact_email.strip(), manager_email.strip()
        session.add(agency)
        audit.record(session, None, "agency_saved", actor=actor, agency=id)


def list_agencies(session: Session) -> list[Agency]:
    return list(session.scalars(select(Agency).order_by(Agency.name)))
