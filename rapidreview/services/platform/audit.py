"""The audit trail: append-only, hash-chained events that the case timeline and the simulator read.

Each event stores ``prev_hash`` (the hash of the event before it in the whole table) and ``hash`` =
SHA-256(prev_hash + canonical JSON of the event). Changing, deleting or inserting a row breaks the chain
from there on, and :func:`verify` names the first broken event. The chain head (``audit_chain_head``,
one row) is read with ``SELECT ... FOR UPDATE``: a transaction that records an event holds that row
until it commits, so concurrent writers append one after another (PostgreSQL) and ids grow in chain
order. SQLite serialises writers anyway. The price: transactions that record events commit one at a
time; they are short. The head is locked, and the events chained, when the session flushes them (usually
at commit), not when they are recorded: a step holds the lock for its last few statements rather than
for its whole run, and its events go in one batched ``INSERT`` after one read of the head.

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
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.errors import RapidReviewError
from rapidreview.store.models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
HEAD_ID = 1


class AuditTampering(RapidReviewError, RuntimeError):
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


_PENDING = "audit_pending"  # session.info key: events recorded but not yet chained, in record order
_HEAD = "audit_head"  # session.info key: the head hash as this transaction, which holds its lock, last wrote it
_HEAD_TABLE = cast(Table, AuditChainHead.__table__)
# Built once: every step that records events runs both.
_LOCK_HEAD = select(_HEAD_TABLE.c.hash).where(_HEAD_TABLE.c.id == HEAD_ID).with_for_update()
_MOVE_HEAD = (update(_HEAD_TABLE).where(_HEAD_TABLE.c.id == HEAD_ID)
              .values(hash=bindparam("new_hash"), events=func.coalesce(_HEAD_TABLE.c.events, 0) + bindparam("added")))


def _locked_head_hash(session: Session) -> str:
    """The head's hash, locked until the transaction ends (read once per transaction, with plain SQL: the
    head is written with plain SQL too, so no ORM object of it goes through the flush)."""
    held = session.info.get(_HEAD)
    if held is not None:
        return str(held)
    connection = session.connection()
    found = connection.execute(_LOCK_HEAD).first()
    if found is None:  # a database made without the migrations (the migration inserts it)
        connection.execute(insert(_HEAD_TABLE).values(id=HEAD_ID, last_event_id=None, hash=GENESIS, events=0))
        return GENESIS
    return str(found.hash)


def record(session: Session, case_id: int | None, type_: str, *, actor: str = "system", **payload: Any) -> AuditEvent:
    """Add an event to the session; it is chained (``prev_hash``, ``hash``) when the session flushes it."""
    body = {k: v for k, v in payload.items() if v is not None}
    # The payload is stored as JSON; hash what will be read back (tuples become lists, and so on).
    body = json.loads(json.dumps(body, default=str))
    event = AuditEvent(case_id=case_id, at=clock.now(), type=type_, actor=actor, payload=body)
    session.add(event)  # added now, so queries that autoflush see it
    session.info.setdefault(_PENDING, []).append(event)
    return event


@sa_event.listens_for(Session, "before_flush")
def _chain_pending(session: Session, _context: Any, _instances: Any) -> None:
    """Lock the head and chain the events this flush inserts, in the order they were recorded."""
    pending: list[AuditEvent] = session.info.pop(_PENDING, [])
    new = session.new
    # An event expunged (or its savepoint rolled back) before this flush is not inserted: not chained.
    pending = [e for e in pending if e in new]
    if not pending:
        return
    prev = _locked_head_hash(session)
    for event in pending:
        event.prev_hash = prev
        event.hash = prev = event_hash(event, prev)
    session.connection().execute(_MOVE_HEAD, {"new_hash": prev, "added": len(pending)})
    session.info[_HEAD] = prev


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: Any) -> None:
    # After the transaction or a savepoint ends, the lock or the value may be gone: read the head again. (A
    # flush's own inner transaction, neither, ends with every flush and changes nothing of that.)
    if transaction.parent is None or transaction.nested:
        session.info.pop(_HEAD, None)
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


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
