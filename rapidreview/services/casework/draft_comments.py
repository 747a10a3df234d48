"""Comments on the final draft, made in the app.

The final draft goes out for comments when ``prepare_final_draft`` is done; the window the process gives
(``comment_window_closes``, two full working days) is shown to the commenters, and comments made after it
are still taken, marked late, until the Partnership Manager has incorporated the comments
(``incorporate_comments`` done). The Partnership Manager sees every comment on that task's page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.errors import Invalid, NotFound
from rapidreview.process_contract import (
    COMMENT_WINDOW_CLOSES,
    FINAL_DRAFT_DOCUMENT,
    FINAL_DRAFT_TASK,
    INCORPORATE_COMMENTS_TASK,
)
from rapidreview.runtime import Runtime
from rapidreview.services.casework.documents import latest_document
from rapidreview.services.people import policy
from rapidreview.services.people.users import ROLES, SignedIn
from rapidreview.services.platform import audit
from rapidreview.services.reading.case_views import case_timers, own_case
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, Document, DraftComment, HumanTask

MAX_LENGTH = 10_000
WindowState = Literal["not_yet", "open", "late", "closed"]


class CommentRefused(Invalid):
    """The comment cannot be taken (empty, too long, or the window is not open); the message says why."""


@dataclass(frozen=True)
class Comment:
    author: str  # "Lee Authority, Local Authority lead"
    body: str
    at: datetime
    late: bool
    draft_version: int | None


@dataclass(frozen=True)
class CommentsPage:
    reference: str
    state: WindowState
    closes_at: datetime | None  # when the comment window closes (or closed), once the process knows
    draft_document_id: int | None
    draft_version: int | None
    comments: list[Comment]


def _completed(session: Session, case_id: int, element_id: str) -> bool:
    return session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.element_id == element_id,
                                                     HumanTask.state == "completed").limit(1)) is not None


def _ready(session: Session, case_id: int, element_id: str) -> bool:
    return session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.element_id == element_id,
                                                     HumanTask.state == "ready").limit(1)) is not None


def window_state(session: Session, case: Case) -> WindowState:
    if not _completed(session, case.id, FINAL_DRAFT_TASK):
        return "not_yet"
    if _completed(session, case.id, INCORPORATE_COMMENTS_TASK) and not _ready(session, case.id,
                                                                               INCORPORATE_COMMENTS_TASK):
        return "closed"
    closed = session.scalar(select(AuditEvent.id).where(AuditEvent.case_id == case.id,
                                                         AuditEvent.type == "timer_fired",
                                                         AuditEvent.payload["id"].as_string() == COMMENT_WINDOW_CLOSES)
                            .limit(1))
    return "late" if closed is not None else "open"


def closes_at(session: Session, rt: Runtime, case: Case) -> datetime | None:
    """When the comment window closes: the case's waiting timer, or when it fired."""
    waiting = case_timers(rt, case).get(COMMENT_WINDOW_CLOSES)
    if waiting is not None:
        return waiting
    fired = session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id, AuditEvent.type == "timer_fired",
                                                     AuditEvent.payload["id"].as_string() == COMMENT_WINDOW_CLOSES)
                            .order_by(AuditEvent.id.desc()).limit(1)).first()
    due = (fired.payload or {}).get("due") if fired is not None else None
    return datetime.fromisoformat(due) if due else None


def list_comments(session: Session, case_id: int) -> list[Comment]:
    rows = session.execute(select(DraftComment, Document.version)
                           .outerjoin(Document, Document.id == DraftComment.document_id)
                           .where(DraftComment.case_id == case_id).order_by(DraftComment.id))
    return [Comment(f"{row.author_name}, {row.author_role}", row.body, row.created_at, row.late, version)
            for row, version in rows]


def _case_for(session: Session, user: SignedIn, reference: str) -> Case:
    case = own_case(session, user, reference)
    if case is None or not policy.may_comment_on_drafts(user, case, policy.case_facts(session, user, case)):
        raise NotFound(reference)  # not told it exists
    return case


def comments_page(rt: Runtime, user: SignedIn, reference: str) -> CommentsPage:
    """The final draft and its comments, for whoever may comment (NotFound: no such case for them)."""
    with transaction(rt.sessions) as session:
        case = _case_for(session, user, reference)
        draft = latest_document(session, case.id, FINAL_DRAFT_DOCUMENT)
        return CommentsPage(case.reference, window_state(session, case), closes_at(session, rt, case),
                            draft.id if draft else None, draft.version if draft else None,
                            list_comments(session, case.id))


def add_comment(rt: Runtime, user: SignedIn, reference: str, body: str) -> Comment:
    """Record a comment on the latest final draft; refused with a reason when it cannot be taken."""
    text = body.strip()
    if not text:
        raise CommentRefused("Enter your comment")
    if len(text) > MAX_LENGTH:
        raise CommentRefused(f"Your comment must be {MAX_LENGTH:,} characters or fewer")
    with transaction(rt.sessions) as session:
        case = _case_for(session, user, reference)
        state = window_state(session, case)
        if state == "not_yet":
            raise CommentRefused("The final draft has not been circulated yet")
        if state == "closed":
            raise CommentRefused("Comments on the final draft have been incorporated: contact the Partnership "
                                 "Manager about any further change")
        draft = latest_document(session, case.id, FINAL_DRAFT_DOCUMENT)
        row = DraftComment(case_id=case.id, author_id=user.id, author_name=user.name,
                           author_role=ROLES.get(user.role, user.role), body=text,
                           document_id=draft.id if draft else None, late=state == "late", created_at=clock.now())
        session.add(row)
        audit.record(session, case.id, "draft_comment_added", actor=user.email, late=row.late or None,
                     draft_version=draft.version if draft else None)
        return Comment(f"{row.author_name}, {row.author_role}", text, row.created_at, row.late,
                       draft.version if draft else None)


def comment_state(rt: Runtime, user: SignedIn, reference: str) -> WindowState | None:
    """For the case page's link: the window's state, or None when the person may not comment."""
    with transaction(rt.sessions) as session:
        try:
            case = _case_for(session, user, reference)
        except NotFound:
            return None
        return window_state(session, case)
