"""The contexts each document template is rendered with, built from a sample case.

rapidreview.documents.template_check reads the names a template may use from these (every list holds one
row, so the names inside rows are known too), and docs/process-owners.md lists them. The sample follows
the process data contract (docs/process-model.md); its values are never shown to anyone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rapidreview.calendar import WorkingCalendar
from rapidreview.config import Settings
from rapidreview.documents.decision_record import build_decision_record_context
from rapidreview.documents.report_context import build_report_context, information_sharing_form_context
from rapidreview.process_contract import (
    AGENCIES,
    CHAIR_CONSULTATION_TASK,
    COMMISSION_TASK,
    CRITERIA_VIEWS,
    DECISION_RECORD_TASK,
    DRAFT_TASK,
    INCORPORATE_COMMENTS_TASK,
    INFORMATION_RETURNS,
    MEETING_OUTCOMES_TASK,
    MEETING_STARTS_AT,
    MEETING_TASK,
    SIGN_OFFS,
)

_STAMP = {
    "completed_at": "2026-05-22T15:00:00+00:00",
    "completed_by": "lead@partner.example",
    "completed_by_name": "A Lead",
    "completed_by_role": "Local Authority lead",
}
_VIEW = {"criteria_met": "no", "rationale": "Text", "immediate_action_needed": "no", **_STAMP}
_SIGN_OFF = {"decision": "approve", "lcspr_recommendation_ratified": True, "comments": "Text", **_STAMP}
_CONTENT = {
    "child_ethnicity": "Text", "child_disability": "Text", "child_legal_status": "child_in_need",
    "harm_type": "died", "nature_of_harm": "Text", "family_structure": "Text", "health_and_disability": "Text",
    "other_children_safeguarding": "Text", "summary_of_facts": "Text", "agency_involvement": "Text",
    "key_practice_episodes": "Text", "what_worked_well": "Text", "concerns": "Text", "inequalities": "Text",
    "parallel_processes": ["police_investigation"], "parallel_processes_details": "Text",
    "immediate_learning_and_actions": "Text",
}

SAMPLE_DATA: dict[str, Any] = {
    "notification": {
        "child": {"name": "Child S", "date_of_birth": "2020-01-01", "sex": "female"},
        "incident": {"date": "2026-05-20", "summary": "Text"},
    },
    CRITERIA_VIEWS: {"LA": _VIEW, "MPS": _VIEW, "ICB": _VIEW},
    CHAIR_CONSULTATION_TASK: {"criteria_met": "no", "rationale": "Text", "regional_lead_advice_sought": "yes",
                                  "regional_lead_advice": "Text", **_STAMP},
    DECISION_RECORD_TASK: {"summary": "Text", "immediate_safeguarding": "Text", **_STAMP},
    COMMISSION_TASK: {"chair_type": "independent_chair", "chair_name": "Text", "chair_role": "Text",
                                "chair_organisation": "Text", "immediate_safeguarding_actions": "Text"},
    AGENCIES: {"school": {"id": "school", "name": "Oak Primary School"}},
    INFORMATION_RETURNS: {"school": {"status": "returned", "returned_at": "2026-05-28T10:00:00+00:00",
                                       "form": {"nature_of_involvement": "Text"}}},
    MEETING_TASK: {"location": "Text",
                                      "attendees": [{"name": "Text", "organisation": "Text", "email": "a@b.example"}]},
    MEETING_STARTS_AT: "2026-06-02T09:00:00+00:00",
    DRAFT_TASK: {**_CONTENT, "provisional_view": "Text"},
    MEETING_OUTCOMES_TASK: {
        "meeting_held_on": "2026-06-02", "attendees_present": [{"name": "Text", "role": "Text", "organisation": "Text"}],
        "background_agreed": True, "working_well": "Text", "concerns": "Text", "themes": "Text",
        "actions_taken_or_required": "Text", "recommendations": "Text", "agency_leads": [{"agency": "Text", "lead": "Text"}],
        "learning_dissemination": "Text", "lcspr_recommended": True, "lcspr_grounds": ["reg11_a_improvements"],
        "grounds_rationale": "Text", "key_lines_of_enquiry": ["Text"], "national_review_recommended": False,
        "national_review_reason": "Text",
    },
    INCORPORATE_COMMENTS_TASK: {**_CONTENT, "child_date_of_birth": "2020-01-01", "child_sex": "female"},
    SIGN_OFFS: {"LA": _SIGN_OFF, "MPS": _SIGN_OFF, "ICB": _SIGN_OFF},
}

_NOTIFIED = datetime(2026, 5, 22, 9, 0, tzinfo=UTC)
_DAY_ONE = date(2026, 5, 22)


def report_sample(kind: str = "signed_report") -> dict[str, Any]:
    return build_report_context(
        data=SAMPLE_DATA, kind=kind, version=1, reference="RR-SAMPLE-1", notified_at=_NOTIFIED, day_one=_DAY_ONE,
        deadline=date(2026, 6, 12), settings=Settings(), calendar=WorkingCalendar(), generated_at=_NOTIFIED,
    )


def decision_record_sample() -> dict[str, Any]:
    return build_decision_record_context(
        data=SAMPLE_DATA, version=1, reference="RR-SAMPLE-1", notified_at=_NOTIFIED, day_one=_DAY_ONE,
        settings=Settings(), generated_at=_NOTIFIED,
    )


def information_sharing_form_sample() -> dict[str, Any]:
    return information_sharing_form_context(Settings(), reference="RR-SAMPLE-1", agency="Oak Primary School",
                                            due="29 May 2026, 17:00")


#: The context each template is rendered with (the report's templates with a signed report's, which has
#: every part, the sign-off table included).
TEMPLATE_CONTEXTS = {
    "rapid_review_report.docx": report_sample,
    "meeting_agenda.docx": report_sample,
    "decision_record.docx": decision_record_sample,
    "information_sharing_form.docx": information_sharing_form_sample,
}
