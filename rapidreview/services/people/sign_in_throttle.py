"""Failed sign-ins, counted per account and per address, and the lockout they lead to.

Counts live in a database table so every web worker sees the same. What anyone can cause without a password
is bounded: while a key is locked, refused attempts are counted on its row and audited once per lock (the
first refusal, then one summary with the count when the lock is over), and rows whose window and lock have
passed are removed as new failures arrive, so a stream of invented e-mail addresses cannot grow the table or
the audit trail without limit. The lockout itself is as strict as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.errors import NotAllowed
from rapidreview.services.platform import audit
from rapidreview.store.models import SignInThrottle

PRUNE_BATCH = 500  # rows tidied per failure: enough to keep up with any rate the lockout lets through


@dataclass(frozen=True)
class LockoutPolicy:
    """Failed sign-ins (password or second factor) counted per account and per IP address; past the limit
    the key is locked for ``cooling_off``."""

    account_failures: int = 5
    ip_failures: int = 50
    window: timedelta = timedelta(minutes=15)
    cooling_off: timedelta = timedelta(minutes=15)


class AccountLocked(NotAllowed):
    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__(f"locked until {until.isoformat()}")


Key = tuple[str, str]  # (kind, key): ("account", "account:a@b.example") or ("ip", "ip:203.0.113.9")


def throttle_keys(email: str, ip: str | None) -> list[Key]:
    keys = [("account", f"account:{email.strip().lower()}")]
    if ip:
        keys.append(("ip", f"ip:{ip}"))
    return keys


def locked_until(session: Session, keys: list[Key]) -> datetime | None:
    now = clock.now()
    until = [row.locked_until for _kind, key in keys if (row := session.get(SignInThrottle, key)) is not None
             and row.locked_until is not None and row.locked_until > now]
    return max(until) if until else None


def note_refusal(session: Session, keys: list[Key], actor: str, ip: str | None) -> None:
    """An attempt refused because a key is locked: audited once per lock, counted on the row otherwise."""
    now = clock.now()
    for kind, key in keys:
        row = session.get(SignInThrottle, key, with_for_update=True)
        if row is None or row.locked_until is None or row.locked_until <= now:
            continue
        row.refused = (row.refused or 0) + 1
        if row.refused == 1:
            audit.record(session, None, "sign_in_refused_locked", actor=actor, ip=ip, key=kind,
                         until=row.locked_until.isoformat())


def count_failure(session: Session, keys: list[Key], policy: LockoutPolicy, actor: str) -> None:
    now = clock.now()
    _prune(session, now, policy)
    for kind, key in keys:
        row = session.get(SignInThrottle, key, with_for_update=True)
        if row is None:
            row = SignInThrottle(key=key, failures=0, refused=0, window_started_at=now)
            session.add(row)
        if row.locked_until is not None and row.locked_until <= now:
            _lock_over(session, row)
        if now - row.window_started_at > policy.window:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        limit = policy.account_failures if kind == "account" else policy.ip_failures
        if row.failures >= limit:
            row.locked_until = now + policy.cooling_off
            row.failures, row.window_started_at, row.refused = 0, now, 0
            audit.record(session, None, "sign_in_locked", actor=actor, key=kind, until=row.locked_until.isoformat())


def clear_account_failures(session: Session, email: str) -> None:
    row = session.get(SignInThrottle, f"account:{email}")
    if row is not None:
        if row.locked_until is not None:
            _lock_over(session, row)
        row.failures = 0


def _lock_over(session: Session, row: SignInThrottle) -> None:
    """Close a lock's record: how many attempts it refused after the first (which was audited then)."""
    if (row.refused or 0) > 1:
        audit.record(session, None, "sign_in_refusals_summarised", key=row.key.split(":", 1)[0],
                     identifier=row.key.split(":", 1)[1], refused=row.refused,
                     until=row.locked_until.isoformat() if row.locked_until else None)
    row.locked_until, row.refused = None, 0


def _prune(session: Session, now: datetime, policy: LockoutPolicy) -> None:
    """Remove rows that no longer count: their window has passed and they are not locked."""
    stale = (SignInThrottle.window_started_at < now - policy.window) & or_(
        SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until <= now)
    rows = list(session.scalars(select(SignInThrottle).where(stale).limit(PRUNE_BATCH).with_for_update(skip_locked=True)))
    for row in rows:
        if row.locked_until is not None:
            _lock_over(session, row)
    if rows:
        session.flush()
        session.execute(delete(SignInThrottle).where(SignInThrottle.key.in_([r.key for r in rows])))
