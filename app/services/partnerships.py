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

from app import clock
from app.services import audit
from app.services.runtime import Runtime
from app.store.db import transaction
from app.store.models import Partnership

DEFAULT_CODE = "default"
CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class PartnershipError(ValueError):
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
