"""Staff accounts and agencies."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import pyotp
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from rapidreview import clock
from rapidreview.errors import Invalid, NotAllowed, NotFound
from rapidreview.runtime import Runtime
from rapidreview.services.people import partnerships
from rapidreview.services.people.roles import AGENCY_ROLES
from rapidreview.services.people.sign_in_throttle import (
    AccountLocked,
    LockoutPolicy,
    clear_account_failures,
    count_failure,
    locked_until,
    note_refusal,
    throttle_keys,
)
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import Agency, Partnership, User, WebSession

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
MIN_PASSWORD = 12
MAX_PASSWORD = 256
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
TOTP_ISSUER = "Rapid Review"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
AGENCY_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# scrypt with werkzeug's strong defaults; the test suite lowers the cost through this variable.
PASSWORD_METHOD = os.environ.get("RAPIDREVIEW_PASSWORD_HASH_METHOD", "scrypt")
# A hash to compare against when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password", method=PASSWORD_METHOD)


# Why a signed-in session ended (rapidreview.services.people.sessions); the sign-in page words each one.
SIGNED_OUT = "signed_out"
IDLE = "idle"
EXPIRED = "expired"
CREDENTIALS_CHANGED = "credentials_changed"
ENDED_BY_ADMIN = "ended_by_admin"
ACCOUNT_CLOSED = "account_closed"


def token_id(token: str) -> str:
    """A session's row id: the SHA-256 of its cookie token, so the table never holds a usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def end_sessions(session: Session, user_id: int, reason: str, *, keep_token: str | None = None) -> int:
    """End every open session of ``user_id`` (but the one of ``keep_token``) in the caller's transaction:
    changing how an account signs in, or closing it, signs it out everywhere."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    if keep_token is not None:
        query = query.where(WebSession.id != token_id(keep_token))
    result = session.execute(query.values(ended_at=clock.now(), ended_reason=reason, id_token_hint=None))
    return int(result.rowcount)  # type: ignore[attr-defined]


class PasswordSignInOff(NotAllowed):
    """The password was right, but the account's partnership signs in only through its identity provider."""


class UserError(Invalid):
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
    partnership_id: int  # every query the person's requests make is scoped to it
    must_change_password: bool = False  # an administrator's temporary password is in use
    credentials_changed_at: datetime | None = None  # sessions signed in before this end


def signed_in(user: User) -> SignedIn:
    return SignedIn(user.id, user.email, user.name, user.role, user.agency_id, user.partnership_id,
                    bool(user.must_change_password), user.credentials_changed_at)


def _partnership_id(session: Session, partnership_id: int | None) -> int:
    """The given partnership, which must exist, or the default one for callers that name none."""
    if partnership_id is None:
        return partnerships.default_id(session)
    if session.get(Partnership, partnership_id) is None:
        raise UserError("partnership", f"There is no partnership {partnership_id}")
    return partnership_id


def create_user(rt: Runtime, *, email: str, name: str, role: str, password: str, agency_id: str | None = None,
                actor: str = "system", partnership_id: int | None = None) -> SignedIn:
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
    problem = password_problem(password, email)
    if problem:
        raise UserError("password", problem)
    try:
        with transaction(rt.sessions) as session:
            partnership = _partnership_id(session, partnership_id)
            agency = session.get(Agency, agency_id) if agency_id else None
            # An agency of another partnership is as unknown as one that does not exist.
            if agency_id and (agency is None or agency.partnership_id != partnership):
                raise UserError("agency_id", f"There is no agency {agency_id!r}")
            user = User(email=email, name=name.strip(), role=role, agency_id=agency_id, active=True,
                        password_hash=generate_password_hash(password, method=PASSWORD_METHOD), created_at=clock.now(),
                        partnership_id=partnership)
            session.add(user)
            session.flush()
            audit.record(session, None, "user_created", actor=actor, user=email, role=role, agency=agency_id,
                         partnership=partnership)
            return signed_in(user)
    except IntegrityError:
        raise UserError("email", f"There is already an account for {email}") from None


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, email: str = "") -> str | None:
    """Why a new password is refused, or None. NCSC guidance: length and a deny-list, no composition
    rules and no forced expiry."""
    if len(password) < MIN_PASSWORD:
        return f"Password must be {MIN_PASSWORD} characters or more"
    if len(password) > MAX_PASSWORD:
        return f"Password must be {MAX_PASSWORD} characters or fewer"
    lowered = password.strip().lower()
    if lowered in common_passwords() or len(set(lowered)) < 3:
        return "Choose a less common password: this one is on a list of passwords that attackers try first"
    if email and lowered in (email.lower(), email.lower().split("@")[0]):
        return "Your password must not be your email address"
    return None


def authenticate(rt: Runtime, email: str, password: str, *, ip: str | None = None,
                 policy: LockoutPolicy | None = None) -> SignedIn | None:
    """The user for a correct e-mail and password, else None; :class:`AccountLocked` while the account or
    the IP address is cooling off after too many failures (even with the right password);
    :class:`PasswordSignInOff` when the account's partnership has turned password sign-in off."""
    policy = policy or LockoutPolicy()
    email = email.strip().lower()
    keys = throttle_keys(email, ip)
    locked: datetime | None = None
    password_off = False
    with transaction(rt.sessions) as session:
        locked = locked_until(session, keys)
        if locked is not None:
            check_password_hash(_DUMMY_HASH, password)
            note_refusal(session, keys, email, ip)
            result = None
        else:
            user = session.scalars(select(User).where(User.email == email)).first()
            if user is None or not user.active or not _partnership_active(session, user):
                check_password_hash(_DUMMY_HASH, password)
                count_failure(session, keys, policy, email)
                result = None
            elif not check_password_hash(user.password_hash, password):
                audit.record(session, None, "sign_in_failed", actor=user.email, ip=ip)
                count_failure(session, keys, policy, user.email)
                result = None
            elif not partnerships.password_sign_in_allowed(session, user.partnership_id):
                # Checked after the password, so the refusal tells nothing to someone who does not know it.
                audit.record(session, None, "sign_in_refused", actor=user.email, ip=ip, reason="password_sign_in_off")
                password_off = True
                result = None
            else:
                clear_account_failures(session, email)
                user.last_sign_in_at = clock.now()
                audit.record(session, None, "signed_in", actor=user.email, ip=ip)
                result = signed_in(user)
    if locked is not None:
        raise AccountLocked(locked)
    if password_off:
        raise PasswordSignInOff()
    return result


# Second factor: TOTP (RFC 6238), enrolled on first sign-in with a key typed into an authenticator app.


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str  # otpauth://totp/...: shown as text, for apps that take a pasted link
    enrolled: bool


def totp_enrolment(rt: Runtime, user_id: int) -> TotpEnrolment:
    """The user's key; a new one when they have not finished enrolling (or never started)."""
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id)
        if user is None:
            raise UserError("user", "There is no such user")
        if not user.totp_secret:
            user.totp_secret = pyotp.random_base32()
            audit.record(session, None, "totp_enrolment_started", actor=user.email)
        uri = pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)
        return TotpEnrolment(user.totp_secret, uri, user.totp_confirmed_at is not None)


def verify_totp(rt: Runtime, user_id: int, code: str, *, ip: str | None = None,
                policy: LockoutPolicy | None = None) -> SignedIn | None:
    """The user when ``code`` is this or the neighbouring 30-second code, not used before; else None.
    Wrong codes count towards the same lockout as wrong passwords."""
    policy = policy or LockoutPolicy()
    code = re.sub(r"\s+", "", code)
    locked: datetime | None = None
    result: SignedIn | None = None
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id, with_for_update=True)
        if user is None or not user.active or not user.totp_secret or not _partnership_active(session, user):
            return None
        keys = throttle_keys(user.email, ip)
        locked = locked_until(session, keys)
        if locked is None:
            totp = pyotp.TOTP(user.totp_secret)
            now = clock.now()
            step = _matching_step(totp, code, now)
            if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
                audit.record(session, None, "totp_failed", actor=user.email, ip=ip)
                count_failure(session, keys, policy, user.email)
            else:
                user.totp_last_step = step
                if user.totp_confirmed_at is None:
                    user.totp_confirmed_at = now
                    audit.record(session, None, "totp_enrolled", actor=user.email)
                clear_account_failures(session, user.email)
                audit.record(session, None, "totp_verified", actor=user.email, ip=ip)
                result = signed_in(user)
        else:
            note_refusal(session, keys, user.email, ip)
    if locked is not None:
        raise AccountLocked(locked)
    return result


def _matching_step(totp: pyotp.TOTP, code: str, now: datetime) -> int | None:
    if not re.fullmatch(r"\d{6}", code):
        return None
    step = int(now.timestamp()) // totp.interval
    for candidate in (step - 1, step, step + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(candidate), code):
            return candidate
    return None


def _partnership_active(session: Session, user: User) -> bool:
    partnership = session.get(Partnership, user.partnership_id)
    return partnership is not None and partnership.active


def get_user(session: Session, user_id: int) -> SignedIn | None:
    user = session.get(User, user_id)
    return signed_in(user) if user is not None and user.active and _partnership_active(session, user) else None


# Account recovery. A lost password or authenticator app is handled by the person's administrator, who
# checks who is asking outside the app first (docs/security.md); every change is audited and ends the
# account's other sessions.


def _own_user(session: Session, user_id: int, partnership_id: int | None) -> User:
    user = session.get(User, user_id)
    if user is None or (partnership_id is not None and user.partnership_id != partnership_id):
        raise UserError("user", "There is no such user")
    return user


def set_temporary_password(rt: Runtime, user_id: int, password: str, *, actor: str,
                           partnership_id: int | None = None) -> None:
    """An administrator gives a temporary password; the person must choose their own when they next sign
    in. Their failed-attempt lockout is lifted, since the reason for it is usually the lost password."""
    with transaction(rt.sessions) as session:
        user = _own_user(session, user_id, partnership_id)
        problem = password_problem(password, user.email)
        if problem:
            raise UserError("password", problem)
        user.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)
        user.must_change_password = True
        user.credentials_changed_at = clock.now()
        end_sessions(session, user.id, CREDENTIALS_CHANGED)
        clear_account_failures(session, user.email)
        audit.record(session, None, "password_reset", actor=actor, user=user.email)


def change_password(rt: Runtime, user_id: int, current: str, new: str, *, ip: str | None = None,
                    policy: LockoutPolicy | None = None, keep_token: str | None = None) -> SignedIn:
    """The person's own change: their current password, then a new one that passes the usual checks. Their
    other sessions end; the one of ``keep_token`` (where they made the change) carries on.

    A wrong current password counts as a failed sign-in, so a session left open cannot be used to guess it.
    """
    policy = policy or LockoutPolicy()
    wrong_current = False
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise UserError("current", "There is no such user")
        if not check_password_hash(user.password_hash, current):
            # Recorded and counted in this transaction, which then commits: the refusal comes after it.
            audit.record(session, None, "password_change_failed", actor=user.email, ip=ip)
            count_failure(session, throttle_keys(user.email, ip), policy, user.email)
            wrong_current = True
        else:
            problem = password_problem(new, user.email)
            if problem:
                raise UserError("new", problem)
            if check_password_hash(user.password_hash, new):
                raise UserError("new", "Choose a password different from your current one")
            user.password_hash = generate_password_hash(new, method=PASSWORD_METHOD)
            user.must_change_password = False
            user.credentials_changed_at = clock.now()
            end_sessions(session, user.id, CREDENTIALS_CHANGED, keep_token=keep_token)
            audit.record(session, None, "password_changed", actor=user.email, ip=ip)
            result = signed_in(user)
    if wrong_current:
        raise UserError("current", "Your current password is not correct")
    return result


def reset_two_factor(rt: Runtime, user_id: int, *, actor: str, partnership_id: int | None = None) -> None:
    """Forget the person's authenticator: at their next sign-in they set up a new one."""
    with transaction(rt.sessions) as session:
        user = _own_user(session, user_id, partnership_id)
        user.totp_secret, user.totp_confirmed_at, user.totp_last_step = None, None, None
        user.credentials_changed_at = clock.now()
        end_sessions(session, user.id, CREDENTIALS_CHANGED)
        audit.record(session, None, "totp_reset", actor=actor, user=user.email)


def named(session: Session, partnership_id: int, emails: list[str | None]) -> dict[str, str]:
    """How pages name people of the partnership: e-mail -> "Lee Authority, Local Authority lead" (someone
    with no account in it keeps their address)."""
    wanted = {e for e in emails if e}
    if not wanted:
        return {}
    found = {u.email: f"{u.name}, {ROLES.get(u.role, u.role)}" for u in session.scalars(
        select(User).where(User.partnership_id == partnership_id, User.email.in_(wanted)))}
    return {email: found.get(email, email) for email in wanted}


def list_users(session: Session, partnership_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.partnership_id == partnership_id)
                                .order_by(User.role, User.name)))


@dataclass(frozen=True)
class Account:
    """A person's account as the administrator's pages show it."""

    id: int
    email: str
    name: str
    role: str
    agency_id: str | None
    agency_name: str | None
    active: bool
    must_change_password: bool
    totp_confirmed_at: datetime | None
    last_sign_in_at: datetime | None


@dataclass(frozen=True)
class AgencyEntry:
    id: str
    name: str
    contact_email: str
    manager_email: str


def _account(user: User, agency_names: dict[str, str]) -> Account:
    return Account(id=user.id, email=user.email, name=user.name, role=user.role, agency_id=user.agency_id,
                   agency_name=agency_names.get(user.agency_id) if user.agency_id else None, active=user.active,
                   must_change_password=user.must_change_password, totp_confirmed_at=user.totp_confirmed_at,
                   last_sign_in_at=user.last_sign_in_at)


def accounts(rt: Runtime, partnership_id: int) -> list[Account]:
    """The partnership's accounts, by role then name."""
    with transaction(rt.sessions) as session:
        names = {a.id: a.name for a in list_agencies(session, partnership_id)}
        return [_account(u, names) for u in list_users(session, partnership_id)]


def account(rt: Runtime, user_id: int, partnership_id: int) -> Account:
    """One account of the partnership; another partnership's is not found."""
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id)
        if user is None or user.partnership_id != partnership_id:
            raise NotFound("There is no such user")
        agency = session.get(Agency, user.agency_id) if user.agency_id else None
        return _account(user, {agency.id: agency.name} if agency else {})


def agencies(rt: Runtime, partnership_id: int) -> list[AgencyEntry]:
    """The partnership's agencies, by name."""
    with transaction(rt.sessions) as session:
        return [AgencyEntry(a.id, a.name, a.contact_email, a.manager_email)
                for a in list_agencies(session, partnership_id)]


def set_active(rt: Runtime, user_id: int, active: bool, *, actor: str, partnership_id: int | None = None) -> None:
    """(De)activate an account; with ``partnership_id`` (an administrator's), only one of that partnership."""
    with transaction(rt.sessions) as session:
        user = _own_user(session, user_id, partnership_id)
        user.active = active
        if not active:
            end_sessions(session, user.id, ACCOUNT_CLOSED)
        audit.record(session, None, "user_activated" if active else "user_deactivated", actor=actor, user=user.email)


def save_agency(rt: Runtime, *, id: str, name: str, contact_email: str, manager_email: str, actor: str,
                partnership_id: int | None = None) -> None:
    """Add or change an agency of ``partnership_id`` (default: the default partnership). Agency IDs are unique
    in the deployment: an ID another partnership uses is refused, never taken over."""
    if not AGENCY_ID.match(id):
        raise UserError("id", "Enter a short ID of lower-case letters, digits, - or _ (like oak-school)")
    if not name.strip():
        raise UserError("name", "Enter the agency's name")
    for field, value in (("contact_email", contact_email), ("manager_email", manager_email)):
        if not EMAIL.match(value.strip()):
            raise UserError(field, "Enter an email address in the correct format, like name@example.com")
    with transaction(rt.sessions) as session:
        partnership = _partnership_id(session, partnership_id)
        agency = session.get(Agency, id) or Agency(id=id, active=True, partnership_id=partnership)
        if agency.partnership_id != partnership:
            raise UserError("id", "This ID is already in use. Choose another, for example with your area's name in it")
        agency.name, agency.contact_email, agency.manager_email = name.strip(), contact_email.strip(), manager_email.strip()
        session.add(agency)
        audit.record(session, None, "agency_saved", actor=actor, agency=id)


def list_agencies(session: Session, partnership_id: int) -> list[Agency]:
    return list(session.scalars(select(Agency).where(Agency.partnership_id == partnership_id).order_by(Agency.name)))
