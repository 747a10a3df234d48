"""Access rules: every route declares who may use it, and a request to a route without one is refused.

``@allow("partnership_manager", "admin")`` names roles; ``@allow(SIGNED_IN)`` any signed-in user;
``@allow(PUBLIC)`` anyone. Finer checks (this agency's task, this case) happen in the view with the
worklist rules, and answer 404 so nobody learns what exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

PUBLIC = "public"
SIGNED_IN = "signed_in"
F = TypeVar("F", bound=Callable[..., Any])


def allow(*rule: str) -> Callable[[F], F]:
    if not rule:
        raise ValueError("allow() needs PUBLIC, SIGNED_IN or at least one role")

    def mark(view: F) -> F:
        view.access_rule = frozenset(rule)  # type: ignore[attr-defined]
        return view

    return mark


def rule_of(view: Callable[..., Any] | None) -> frozenset[str] | None:
    return getattr(view, "access_rule", None)


def permits(rule: frozenset[str], role: str | None) -> bool:
    if PUBLIC in rule:
        return True
    if role is None:
        return False
    return SIGNED_IN in rule or role in rule
