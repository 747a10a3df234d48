"""The audit trail: append-only, hash-chained events that the case timeline and the simulator read.

Each event stores ``prev_hash`` (the hash of the event before it in the whole table) and ``hash`` =
SHA-256(prev_hash + canonical JSON of the event). Changing, deleting or inserting a row breaks the chain
from there on, and :func:`verify` names the first broken event. The chain head (``audit_chain_head``,
one row) is read with ``SELECT ... FOR UPDATE``: a transaction that records an event holds that row
until it commits, so concurrent writers append one after another (PostgreSQL) and ids grow in chain
order. SQLite serialises writers anyway. The price: transactions that record events commit one at a
time; they are short.

What it cannot show: someone with database rights who rewrites the whole chain from a point on and the
head with it. Export the trail (``rapidreview audit export``) regularly to storage they cannot write,
and compare the head hash against the last export.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.store.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
HEAD_ID = 1


class AuditTampering(RuntimeError):
    """Something tried to change or delete an audit event."""


def canonical(case_id: int | None, at: datetime, type_: str, actor: str, payload: dict[str, Any]) -> str:
    """The event as it is hashed: sorted keys, no spaces, UTC time to the microsecond."""
    return json.dumps({"case_id": case_id, "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
                       "type": type_, "actor": actor, "payload": payload},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def event_hash(event: AuditEvent, prev_hash: str) -> str:
    return chain_hash(prev_hash, canonical(event.case_id, event.at, event.type, event.actor, event.payload or {}))


def _head(session: Session) -> AuditChainHead:
    head = session.scalars(select(AuditChainHead).where(AuditChainHead.id == HEAD_ID).with_for_update()).first()
    if head is None:  # a database made without the migrations (the migration inserts it)
        head = AuditChainHead(id=HEAD_ID, last_event_id=None, hash=GENESIS, events=0)
        session.add(head)
    return head


def record(session: Session, case_id: int | None, type_: str, *, actor: str = "system", **payload: Any) -> AuditEvent:
    body = {k: v for k, v in payload.items() if v is not None}
    # The payload is stored as JSON; hash what will be read back (tuples become lists, and so on).
    body = json.loads(json.dumps(body, default=str))
    at = clock.now()
    head = _head(session)
    prev = head.hash
    digest = chain_hash(prev, canonical(case_id, at, type_, actor, body))
    event = AuditEvent(case_id=case_id, at=at, type=type_, actor=actor, payload=body, prev_hash=prev, hash=digest)
    session.add(event)
    head.hash = digest
    head.events = (head.events or 0) + 1
    return event


@sa_event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise AuditTampering(f"audit event {target.id} may not be changed: the audit trail is append-only")


@sa_event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper: Any, _connection: Any, target: AuditEvent) -> None:
    raise AuditTampering(f"audit event {target.id} may not be deleted: the audit trail is append-only")


@dataclass(frozen=True)
class Verification:
    events: int
    broken_event_id: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.broken_event_id is None and not self.reason


def verify(session: Session, batch: int = 1000) -> Verification:
    """Walk the whole chain in id order; stop at the first event whose links or hash do not match."""
    prev = GENESIS
    count = 0
    last_id: int | None = None
    for row in _iter_events(session, batch):
        count += 1
        if row.prev_hash != prev:
            return Verification(count, row.id, f"event {row.id} ({row.type}): its prev_hash does not match the "
                                               "event before it (an event was removed or inserted)")
        if row.hash != event_hash(row, prev):
            return Verification(count, row.id, f"event {row.id} ({row.type}): its content does not match its hash "
                                               "(the event was changed)")
        prev = row.hash
        last_id = row.id
    head = session.get(AuditChainHead, HEAD_ID)
    if head is not None and head.hash != prev:
        return Verification(count, None, f"the chain head does not match the last event ({last_id}): "
                                         "events at the end were removed")
    return Verification(count, None, "")


def _iter_events(session: Session, batch: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = list(session.scalars(select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(batch)))
        if not rows:
            return
        yield from rows
        after = rows[-1].id
        session.expunge_all()


def as_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "case_id": event.case_id, "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "type": event.type, "actor": event.actor, "payload": event.payload, "prev_hash": event.prev_hash,
            "hash": event.hash}


def export(session: Session, case_id: int | None = None, batch: int = 1000) -> Iterator[dict[str, Any]]:
    """Every event (or one case's) as a dict, in order: one JSON line each in ``rapidreview audit export``."""
    if case_id is None:
        for row in _iter_events(session, batch):
            yield as_json(row)
        return
    for row in session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)):
        yield as_json(row)
