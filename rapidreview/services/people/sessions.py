"""Signed-in sessions, held on the server.

The browser's cookie (Flask's signed session) carries a random token; the server keeps a row per session,
keyed by the token's SHA-256, with when it began, when it was last used and when it must end. A session is
signed in only while its row says so: signing out, the idle and absolute limits, a changed password or
authenticator, a deactivated account and an administrator each end the row, so a copy of the cookie replayed
afterwards opens nothing. Rows are kept a while after they end, so the sign-in page can say why a session
ended and an unsent answer can be kept for the person it belonged to (docs/security.md).

Flask-Session would keep whole sessions server-side, but cannot list or end one person's sessions, which
administrators need; anonymous visitors (the sign-in form) keep their short-lived state in the signed cookie
and create no rows, so nobody can fill the table without a password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from rapidreview import clock
from rapidreview.errors import NotFound
from rapidreview.runtime import Runtime
from rapidreview.services.people import partnerships
from rapidreview.services.people.users import (
    ACCOUNT_CLOSED,
    ENDED_BY_ADMIN,
    EXPIRED,
    IDLE,
    SIGNED_OUT,
    SignedIn,
    get_user,
    token_id,
)
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import User, WebSession

# last_seen_at is written at most this often per session: one write a minute instead of one per request,
# at the price of the idle limit being up to this much late.
TOUCH_EVERY = timedelta(seconds=60)
KEEP_ENDED = timedelta(days=30)  # ended rows explain "why was I signed out?", then go


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=10)


@dataclass(frozen=True)
class Resolved:
    """What a request's token stands for: a signed-in person, or why not (and whose it was)."""

    user: SignedIn | None
    ended_reason: str | None = None
    owner_id: int | None = None  # whose session it is or was; None for an unknown token
    ends_at: datetime | None = None  # when it ends if nothing more happens (idle or absolute, the sooner)
    partnership_name: str | None = None  # the name the signed-in person's pages carry


@dataclass(frozen=True)
class ActiveSession:
    id: str  # the row id (a hash, never the token)
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class ProviderSession:
    """The identity provider a session was signed in through, and the ID token it issued then: signing out
    sends the token back as the hint that ends the provider's session too."""

    provider: str
    id_token: str = field(repr=False)


def start(rt: Runtime, user_id: int, limits: SessionLimits, *, ip: str | None, user_agent: str | None,
          provider: ProviderSession | None = None) -> str:
    """A new session for ``user_id``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    with transaction(rt.sessions) as session:
        session.add(WebSession(id=token_id(token), user_id=user_id, created_at=now, last_seen_at=now,
                               expires_at=now + limits.absolute, ip=ip, user_agent=(user_agent or "")[:300] or None,
                               identity_provider=provider.provider if provider else None,
                               id_token_hint=provider.id_token if provider else None))
        # Each sign-in tidies its own account's old rows: the table stays the size of the active staff.
        session.execute(delete(WebSession).where(WebSession.user_id == user_id,
                                                 WebSession.ended_at < now - KEEP_ENDED))
    return token


def resolve(rt: Runtime, token: str, limits: SessionLimits, *, touch: bool = True) -> Resolved:
    """Who ``token`` signs in, ending its session first if a limit has passed.

    ``touch=False`` reads without counting as activity: the timeout warning asks how long is left, and asking
    must not itself keep the session alive."""
    now = clock.now()
    with transaction(rt.sessions) as session:
        row = session.get(WebSession, token_id(token))
        if row is None:
            return Resolved(None)
        if row.ended_at is not None:
            return Resolved(None, row.ended_reason, row.user_id)
        reason = EXPIRED if now >= row.expires_at else IDLE if now - row.last_seen_at >= limits.idle else None
        user = get_user(session, row.user_id) if reason is None else None
        if reason is None and user is None:
            reason = ACCOUNT_CLOSED
        if reason is not None:
            _end(row, reason, now)
            return Resolved(None, reason, row.user_id)
        if touch and now - row.last_seen_at >= touch_every(limits):
            row.last_seen_at = now
        assert user is not None
        return Resolved(user, None, row.user_id, min(row.last_seen_at + limits.idle, row.expires_at),
                        partnerships.display_name(rt, session, user.partnership_id))


def touch_every(limits: SessionLimits) -> timedelta:
    """How stale last_seen_at may be: a minute, or a quarter of a short idle limit, so activity always counts."""
    return min(TOUCH_EVERY, limits.idle / 4)


def person(rt: Runtime, user_id: int) -> SignedIn | None:
    """The account ``user_id`` as it is now (None when closed): whose an ended session was."""
    with transaction(rt.sessions) as session:
        return get_user(session, user_id)


def keep_alive(rt: Runtime, token: str, limits: SessionLimits) -> datetime | None:
    """"Stay signed in": the session's idle clock starts again now. Returns when it now ends, or None
    when it has already ended."""
    now = clock.now()
    with transaction(rt.sessions) as session:
        row = session.get(WebSession, token_id(token))
        if row is None or row.ended_at is not None or now >= row.expires_at or now - row.last_seen_at >= limits.idle:
            return None
        row.last_seen_at = now
        return min(now + limits.idle, row.expires_at)


def end(rt: Runtime, token: str, reason: str = SIGNED_OUT) -> ProviderSession | None:
    """End the session; returns the identity provider it was signed in through, if any, so the caller can
    end the provider's session too."""
    with transaction(rt.sessions) as session:
        row = session.get(WebSession, token_id(token))
        if row is None or row.ended_at is not None:
            return None
        provider = (ProviderSession(row.identity_provider, row.id_token_hint)
                    if row.identity_provider and row.id_token_hint else None)
        _end(row, reason, clock.now())
        return provider


def _end(row: WebSession, reason: str, now: datetime) -> None:
    row.ended_at, row.ended_reason = now, reason
    row.id_token_hint = None  # an ended row is kept a while; the provider's token is not


def active_sessions(rt: Runtime, user_id: int, limits: SessionLimits) -> list[ActiveSession]:
    """The person's sessions that are still open, newest first (for their administrator)."""
    now = clock.now()
    with transaction(rt.sessions) as session:
        rows = session.scalars(select(WebSession).where(
            WebSession.user_id == user_id, WebSession.ended_at.is_(None), WebSession.expires_at > now,
            WebSession.last_seen_at > now - limits.idle).order_by(WebSession.created_at.desc()))
        return [ActiveSession(r.id, r.created_at, r.last_seen_at, r.expires_at, r.ip, r.user_agent) for r in rows]


def end_for_admin(rt: Runtime, user_id: int, session_id: str | None, *, actor: str, partnership_id: int) -> int:
    """An administrator ends one of a person's sessions (``session_id``) or all of them (None); audited.
    Returns how many ended. A person of another partnership is as unknown as one who does not exist."""
    with transaction(rt.sessions) as session:
        user = session.get(User, user_id)
        if user is None or user.partnership_id != partnership_id:
            raise NotFound("There is no such user")
        query = update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        if session_id is not None:
            query = query.where(WebSession.id == session_id)
        result = session.execute(query.values(ended_at=clock.now(), ended_reason=ENDED_BY_ADMIN, id_token_hint=None))
        ended = int(result.rowcount)  # type: ignore[attr-defined]
        if ended:
            audit.record(session, None, "sessions_ended", actor=actor, user=user.email, sessions=ended)
        return ended
