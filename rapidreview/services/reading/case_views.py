"""What the cases list and the case page show, with each role's view of it."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, defer

from rapidreview import clock
from rapidreview.errors import Invalid, NotAllowed, NotFound
from rapidreview.runtime import Runtime
from rapidreview.services.people import invited_access, partnerships, policy
from rapidreview.services.people.users import ROLES, SignedIn
from rapidreview.services.platform import audit
from rapidreview.services.reading import case_progress
from rapidreview.services.reading.case_progress import Progress
from rapidreview.services.reading.snapshots import snapshot, snapshots
from rapidreview.store.db import transaction
from rapidreview.store.models import (
    AuditEvent,
    Case,
    Document,
    HumanTask,
    OutboxMessage,
    ProcessFile,
    ProcessVersion,
    User,
)

# Staff see every case of their partnership in full whatever the facts, so the list does not look them up.
_STAFF_FACTS = policy.CaseFacts(agency_has_task=False, holds_task=False, break_glass_until=None)
FILTERS = {"open": "Open", "late": "Late", "submitted": "Submitted", "not_commissioned": "Not commissioned"}
# What agency staff may see of a case: their own tasks, nothing about other agencies or the report.
AGENCY_EVENT_TYPES = ("task_ready", "task_completed", "task_cancelled", "timer_fired", "status_changed", "case_started")


@dataclass(frozen=True)
class CaseRow:
    case: Case
    day: int
    late: bool
    can_open: bool  # administrators and process owners see the list, not what is behind it


def _late(rt: Runtime, case: Case, now: datetime) -> bool:
    end = rt.calendar.day_at(case.day_one, 15, "23:59")
    if case.submitted_at is not None:
        return case.submitted_at > end
    return case.status == "open" and now > end


def list_cases(rt: Runtime, user: SignedIn, status_filter: str | None) -> tuple[list[CaseRow], float | None]:
    """Visible cases of the person's partnership (newest first) and the on-time rate of its submitted ones."""
    now = clock.now()
    with transaction(rt.sessions) as session:
        query = (select(Case).options(defer(Case.workflow_json), defer(Case.notification))
                 .where(Case.partnership_id == user.partnership_id).order_by(Case.notified_at.desc()))
        if not policy.lists_all_cases(user):  # agency staff: only cases their agency has a task in, or that they chair
            query = query.where(or_(Case.id.in_(select(HumanTask.case_id).where(HumanTask.agency_id == user.agency_id)),
                                    Case.chair_email == user.email))
        rows = []
        for c in session.scalars(query):
            facts = policy.case_facts(session, user, c) if user.role not in policy.CASE_STAFF else _STAFF_FACTS
            if policy.lists_case(user, c, facts):
                rows.append(CaseRow(snapshot(c), rt.calendar.case_day(c.day_one, now), _late(rt, c, now),
                                    policy.case_view(user, c, facts) is not None))
    submitted = [r for r in rows if r.case.status == "submitted"]
    rate = (sum(1 for r in submitted if not r.late) / len(submitted)) if submitted else None
    if status_filter == "late":
        rows = [r for r in rows if r.late]
    elif status_filter in FILTERS:
        rows = [r for r in rows if r.case.status == status_filter]
    return rows, rate


@dataclass
class CasePage:
    case: Case
    day: int
    late: bool
    events: list[AuditEvent]
    documents: list[Document]
    open_tasks: list[HumanTask]
    failed_mail: list[OutboxMessage]
    diagram_files: dict[str, str]
    states: dict[str, dict[str, str]]
    agency_view: bool
    break_glass: list[AuditEvent]  # administrators who opened the case without a role in it, and why
    progress: Progress | None = None  # the stages, for the task list at the top
    people: dict[str, str] = field(default_factory=dict)  # e-mail -> "Lee Authority, Local Authority lead"
    steps: list[Step] = field(default_factory=list)  # the diagram as text: every step begun, with its state
    # The process version the case runs on ("Version 2: Information sharing due on Day 6"): its deadlines
    # and forms are that version's, whatever is active now.
    process_version: str = ""
    # Each agency's people and form, and open tasks nobody can reach (services.invited_access); staff only.
    agencies: list[invited_access.AgencyAccess] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """One step of the process diagram as text: its name, state (done, waiting for someone, waiting for a time)
    and when it is due or fires."""

    file: str
    element_id: str
    name: str
    state: str
    due: datetime | None


def own_case(session: Session, user: SignedIn, reference: str) -> Case | None:
    """The case of the person's partnership with this reference; another partnership's is not found."""
    return session.scalars(select(Case).where(Case.reference == reference,
                                              Case.partnership_id == user.partnership_id)).first()


class NeedToKnow(NotAllowed):
    """The person may know the case exists (it is in their list) but not what is in it: an administrator or a
    process owner with no role in it. ``may_break_glass``: an administrator, who may open it with a reason."""

    def __init__(self, reference: str, may_break_glass: bool) -> None:
        super().__init__(reference)
        self.reference, self.may_break_glass = reference, may_break_glass


class BreakGlassRefused(Invalid):
    """Why emergency access was not given, in words for the administrator."""


BREAK_GLASS_MIN_REASON = 20


def break_glass(rt: Runtime, user: SignedIn, reference: str, reason: str) -> datetime:
    """An administrator opens ``reference`` for :data:`policy.BREAK_GLASS_FOR`, with a reason that is
    audited and shown on the case to the staff who run it. Returns until when. NotFound: no such case."""
    if len(reason) < BREAK_GLASS_MIN_REASON:
        raise BreakGlassRefused(f"Enter why you need to see this case, in at least {BREAK_GLASS_MIN_REASON} "
                                "characters: the Partnership Manager will read it")
    if len(reason) > 2000:
        raise BreakGlassRefused("Enter a reason of 2,000 characters or fewer")
    with transaction(rt.sessions) as session:
        case = own_case(session, user, reference)
        if case is None or not policy.may_break_glass(user, case):
            raise NotFound(reference)
        until = clock.now() + policy.BREAK_GLASS_FOR
        audit.record(session, case.id, "break_glass", actor=user.email, reason=reason, until=until.isoformat(),
                     name=user.name)
        return until


def case_page(rt: Runtime, user: SignedIn, reference: str) -> CasePage | None:
    """The case page; None when the case is not the person's to know of; :class:`NeedToKnow` when they may
    know of it but not see inside it."""
    now = clock.now()
    with transaction(rt.sessions) as session:
        case = own_case(session, user, reference)
        if case is None:
            return None
        facts = policy.case_facts(session, user, case)
        view = policy.case_view(user, case, facts)
        if view is None:
            if policy.lists_case(user, case, facts):
                raise NeedToKnow(case.reference, policy.may_break_glass(user, case))
            return None
        agency_view = view == "agency"
        events_q = select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
        events = list(session.scalars(events_q))
        if agency_view:
            events = [e for e in events if e.type in AGENCY_EVENT_TYPES
                      and e.payload.get("agency") in (None, user.agency_id)]
        documents = [] if agency_view else list(session.scalars(
            select(Document).where(Document.case_id == case.id).order_by(Document.id)))
        open_tasks = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.state == "ready")
                                          .order_by(HumanTask.due_at, HumanTask.id)))
        if agency_view:
            open_tasks = [t for t in open_tasks if t.agency_id == user.agency_id]
        failed = [] if agency_view else list(session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case.id, OutboxMessage.status == "failed")))
        files = _diagram_files(session, case.process_version_id)
        states = _element_states(rt, case)
        audit.record(session, case.id, "case_viewed", actor=user.email)
        glass = [] if agency_view else [e for e in events if e.type == "break_glass"]
        people = {u.email: f"{u.name}, {ROLES.get(u.role, u.role)}" for u in session.scalars(
            select(User).where(User.partnership_id == case.partnership_id))}
        version = session.get(ProcessVersion, case.process_version_id)
        version_words = ""
        if version is not None:
            version_words = f"Version {version.number}" + (f": {version.note}" if version.note else "") + (
                " (the active version)" if version.active else " (new cases now start on another version)")
        return CasePage(snapshot(case), rt.calendar.case_day(case.day_one, now), _late(rt, case, now),
                        snapshots(events), snapshots(documents), snapshots(open_tasks), snapshots(failed), files,
                        states, agency_view, snapshots(glass), case_progress.progress(session, rt, case, agency_view),
                        people, [] if agency_view else _steps(rt, case, files, states, open_tasks), version_words,
                        [] if agency_view else invited_access.case_agencies(session, case))


_STATE_WORDS = {"done": "Done", "active": "Waiting for someone", "waiting": "Waiting for a date or time"}


def _steps(rt: Runtime, case: Case, files: dict[str, str], states: dict[str, dict[str, str]],
           open_tasks: list[HumanTask]) -> list[Step]:
    """The diagram's text equivalent: each step the case has reached, in process order, with its state and when
    the waiting ones are due (people's tasks) or fire (timers)."""
    timers = case_timers(rt, case)
    task_due = {t.element_id: t.due_at for t in open_tasks if t.due_at}
    steps = []
    for file, content in sorted(files.items()):
        marked = states.get(file, {})
        for element_id, name in _element_names(content):
            state = marked.get(element_id)
            if state is None:
                continue
            due = timers.get(element_id) if state == "waiting" else task_due.get(element_id) if state == "active" else None
            steps.append(Step(file, element_id, name, _STATE_WORDS[state], due))
    return steps


_NAMES = None  # built on first use (the BPMN files of a version never change)


def _element_names(content: str) -> list[tuple[str, str]]:
    global _NAMES
    if _NAMES is None:
        _NAMES = _Memo(64)
    key = hashlib.blake2b(content.encode("utf-8"), digest_size=16).hexdigest()
    found: list[tuple[str, str]] | None = _NAMES.get(key)
    if found is None:
        from lxml import etree

        root = etree.fromstring(content.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
        model = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
        found = [(el.get("id"), el.get("name") or el.get("id")) for el in root.iter()
                 if isinstance(el.tag, str) and el.tag.startswith(model) and el.get("id")
                 and el.tag[len(model):] not in ("sequenceFlow", "lane", "laneSet", "process", "collaboration",
                                                 "participant", "property", "message", "definitions")]
        _NAMES.put(key, found)
    return found


def case_timers(rt: Runtime, case: Case) -> dict[str, datetime]:
    key = f"timers:{case.process_version_id}:" + hashlib.blake2b(case.workflow_json.encode("utf-8"), digest_size=20).hexdigest()
    timers: dict[str, datetime] | None = _STATES.get(key)
    if timers is None:
        timers = dict(rt.restore(case).waiting_timers())
        _STATES.put(key, timers)
    return timers


class _Memo:
    """A small LRU of values derived from immutable inputs, keyed by their content hash, shared by threads."""

    def __init__(self, size: int) -> None:
        self._size, self._items, self._lock = size, OrderedDict[str, Any](), threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


# Restoring a workflow costs tens of milliseconds; a case's diagram states change only when its JSON does.
_STATES = _Memo(512)
_FILES = _Memo(64)


def _element_states(rt: Runtime, case: Case) -> dict[str, dict[str, str]]:
    # The stored workflow holds its state only; the version gives the process (and file names) it runs on.
    key = f"{case.process_version_id}:" + hashlib.blake2b(case.workflow_json.encode("utf-8"), digest_size=20).hexdigest()
    states: dict[str, dict[str, str]] | None = _STATES.get(key)
    if states is None:
        states = rt.restore(case).element_states()
        _STATES.put(key, states)
    return {file: dict(elements) for file, elements in states.items()}


def _diagram_files(session: Session, version_id: int) -> dict[str, str]:
    """The version's BPMN files by name; their content is read once per process (files are keyed by hash)."""
    listed = session.execute(select(ProcessFile.path, ProcessFile.sha256).where(
        ProcessFile.version_id == version_id, ProcessFile.path.like("bpmn/%.bpmn"))).all()
    files: dict[str, str] = {}
    for path, sha256 in listed:
        content: str | None = _FILES.get(f"{sha256}:{path}")
        if content is None:
            raw = session.scalar(select(ProcessFile.content).where(ProcessFile.version_id == version_id,
                                                                   ProcessFile.path == path))
            content = (raw or b"").decode("utf-8")
            _FILES.put(f"{sha256}:{path}", content)
        files[path.split("/", 1)[1]] = content
    return files


def document_file(rt: Runtime, user: SignedIn, reference: str, document_id: int) -> tuple[Path, Document] | None:
    with transaction(rt.sessions) as session:
        doc = session.get(Document, document_id)
        case = own_case(session, user, reference)
        if doc is None or case is None or doc.case_id != case.id:
            return None
        if not policy.may_read_reports(user, case, policy.case_facts(session, user, case)):
            return None  # reports hold every agency's information
        audit.record(session, case.id, "document_downloaded", actor=user.email, kind=doc.kind, version=doc.version,
                     document_id=doc.id)
        return rt.settings.documents_dir / doc.path, doc


def outbox_scope(session: Session, partnership_id: int) -> ColumnElement[bool]:
    """A partnership's messages are those of its cases. Messages of no case (a `rapidreview mail test`) are the
    deployment's, shown to the default partnership, whose staff run the deployment."""
    own = Case.partnership_id == partnership_id
    if partnership_id == partnerships.default_id(session):
        return or_(own, OutboxMessage.case_id.is_(None))
    return own


def outbox_messages(rt: Runtime, partnership_id: int, limit: int = 200) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        rows = session.execute(select(OutboxMessage, Case.reference).outerjoin(Case, Case.id == OutboxMessage.case_id)
                               .where(outbox_scope(session, partnership_id))
                               .order_by(OutboxMessage.id.desc()).limit(limit))
        return [{"message": snapshot(m), "reference": reference} for m, reference in rows]


def outbox_message_visible(rt: Runtime, partnership_id: int, message_id: int) -> bool:
    """May staff of ``partnership_id`` see (and so retry or cancel) this message? The Outbox page's rule."""
    with transaction(rt.sessions) as session:
        return session.scalar(select(OutboxMessage.id).outerjoin(Case, Case.id == OutboxMessage.case_id)
                              .where(OutboxMessage.id == message_id, outbox_scope(session, partnership_id))) is not None
