"""Without a password nobody can grow the audit trail or the throttle table without bound, and the lockout holds."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.people import users
from rapidreview.services.people.demo import seed_demo
from rapidreview.services.people.sign_in_throttle import AccountLocked, LockoutPolicy
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, SignInThrottle

POLICY = LockoutPolicy()


def _events(runtime: Runtime) -> dict[str, int]:
    with transaction(runtime.sessions) as session:
        return dict(session.execute(select(AuditEvent.type, func.count()).group_by(AuditEvent.type)).all())


def _throttle_rows(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(SignInThrottle)) or 0)


def _attempt(runtime: Runtime, email: str, password: str, ip: str) -> str:
    try:
        return "signed in" if users.authenticate(runtime, email, password, ip=ip, policy=POLICY) else "refused"
    except AccountLocked:
        return "locked"


def test_refused_attempts_during_a_lockout_are_audited_once_and_summarised_with_their_count(
        runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    seed_demo(runtime)
    for _ in range(POLICY.account_failures):
        _attempt(runtime, "pm@demo.example", "wrong password!", "203.0.113.1")
    before = _events(runtime)
    outcomes = [_attempt(runtime, "pm@demo.example", "wrong password!", f"203.0.113.{n % 40 + 2}") for n in range(300)]
    assert set(outcomes) == {"locked"}
    # The right password is refused too while the account is locked: the lockout is not weakened.
    assert _attempt(runtime, "pm@demo.example", "rapid-review-demo", "203.0.113.99") == "locked"
    after = _events(runtime)
    assert after.get("sign_in_refused_locked", 0) - before.get("sign_in_refused_locked", 0) == 1
    assert sum(after.values()) - sum(before.values()) == 1
    virtual_clock.set(virtual_clock.now() + POLICY.cooling_off + timedelta(seconds=1))
    assert _attempt(runtime, "pm@demo.example", "rapid-review-demo", "203.0.113.99") == "signed in"
    with transaction(runtime.sessions) as session:
        summary = session.scalars(select(AuditEvent).where(AuditEvent.type == "sign_in_refusals_summarised")).one()
        assert summary.payload["refused"] == 301 and summary.payload["identifier"] == "pm@demo.example"


def test_invented_addresses_leave_no_lasting_rows_or_events(runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    seed_demo(runtime)
    before = sum(_events(runtime).values())
    for n in range(400):  # a distributed attempt: every address and e-mail new
        _attempt(runtime, f"nobody{n}@evil.example", "guess guess guess", f"198.51.{n // 200}.{n % 200}")
    assert sum(_events(runtime).values()) == before  # unknown accounts add no events
    assert _throttle_rows(runtime) == 800  # each counts for its window...
    virtual_clock.set(virtual_clock.now() + POLICY.window + timedelta(minutes=1))
    # Each new failure tidies up to PRUNE_BATCH stale rows, more than any failure adds: they go as failures come.
    _attempt(runtime, "someone@evil.example", "guess guess guess", "192.0.2.1")
    _attempt(runtime, "someone.else@evil.example", "guess guess guess", "192.0.2.2")
    assert _throttle_rows(runtime) == 4
