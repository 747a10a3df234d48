"""The audit trail: append-only events that the case timeline and the simulator read."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app import clock
from app.store.models import AuditEvent


def record(session: Session, case_id: int | None, type_: str, *, actor: str = "system", **payload: Any) -> AuditEvent:
    event = AuditEvent(case_id=case_id, at=clock.now(), type=type_, actor=actor,
                       payload={k: v for k, v in payload.items() if v is not None})
    session.add(event)
    return event
