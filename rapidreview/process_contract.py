"""The process contract: every element id and data name of the BPMN that the application's code relies on.

Process owners may change the process freely, except for these names: Python code reads them to know where a
case stands, what a decision was, or which document to show. ``rapidreview validate`` (and every deploy)
refuses a process that lacks one, naming it and what relies on it, so a rename in a modeler is caught before
it reaches a live case. Code refers to these constants, never to the literal ids.

This module is a leaf: it imports nothing of the application.
"""

from __future__ import annotations

PROCESS_ID = "rapid_review"

# -- user tasks ------------------------------------------------------------------------------------------
CRITERIA_VIEW_TASK = "record_criteria_view"
CHAIR_CONSULTATION_TASK = "consult_independent_chair"
COMMISSION_TASK = "commission_rapid_review"
AGENCY_LIST_TASK = "share_agency_list"
INFORMATION_SHARING_TASK = "complete_information_sharing_form"
INFORMATION_QA_TASK = "quality_assure_information_sharing_form"
MEETING_TASK = "schedule_rapid_review_meeting"
DRAFT_TASK = "prepare_draft_report"
MEETING_OUTCOMES_TASK = "record_meeting_outcomes"
FINAL_DRAFT_TASK = "prepare_final_draft"
INCORPORATE_COMMENTS_TASK = "incorporate_comments"
SIGN_OFF_TASK = "sign_off_final_report"
SUBMISSION_TASK = "submit_to_national_panel"
DECISION_RECORD_TASK = "confirm_decision_record"

# -- events and service tasks ----------------------------------------------------------------------------
NOT_COMMISSIONED_END = "review_not_commissioned"
INFORMATION_SHARING_CLOSES = "information_sharing_closed"
MEETING_TIME = "wait_for_meeting"
COMMENT_WINDOW_CLOSES = "comment_window_closes"
PANEL_SUBMISSION_SENT = "email_national_panel"

# -- data names (set by the process's forms and scripts, read by the application) ------------------------
MEETING_STARTS_AT = "meeting_starts_at"
CRITERIA_VIEWS = "criteria_views"
INFORMATION_RETURNS = "information_returns"
SIGN_OFFS = "sign_offs"
AGENCIES = "agencies"

# -- document kinds (create_document's ``kind``) ---------------------------------------------------------
FINAL_DRAFT_DOCUMENT = "final_draft_report"

ELEMENTS: dict[str, str] = {
    CRITERIA_VIEW_TASK: "the case page's criteria stage and the dashboard's timings",
    CHAIR_CONSULTATION_TASK: "the chair's decision in the report and the decision record",
    COMMISSION_TASK: "the appointed chair, the agency list's defaults and the dashboard",
    AGENCY_LIST_TASK: "the dashboard's timings and the agency list's defaults",
    INFORMATION_SHARING_TASK: "agencies' returns, their uploads and the dashboard",
    INFORMATION_QA_TASK: "agencies' returns (approved) and the dashboard",
    MEETING_TASK: "the meeting's invitation, the case page and the report",
    DRAFT_TASK: "the draft report's content and the case page",
    MEETING_OUTCOMES_TASK: "the LCSPR recommendation on the case and in the report",
    FINAL_DRAFT_TASK: "the comment window (comments open when it is done)",
    INCORPORATE_COMMENTS_TASK: "the comment window (comments close when it is done) and the final report",
    SIGN_OFF_TASK: "the case page's sign-off stage",
    SUBMISSION_TASK: "the case page's submission stage",
    DECISION_RECORD_TASK: "the decision record of a case not commissioned",
    NOT_COMMISSIONED_END: "the case's status 'not commissioned'",
    INFORMATION_SHARING_CLOSES: "the case page's information-sharing stage",
    MEETING_TIME: "the case page's meeting stage",
    COMMENT_WINDOW_CLOSES: "the comment window's close on the comments page and in e-mails",
    PANEL_SUBMISSION_SENT: "the case's status 'submitted' and its submission time",
}

DATA: dict[str, str] = {
    MEETING_STARTS_AT: "the meeting's time in e-mails, invitations, the case page and the report",
    CRITERIA_VIEWS: "the partners' views shown to the chair and in the report",
    INFORMATION_RETURNS: "the agencies' returns in the report and on the draft's page",
    SIGN_OFFS: "the sign-offs in the report and the completeness check",
    AGENCIES: "the agencies asked for information",
}


def missing_names(element_ids: set[str], data_names: set[str]) -> list[tuple[str, str]]:
    """The contract's names a process lacks: element ids not among ``element_ids``, and data names not among
    ``data_names`` (the names the process sets: by its scripts, its forms' questions, its multi-instance
    collections), each with what relies on it."""
    missing = [(name, why) for name, why in ELEMENTS.items() if name not in element_ids]
    missing += [(name, why) for name, why in DATA.items() if name not in data_names]
    return missing
