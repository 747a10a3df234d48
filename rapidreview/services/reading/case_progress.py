"""Where a case stands, stage by stage, for the top of the case page (a GOV.UK task list).

Read from the task rows, the audit trail and the outbox, never from the workflow: the page must be quick, and
every fact here is already on record. The stages follow the seed's timetable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview import clock
from rapidreview.calendar import clock_time, to_london
from rapidreview.process_contract import (
    COMMENT_WINDOW_CLOSES,
    COMMISSION_TASK,
    CRITERIA_VIEW_TASK,
    DECISION_RECORD_TASK,
    DRAFT_TASK,
    FINAL_DRAFT_TASK,
    INCORPORATE_COMMENTS_TASK,
    INFORMATION_QA_TASK,
    INFORMATION_SHARING_CLOSES,
    INFORMATION_SHARING_TASK,
    MEETING_TASK,
    MEETING_TIME,
    SIGN_OFF_TASK,
    SUBMISSION_TASK,
)
from rapidreview.runtime import Runtime
from rapidreview.store.models import AuditEvent, Case, HumanTask, OutboxMessage

DONE, IN_PROGRESS, WAITING, NOT_YET, NOT_NEEDED, OVERDUE = (
    "Completed", "In progress", "Waiting", "Not started yet", "Not needed", "Overdue")


@dataclass(frozen=True)
class Stage:
    title: str
    status: str  # one of the constants above
    detail: str = ""  # "2 of 3", "Wednesday 3 June 2026 at 2pm, Microsoft Teams", ...


@dataclass(frozen=True)
class Progress:
    stages: list[Stage]
    next_deadline: str | None  # the soonest due open task: "Prepare the draft report, 12pm on Wednesday 3 June (Day 8)"
    meeting: str | None  # when and where, as the invitations said; None before one is arranged


def _when(rt: Runtime, case: Case, at: datetime) -> str:
    return (f"{clock_time(at)} on {to_london(at).strftime('%A %-d %B %Y')} "
            f"(Day {rt.calendar.case_day(case.day_one, at)})")


def _meeting(session: Session, rt: Runtime, case: Case) -> tuple[str | None, bool]:
    """The meeting as the latest invitation, update or cancellation left it; and whether it is cancelled."""
    calendar = session.scalar(select(OutboxMessage.calendar).where(
        OutboxMessage.case_id == case.id, OutboxMessage.purpose == "meeting_invitation",
        OutboxMessage.calendar.is_not(None)).order_by(OutboxMessage.id.desc()).limit(1))
    if not calendar:
        return None, False
    if calendar.get("cancel") == "meeting":
        return "Cancelled: a new date is being arranged", True
    starts = datetime.fromisoformat(calendar["starts_at"])
    where = f", {calendar['location']}" if calendar.get("location") else ""
    return f"{_when(rt, case, starts)}{where}", False


def progress(session: Session, rt: Runtime, case: Case, agency_view: bool = False) -> Progress:
    rows = list(session.scalars(select(HumanTask).where(HumanTask.case_id == case.id).order_by(HumanTask.id)))
    now = clock.now()

    def done(element: str) -> list[HumanTask]:
        return [t for t in rows if t.element_id == element and t.state == "completed"]

    def open_(element: str) -> list[HumanTask]:
        return [t for t in rows if t.element_id == element and t.state == "ready"]

    def status_of(element: str) -> str:
        if done(element) and not open_(element):
            return DONE
        waiting = open_(element)
        if waiting:
            return OVERDUE if any(t.due_at and t.due_at < now for t in waiting) else IN_PROGRESS
        return NOT_YET

    fired = {e.payload.get("id"): e for e in session.scalars(select(AuditEvent).where(
        AuditEvent.case_id == case.id, AuditEvent.type == "timer_fired"))}
    not_commissioned = case.status == "not_commissioned"
    stages: list[Stage] = []
    views = done(CRITERIA_VIEW_TASK)
    stages.append(Stage("The statutory partners' views on the criteria",
                        DONE if len(views) >= 3 and not open_(CRITERIA_VIEW_TASK) else status_of(CRITERIA_VIEW_TASK),
                        f"{min(len(views), 3)} of 3"))
    if not_commissioned:
        stages.append(Stage("Commissioned", NOT_NEEDED, "The criteria for a Rapid Review are not met"))
        record = status_of(DECISION_RECORD_TASK)
        panel = session.scalar(select(OutboxMessage.sent_at).where(
            OutboxMessage.case_id == case.id, OutboxMessage.purpose == "national_panel_decision"))
        stages.append(Stage("The National Panel told of the decision", DONE if panel else record,
                            f"Sent {_when(rt, case, panel)}" if panel else ""))
        return Progress(stages, _next_deadline(rt, case, rows), None)
    stages.append(Stage("Commissioned, with a chair appointed", status_of(COMMISSION_TASK),
                        f"Chair: {case.chair_email}" if case.chair_email else ""))
    agencies = {t.agency_id for t in rows if t.element_id == INFORMATION_SHARING_TASK}
    settled = {t.agency_id for t in done(INFORMATION_QA_TASK)
               if (t.answers or {}).get("decision") == "approve"}
    closed = fired.get(INFORMATION_SHARING_CLOSES) is not None
    info_status = (DONE if agencies and (agencies <= settled or (closed and not open_(INFORMATION_SHARING_TASK)
                                                                 and not open_(INFORMATION_QA_TASK)))
                   else IN_PROGRESS if agencies else NOT_YET)
    if info_status == IN_PROGRESS and any(t.due_at and t.due_at < now for t in
                                          open_(INFORMATION_SHARING_TASK) + open_(INFORMATION_QA_TASK)):
        info_status = OVERDUE
    stages.append(Stage("Agencies' information returned", info_status,
                        f"{len(settled)} of {len(agencies)}" if agencies else ""))
    meeting, cancelled = _meeting(session, rt, case)
    held = bool(fired.get(MEETING_TIME))
    stages.append(Stage("The Rapid Review Meeting", DONE if held else (WAITING if meeting and not cancelled else
                                                                       status_of(MEETING_TASK)),
                        meeting or ""))
    if not agency_view:
        stages.append(Stage("The draft report, before the meeting", status_of(DRAFT_TASK)))
        comments = fired.get(COMMENT_WINDOW_CLOSES)
        draft_out = bool(done(FINAL_DRAFT_TASK))
        window = ""
        if draft_out and not comments:
            window = "Comments are open"
        elif comments:
            window = f"Closed {_when(rt, case, comments.at)}"
        stages.append(Stage("The final draft and comments",
                            DONE if done(INCORPORATE_COMMENTS_TASK) and not open_(INCORPORATE_COMMENTS_TASK)
                            else (IN_PROGRESS if draft_out else status_of(FINAL_DRAFT_TASK)), window))
        approvals = {t.partner for t in done(SIGN_OFF_TASK) if (t.answers or {}).get("decision") == "approve"}
        sign_status = DONE if len(approvals) >= 3 and not open_(SIGN_OFF_TASK) else status_of(SIGN_OFF_TASK)
        stages.append(Stage("Signed off by the three lead partners", sign_status, f"{len(approvals)} of 3"))
    stages.append(Stage("Submitted to the National Panel",
                        DONE if case.submitted_at else status_of(SUBMISSION_TASK),
                        f"Accepted {_when(rt, case, case.submitted_at)}" if case.submitted_at
                        else f"Due by the end of {case.deadline.strftime('%A %-d %B %Y')}"))
    return Progress(stages, _next_deadline(rt, case, rows), meeting)


def _next_deadline(rt: Runtime, case: Case, rows: list[HumanTask]) -> str | None:
    waiting = sorted((t for t in rows if t.state == "ready" and t.due_at), key=lambda t: t.due_at)  # type: ignore[arg-type,return-value]
    if not waiting:
        return None
    task = waiting[0]
    assert task.due_at is not None
    who = f" ({task.agency_name or task.partner})" if task.agency_name or task.partner else ""
    return f"{task.name}{who}: {_when(rt, case, task.due_at)}"
