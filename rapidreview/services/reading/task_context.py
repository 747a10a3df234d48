"""What a task page shows above its form: the facts the person is deciding on.

The BPMN chooses, per user task, which panels its page shows (task metadata ``show``: a comma-separated list
of the names below), so a process owner decides what each decision is made on; this module knows how to
fill each panel from the case's data. Panels hold plain values: sections of labelled rows, or another form's
answers with that form's schema so the page can label them as that form does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from rapidreview.calendar import clock_time, to_london
from rapidreview.documents.report_context import latest_report_content
from rapidreview.process_contract import (
    AGENCIES,
    CHAIR_CONSULTATION_TASK,
    CRITERIA_VIEWS,
    FINAL_DRAFT_DOCUMENT,
    INFORMATION_RETURNS,
    INFORMATION_SHARING_TASK,
    MEETING_OUTCOMES_TASK,
    MEETING_STARTS_AT,
    MEETING_TASK,
    SIGN_OFFS,
)
from rapidreview.runtime import Runtime
from rapidreview.services.casework import documents as case_documents
from rapidreview.services.casework import draft_comments
from rapidreview.services.casework.forms import form_schema, form_uischema
from rapidreview.services.people.roles import PARTNER_NAMES
from rapidreview.store.models import Case, HumanTask

RETURN_STATUS = {"returned": "Returned", "not_known": "Not known to this agency", "not_returned": "Not returned"}
REPORT_FORM = "report_content.schema.json"


@dataclass(frozen=True)
class Answers:
    """Another form's answers, shown read-only with that form's labels."""

    schema: Any
    registry: Any
    uischema: Mapping[str, Any] | None
    answers: Mapping[str, Any]


@dataclass(frozen=True)
class Section:
    heading: str | None = None
    tag: str | None = None  # a short status ("Returned", "Not returned"), shown as a tag with its words
    rows: list[tuple[str, str]] = field(default_factory=list)
    answers: Answers | None = None
    links: list[tuple[str, str, int]] = field(default_factory=list)  # (text, case reference, document id)


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    sections: list[Section]


class _Filler:
    def __init__(self, rt: Runtime, session: Session, case: Case, task: HumanTask, data: Mapping[str, Any]) -> None:
        self.rt, self.session, self.case, self.task, self.data = rt, session, case, task, data

    def _answers(self, form: str, answers: Mapping[str, Any]) -> Answers:
        schema, registry = form_schema(self.session, self.case.process_version_id, form)
        return Answers(schema, registry, form_uischema(self.session, self.case.process_version_id, form), answers)

    def _when(self, value: Any) -> str:
        from datetime import datetime

        if not value:
            return ""
        when = datetime.fromisoformat(str(value))
        day = self.rt.calendar.case_day(self.case.day_one, when)
        return f"{clock_time(when)} on {to_london(when).strftime('%A %-d %B %Y')} (Day {day})"

    def notification(self) -> list[Section]:
        note = self.case.notification or {}
        child, incident = note.get("child") or {}, note.get("incident") or {}
        rows = [("Child", str(child.get("name", ""))), ("Date of birth", str(child.get("date_of_birth") or "Not known")),
                ("Date of the incident", str(incident.get("date", ""))), ("What happened", str(incident.get("summary", ""))),
                ("Notified", self._when(self.case.notified_at.isoformat())),
                ("Report due at the National Panel", f"the end of {self.case.deadline.strftime('%A %-d %B %Y')} (Day 15)")]
        if (note.get("referral") or {}).get("summary"):
            rows.append(("Referral", str(note["referral"]["summary"])))
        return [Section(rows=rows)]

    def request(self) -> list[Section]:
        from rapidreview.services.people import partnerships

        own = partnerships.settings_for(self.rt, self.session, self.case.partnership_id)
        rows = [("Asked by", f"{own.partnership_contact_name}, {own.partnership_name}"),
                ("Contact", own.partnership_contact_email)]
        if self.task.due_at is not None:
            rows.append(("Return it by", self._when(self.task.due_at.isoformat())))
        return [Section(rows=rows)]

    def criteria_views(self) -> list[Section]:
        views = self.data.get(CRITERIA_VIEWS) or {}
        return [Section(heading=PARTNER_NAMES.get(partner, partner),
                        tag={"yes": "Criteria met", "no": "Criteria not met"}.get(str(view.get("criteria_met"))),
                        answers=self._answers("record_criteria_view.schema.json", view))
                for partner, view in views.items() if isinstance(view, dict)]

    def chair_decision(self) -> list[Section]:
        decision = self.data.get(CHAIR_CONSULTATION_TASK)
        return [Section(answers=self._answers("consult_independent_chair.schema.json", decision))] if decision else []

    def current_return(self) -> list[Section]:
        answers = self.data.get(INFORMATION_SHARING_TASK)
        return [Section(answers=self._answers("complete_information_sharing_form.schema.json", answers))] if answers else []

    def information_returns(self) -> list[Section]:
        returns = self.data.get(INFORMATION_RETURNS) or {}
        agencies = self.data.get(AGENCIES) or {}
        sections = []
        for agency_id, agency in agencies.items():
            back = returns.get(agency_id) or {}
            status = RETURN_STATUS.get(str(back.get("status")), "Waiting")
            form = back.get("form") if isinstance(back.get("form"), dict) else None
            sections.append(Section(heading=str((agency or {}).get("name") or agency_id), tag=status,
                                     answers=self._answers("complete_information_sharing_form.schema.json", form)
                                     if form and back.get("status") == "returned" else None))
        return sections

    def meeting(self) -> list[Section]:
        meeting = self.data.get(MEETING_TASK) or {}
        if not meeting:
            return []
        return [Section(rows=[("When", self._when(self.data.get(MEETING_STARTS_AT))),
                              ("Where", str(meeting.get("location", ""))),
                              ("Invited", "; ".join(f"{a.get('name')} ({a.get('role') or a.get('organisation', '')})"
                                                    for a in meeting.get("attendees") or []))])]

    def meeting_outcomes(self) -> list[Section]:
        outcomes = self.data.get(MEETING_OUTCOMES_TASK)
        return [Section(answers=self._answers("record_meeting_outcomes.schema.json", outcomes))] if outcomes else []

    def recommendation(self) -> list[Section]:
        outcomes = self.data.get(MEETING_OUTCOMES_TASK) or {}
        if not outcomes:
            return []
        recommended = outcomes.get("lcspr_recommended")
        rows = [("The meeting's recommendation", "Commission a Local Child Safeguarding Practice Review" if recommended
                 else "Do not commission a Local Child Safeguarding Practice Review"),
                ("Rationale", str(outcomes.get("grounds_rationale", "")))]
        if recommended and outcomes.get("key_lines_of_enquiry"):
            rows.append(("Key lines of enquiry", "; ".join(map(str, outcomes["key_lines_of_enquiry"]))))
        return [Section(rows=rows)]

    def report(self) -> list[Section]:
        content = latest_report_content(self.data)
        return [Section(answers=self._answers(REPORT_FORM, content))] if content else []

    def sign_off_returns(self) -> list[Section]:
        sign_offs = self.data.get(SIGN_OFFS) or {}
        return [Section(heading=PARTNER_NAMES.get(p, p), tag="Returned",
                        rows=[("Returned by", str(s.get("completed_by_name") or s.get("completed_by", ""))),
                              ("What needs to change", str(s.get("comments", "")))])
                for p, s in sign_offs.items() if isinstance(s, dict) and s.get("decision") == "return"]

    def comments(self) -> list[Section]:
        found = draft_comments.list_comments(self.session, self.case.id)
        if not found:
            return [Section(rows=[("Comments made in the app", "None. Check your e-mail for replies to the final draft.")])]
        return [Section(heading=c.author, tag="Late" if c.late else None,
                        rows=[("Sent", to_london(c.at).strftime("%-d %B %Y, %H:%M")),
                              *([("On the draft", f"Version {c.draft_version}")] if c.draft_version else []),
                              ("Comment", c.body)])
                for c in found]

    def documents(self) -> list[Section]:
        links = []
        for kind, text in (("signed_report_pdf", "The signed report (PDF)"), ("final_report", "The final report (Word)"),
                           (FINAL_DRAFT_DOCUMENT, "The final draft (Word)")):
            doc = case_documents.latest_document(self.session, self.case.id, kind)
            if doc is not None:
                links.append((f"{text}, version {doc.version}", self.case.reference, doc.id))
        return [Section(links=links)] if links else []


PANELS: dict[str, tuple[str, Callable[[_Filler], list[Section]]]] = {
    "notification": ("The notification", _Filler.notification),
    "request": ("Who is asking", _Filler.request),
    "criteria_views": ("The statutory partners' views on the criteria", _Filler.criteria_views),
    "chair_decision": ("The Independent Chair's decision", _Filler.chair_decision),
    "current_return": ("The return to check", _Filler.current_return),
    "information_returns": ("The agencies' returns", _Filler.information_returns),
    "meeting": ("The Rapid Review Meeting", _Filler.meeting),
    "meeting_outcomes": ("What the meeting agreed", _Filler.meeting_outcomes),
    "recommendation": ("The recommendation to ratify", _Filler.recommendation),
    "report": ("The report", _Filler.report),
    "sign_off_returns": ("Returned at sign-off", _Filler.sign_off_returns),
    "comments": ("Comments on the final draft", _Filler.comments),
    "documents": ("Documents", _Filler.documents),
}


def panels(rt: Runtime, session: Session, case: Case, task: HumanTask, data: Mapping[str, Any],
           names: list[str]) -> list[Panel]:
    filler = _Filler(rt, session, case, task, data)
    out = []
    for name in names:
        found = PANELS.get(name)
        if found is None:
            continue  # validation names an unknown panel; a page never breaks on one
        title, fill = found
        sections = fill(filler)
        if sections:
            out.append(Panel(name, title, sections))
    return out
