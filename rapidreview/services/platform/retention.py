"""Retention: how long each kind of record is kept, legal holds, exporting a case and purging expired ones.

Periods come from the environment (``RAPIDREVIEW_RETAIN_<KIND>_DAYS``) with the defaults below; a case's
clock starts when it closed (submitted to the National Panel, or not commissioned). Open cases never
expire. A case on legal hold is never purged. Purging removes the case row, its tasks, outbox messages,
documents and their files; the audit trail keeps its events (ids and types, no documents) because the
hash chain must stay whole: see docs/security.md.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.errors import Invalid
from rapidreview.runtime import Runtime
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import (
    AuditEvent,
    Case,
    DigestItem,
    Document,
    DraftComment,
    HumanTask,
    Invitation,
    OutboxMessage,
)

# Working Together 2023 leaves periods to local policy; partnerships commonly keep review records for
# years. These are starting points for the partnership's records manager to set, not advice.
DEFAULT_DAYS: dict[str, int] = {
    "case": 6 * 365,  # a closed case with its tasks, documents and outbox
    "audit": 7 * 365,  # the audit trail (not purged by this release: see docs/security.md)
    "outbox_sent": 2 * 365,  # e-mail bodies of sent messages (purged with their case)
}
CLOSED = ("submitted", "not_commissioned")


class RetentionError(Invalid):
    pass


@dataclass(frozen=True)
class RetentionPolicy:
    days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_DAYS))

    def period(self, kind: str) -> timedelta:
        return timedelta(days=self.days[kind])

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RetentionPolicy:
        env = os.environ if environ is None else environ
        days = dict(DEFAULT_DAYS)
        for kind in DEFAULT_DAYS:
            name = f"RAPIDREVIEW_RETAIN_{kind.upper()}_DAYS"
            if name in env:
                try:
                    days[kind] = int(env[name])
                except ValueError:
                    raise RetentionError(f"{name} must be a whole number of days, not {env[name]!r}") from None
                if days[kind] < 1:
                    raise RetentionError(f"{name} must be at least 1")
        return cls(days)


def closed_at(case: Case) -> datetime | None:
    if case.status not in CLOSED:
        return None
    return case.submitted_at or case.updated_at


def expired_cases(session: Session, policy: RetentionPolicy, now: datetime | None = None) -> list[Case]:
    now = now or clock.now()
    cutoff = now - policy.period("case")
    rows = session.scalars(select(Case).where(Case.status.in_(CLOSED), Case.legal_hold.is_(False)).order_by(Case.id))
    return [c for c in rows if (closed := closed_at(c)) is not None and closed <= cutoff]


def set_legal_hold(rt: Runtime, reference: str, hold: bool, *, actor: str, reason: str = "") -> None:
    with transaction(rt.sessions) as session:
        case = _case(session, reference)
        case.legal_hold = hold
        audit.record(session, case.id, "legal_hold_set" if hold else "legal_hold_lifted", actor=actor,
                     reason=reason or None)


def _case(session: Session, reference: str) -> Case:
    case = session.scalars(select(Case).where(Case.reference == reference)).first()
    if case is None:
        raise RetentionError(f"there is no case {reference!r}")
    return case


def _row(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in obj.__table__.columns:
        value = getattr(obj, column.key)
        out[column.key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def export_case(rt: Runtime, reference: str, target: Path, *, actor: str) -> Path:
    """Write ``case.json`` (the case, tasks, documents' details, outbox, audit events) and the document files
    into the folder ``target`` (made; must be empty); as a .zip when ``target`` ends in .zip."""
    as_zip = target.suffix == ".zip"
    folder = target.with_suffix("") if as_zip else target
    if folder.exists() and any(folder.iterdir()):
        raise RetentionError(f"{folder} is not empty")
    with transaction(rt.sessions) as session:
        case = _case(session, reference)
        tasks = session.scalars(select(HumanTask).where(HumanTask.case_id == case.id).order_by(HumanTask.id))
        docs = list(session.scalars(select(Document).where(Document.case_id == case.id).order_by(Document.id)))
        mail = session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id).order_by(OutboxMessage.id))
        events = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id))
        data = {"exported_at": clock.now().astimezone(UTC).isoformat(), "exported_by": actor,
                "case": {k: v for k, v in _row(case).items() if k != "workflow_json"},
                "tasks": [_row(t) for t in tasks], "documents": [_row(d) for d in docs],
                "outbox": [_row(m) for m in mail], "audit": [audit.as_json(e) for e in events]}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "case.json").write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        for doc in docs:
            source = rt.settings.documents_dir / doc.path
            if source.is_file():
                dest = folder / "documents" / f"{doc.id}-{Path(doc.path).name}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
        audit.record(session, case.id, "case_exported", actor=actor, documents=len(docs),
                     to="zip" if as_zip else "folder")
    if as_zip:
        archive = shutil.make_archive(str(folder), "zip", root_dir=folder)
        shutil.rmtree(folder)
        return Path(archive)
    return folder


@dataclass(frozen=True)
class Purged:
    reference: str
    documents: int


def purge_expired(rt: Runtime, *, actor: str, policy: RetentionPolicy | None = None,
                  dry_run: bool = False) -> list[Purged]:
    """Delete each expired case without a legal hold, with its rows and files; one transaction per case.
    Files are removed after the commit, so a failed purge leaves the case whole (at worst a stray file)."""
    policy = policy or RetentionPolicy.from_environment()
    with transaction(rt.sessions) as session:
        references = [c.reference for c in expired_cases(session, policy)]
    done: list[Purged] = []
    for reference in references:
        if dry_run:
            done.append(Purged(reference, 0))
            continue
        with transaction(rt.sessions) as session:
            case = _case(session, reference)
            if case.legal_hold or case not in expired_cases(session, policy):
                continue  # held or reopened since the list was made
            paths = [rt.settings.documents_dir / p for p in
                     session.scalars(select(Document.path).where(Document.case_id == case.id))]
            session.execute(delete(Document).where(Document.case_id == case.id))
            session.execute(delete(OutboxMessage).where(OutboxMessage.case_id == case.id))
            # An invitation outlives the case that prompted it: the account's history keeps who invited whom.
            session.execute(update(Invitation).where(Invitation.case_id == case.id).values(case_id=None))
            # Rows that point at the case's tasks, or at it, go before them (PostgreSQL enforces the keys).
            session.execute(delete(DigestItem).where(DigestItem.case_id == case.id))
            session.execute(delete(DraftComment).where(DraftComment.case_id == case.id))
            session.execute(delete(HumanTask).where(HumanTask.case_id == case.id))
            audit.record(session, case.id, "case_purged", actor=actor, reference=case.reference,
                         documents=len(paths), retention_days=policy.days["case"])
            session.delete(case)
        for path in paths:
            path.unlink(missing_ok=True)
        done.append(Purged(reference, len(paths)))
    return done
