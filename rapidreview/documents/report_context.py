"""Turn a case's process data into the context the report and agenda templates render.

The process data names are the contract in docs/process-model.md. Everything here is display text:
dates in London time, codes turned into words, so templates stay free of logic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from rapidreview.calendar import WorkingCalendar, to_london
from rapidreview.config import Settings
from rapidreview.process_contract import (
    AGENCIES,
    CHAIR_CONSULTATION_TASK,
    COMMISSION_TASK,
    CRITERIA_VIEWS,
    DRAFT_TASK,
    FINAL_DRAFT_DOCUMENT,
    FINAL_DRAFT_TASK,
    INCORPORATE_COMMENTS_TASK,
    INFORMATION_RETURNS,
    MEETING_OUTCOMES_TASK,
    MEETING_STARTS_AT,
    MEETING_TASK,
    SIGN_OFFS,
)
from rapidreview.services.people.roles import PARTNER_NAMES

KIND_LABELS = {
    "draft_report": "DRAFT",
    FINAL_DRAFT_DOCUMENT: "FINAL DRAFT",
    "final_report": "FINAL",
    "signed_report": "SIGNED",
    "meeting_agenda": "AGENDA",
    "decision_record": "DECISION RECORD",
}
# An agency's information sharing return; "not_known" is an answer ("not known to this agency"), so a return.
RETURN_STATUS = {
    "returned": "Returned",
    "not_known": "Not known to this agency",
    "not_returned": "Not returned",
}
RETURNED_LABELS = frozenset({"Returned", "Not known to this agency"})
LEGAL_STATUS = {
    "none": "No statutory involvement",
    "child_in_need": "Child in need",
    "child_protection_plan": "Subject to a child protection plan",
    "looked_after": "Looked after child",
    "care_leaver": "Care leaver",
    "not_known": "Not known",
}
SEX = {"female": "Female", "male": "Male", "not_known": "Not known"}
HARM_TYPES = {"died": "The child died", "seriously_harmed": "The child was seriously harmed"}
GROUNDS = {
    "reg11_a_improvements": "(a) highlights or may highlight improvements needed to safeguard and promote the welfare of children",
    "reg11_b_recurrent_themes": "(b) highlights or may highlight recurrent themes in the safeguarding of children",
    "reg11_c_multi_agency_working": "(c) highlights or may highlight concerns about two or more organisations or agencies working together effectively",
    "reg11_d_panel_considered": "(d) the National Panel has considered the case and concluded a local review may be more appropriate",
    "single_agency_concern": "Concerns about the actions of a single agency",
    "no_agency_involvement": "No agency involvement where that is itself a concern",
    "cross_boundary": "More than one local authority, police area or integrated care board involved",
    "institutional_setting": "The harm occurred in an institutional setting",
}
PARALLEL = {
    "police_investigation": "Police investigation",
    "coroner": "Coroner's inquest",
    "child_death_review": "Child death review",
    "domestic_homicide_review": "Domestic homicide review",
    "other": "Other",
}
REPORT_FIELDS = (
    "family_structure",
    "health_and_disability",
    "other_children_safeguarding",
    "summary_of_facts",
    "agency_involvement",
    "key_practice_episodes",
    "what_worked_well",
    "concerns",
    "inequalities",
    "parallel_processes_details",
    "immediate_learning_and_actions",
)
REPORT_TASKS = (INCORPORATE_COMMENTS_TASK, FINAL_DRAFT_TASK, DRAFT_TASK)


def display_datetime(value: Any) -> str:
    if not value:
        return ""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if isinstance(when, datetime):
        local = to_london(when)
        return local.strftime("%-d %B %Y, %H:%M")
    return when.strftime("%-d %B %Y")


def display_date(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value  # free text such as "not known"
    return value.strftime("%-d %B %Y")


def yes_no(value: Any) -> str:
    return {"yes": "Yes", "no": "No", "not_known": "Not known", True: "Yes", False: "No"}.get(value, "")


def flag(value: Any) -> bool | None:
    """A yes/no answer kept as it is, or None when it was never given (not answered is not "no")."""
    return value if isinstance(value, bool) else None


def stamped(answers: Mapping[str, Any]) -> dict[str, str]:
    """Who completed a task and when, as the application stamped it on the answers.

    ``completed_by_name`` and ``completed_by_role`` are the signed-in account's name and role label; answers
    stamped before they were recorded carry only ``completed_by`` (the account's e-mail)."""
    return {
        "name": str(answers.get("completed_by_name") or ""),
        "role": str(answers.get("completed_by_role") or ""),
        "account": str(answers.get("completed_by") or ""),
        "at": display_datetime(answers.get("completed_at")),
    }


def _people(value: Any) -> list[dict[str, str]]:
    """Attendees as rows of name, role and organisation (text from older cases is kept by the caller)."""
    if not isinstance(value, list):
        return []
    return [
        {key: str(person.get(key) or "") for key in ("name", "role", "organisation")}
        for person in value
        if isinstance(person, Mapping)
    ]


def _age(born: str | None, on: date) -> str:
    if not born:
        return ""
    try:
        dob = date.fromisoformat(born)
    except ValueError:
        return ""
    years = on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))
    return f"{years} years" if years >= 1 else f"{(on - dob).days // 30} months"


def latest_report_content(data: Mapping[str, Any]) -> dict[str, Any]:
    """The newest version of the report's content: each later task revises the one before."""
    for task in REPORT_TASKS:
        if isinstance(data.get(task), dict):
            return dict(data[task])
    return {}


def partnership_context(settings: Settings) -> dict[str, str]:
    return {
        "name": settings.partnership_name,
        "contact_name": settings.partnership_contact_name,
        "contact_email": settings.partnership_contact_email,
    }


def document_context(kind: str, title: str, version: int, generated_at: datetime) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": title,
        "status_label": KIND_LABELS.get(kind, kind.upper()),
        "version": version,
        "generated_at": display_datetime(generated_at),
    }


def child_context(data: Mapping[str, Any], content: Mapping[str, Any], day_one: date) -> dict[str, str]:
    """The child as the notification gave them, with what the report's content added or corrected."""
    notification = data.get("notification") or {}
    child_in = notification.get("child") or {}
    incident = notification.get("incident") or {}
    # The notification may lack these; incorporate_comments can supply them (a report needs them for sign-off).
    born = content.get("child_date_of_birth") or child_in.get("date_of_birth")
    sex = content.get("child_sex") or child_in.get("sex")
    return {
        "name": child_in.get("name", ""),
        "date_of_birth": display_date(born),
        "age": _age(born, date.fromisoformat(incident["date"]) if incident.get("date") else day_one),
        "sex": SEX.get(str(sex), str(sex).capitalize()) if sex else "",
        "ethnicity": content.get("child_ethnicity") or child_in.get("ethnicity", ""),
        "disability": content.get("child_disability") or child_in.get("disability", ""),
        "legal_status": LEGAL_STATUS.get(content.get("child_legal_status", ""), ""),
        "harm_type": HARM_TYPES.get(content.get("harm_type", ""), ""),
        "nature_of_harm": content.get("nature_of_harm", ""),
    }


def _agency_rows(data: Mapping[str, Any]) -> list[dict[str, str]]:
    agencies = data.get(AGENCIES) or {}
    returns = data.get(INFORMATION_RETURNS) or {}
    rows = []
    for agency_id, agency in agencies.items():
        ret = returns.get(agency_id) or {}
        form = ret.get("form") or {}
        status = RETURN_STATUS.get(str(ret.get("status")), "Awaited")
        period = " to ".join(p for p in (form.get("involvement_from"), form.get("involvement_to")) if p)
        involvement = "; ".join(p for p in (period, form.get("nature_of_involvement")) if p)
        rows.append(
            {
                "name": agency.get("name", agency_id),
                "status": status,
                "returned_at": display_datetime(ret.get("returned_at")),
                "involvement": involvement,
            }
        )
    return rows


def criteria_view_rows(data: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each partner's Day 1 view on whether the case meets the criteria for a Rapid Review."""
    rows = []
    for partner, view in (data.get(CRITERIA_VIEWS) or {}).items():
        who = stamped(view)
        rows.append(
            {
                "partner": PARTNER_NAMES.get(partner, partner),
                "criteria_met": yes_no(view.get("criteria_met")),
                "rationale": view.get("rationale", ""),
                "immediate_action_needed": yes_no(view.get("immediate_action_needed")),
                "immediate_action_details": view.get("immediate_action_details", ""),
                "name": who["name"],
                "role": who["role"],
                "at": who["at"],
            }
        )
    return rows


def chair_consultation(data: Mapping[str, Any]) -> dict[str, Any]:
    """The Independent Chair's decision when the partners did not agree (``consulted`` False otherwise)."""
    chair_view = data.get(CHAIR_CONSULTATION_TASK) or {}
    who = stamped(chair_view)
    return {
        "chair_consulted": bool(chair_view),
        "chair_decision": yes_no(chair_view.get("criteria_met")),
        "chair_rationale": chair_view.get("rationale", ""),
        "regional_lead_advice_sought": yes_no(chair_view.get("regional_lead_advice_sought")),
        "regional_lead_advice": chair_view.get("regional_lead_advice", ""),
        "chair_decided_by": who["name"],
        "chair_decided_by_role": who["role"],
        "chair_decided_at": who["at"],
    }


def _sign_off_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The partners' sign-offs, each bound to the account that made it.

    Name and role are the account's, as stamped on the answers; older cases typed them (``signatory_name``,
    ``signatory_role``), which is shown only when no stamp exists. The organisation is the partner itself.
    """
    rows = []
    for partner, answers in (data.get(SIGN_OFFS) or {}).items():
        who = stamped(answers)
        ratified = answers.get("lcspr_recommendation_ratified")
        rows.append(
            {
                "partner": PARTNER_NAMES.get(partner, partner),
                "partner_id": partner,
                "name": who["name"] or answers.get("signatory_name", ""),
                "role": who["role"] or answers.get("signatory_role", ""),
                "organisation": PARTNER_NAMES.get(partner, answers.get("organisation", "")),
                "decision": "Approved" if answers.get("decision") == "approve" else "Returned",
                "ratified": yes_no(ratified) if isinstance(ratified, bool) else "",
                "at": who["at"],
                "comments": answers.get("comments", ""),
                "account": who["account"],
                "account_role": who["role"],
            }
        )
    return rows


def _meeting(data: Mapping[str, Any], outcome: Mapping[str, Any]) -> dict[str, Any]:
    meeting = data.get(MEETING_TASK) or {}
    present = outcome.get("attendees_present")
    agreed = outcome.get("background_agreed")
    return {
        "recorded": bool(outcome),  # False before the meeting: the draft says what the meeting will record
        "starts_at": display_datetime(data.get(MEETING_STARTS_AT)),
        "location": meeting.get("location", ""),
        "attendees": [dict(a) for a in meeting.get("attendees", [])],
        "held_on": display_date(outcome.get("meeting_held_on")),
        # who attended: rows from the current form; cases recorded before it wrote one line of text
        "present": _people(present),
        "present_text": present if isinstance(present, str) else "",
        "background_agreed": yes_no(agreed) if isinstance(agreed, bool) else "",
        "working_well": outcome.get("working_well", ""),
        "concerns": outcome.get("concerns", ""),
        "themes": outcome.get("themes", ""),
        "actions": outcome.get("actions_taken_or_required", ""),
        "agency_leads": [
            {"agency": str(row.get("agency") or ""), "lead": str(row.get("lead") or "")}
            for row in outcome.get("agency_leads") or []
            if isinstance(row, Mapping)
        ],
    }


def _outcome(data: Mapping[str, Any], outcome: Mapping[str, Any]) -> dict[str, Any]:
    recommended = outcome.get("lcspr_recommended")
    decided = isinstance(recommended, bool)
    decision_text = ""
    if decided:
        decision_text = (
            "The criteria for a Local Child Safeguarding Practice Review are met"
            if recommended
            else "The criteria for a Local Child Safeguarding Practice Review are not met"
        )
    draft = data.get(DRAFT_TASK) or {}
    return {
        "decided": decided,
        "lcspr_recommended": bool(recommended),
        "decision_text": decision_text,
        "provisional_view": draft.get("provisional_view", ""),
        "grounds": [GROUNDS.get(g, g) for g in outcome.get("lcspr_grounds", [])],
        "rationale": outcome.get("grounds_rationale", ""),
        "key_lines_of_enquiry": list(outcome.get("key_lines_of_enquiry", [])),
        "national_review_recommended": flag(outcome.get("national_review_recommended")),
        "national_review_reason": outcome.get("national_review_reason", ""),
        "recommendations": outcome.get("recommendations", ""),
        "learning_dissemination": outcome.get("learning_dissemination", ""),
    }


def build_report_context(
    *,
    data: Mapping[str, Any],
    kind: str,
    version: int,
    reference: str,
    notified_at: datetime,
    day_one: date,
    deadline: date,
    settings: Settings,
    calendar: WorkingCalendar,
    generated_at: datetime,
) -> dict[str, Any]:
    """The report (draft to signed) and the meeting agenda.

    There is no submission date: every document is made before the e-mail to the National Panel goes, so
    the submission is recorded on the case and in that e-mail, never in the report it attaches.
    """
    notification = data.get("notification") or {}
    incident = notification.get("incident") or {}
    content = latest_report_content(data)
    commission = data.get(COMMISSION_TASK) or {}
    outcome = data.get(MEETING_OUTCOMES_TASK) or {}
    agency_rows = _agency_rows(data)

    return {
        "partnership": partnership_context(settings),
        "document": document_context(kind, "Rapid Review Report", version, generated_at),
        "case": {
            "reference": reference,
            "notified_at": display_datetime(notified_at),
            "day_one": display_date(day_one),
            "deadline": display_date(deadline),
            "meeting_at": display_datetime(data.get(MEETING_STARTS_AT)),
        },
        "child": child_context(data, content, day_one),
        "incident": {"date": display_date(incident.get("date")), "summary": incident.get("summary", "")},
        "report": {
            **{name: content.get(name, "") for name in REPORT_FIELDS},
            "parallel_processes": [PARALLEL.get(p, p) for p in content.get("parallel_processes", [])],
            "immediate_safeguarding_actions": commission.get("immediate_safeguarding_actions", ""),
        },
        "criteria": {"views": criteria_view_rows(data), **chair_consultation(data)},
        "chair": {
            "name": commission.get("chair_name", ""),
            "role": commission.get("chair_role", ""),
            "organisation": commission.get("chair_organisation", ""),
            "type_label": {
                "independent_chair": "Independent Chair/Scrutineer",
                "senior_leader": "Senior leader with no involvement in the case",
            }.get(commission.get("chair_type", ""), ""),
        },
        "meeting": _meeting(data, outcome),
        "agencies": agency_rows,
        "agencies_not_returned": [row["name"] for row in agency_rows if row["status"] == "Not returned"],
        "outcome": _outcome(data, outcome),
        "sign_offs": _sign_off_rows(data) if kind == "signed_report" else [],
    }


def information_sharing_form_context(settings: Settings, *, reference: str, agency: str, due: str) -> dict[str, Any]:
    """The paper Information Sharing Form's heading: the case, the agency and when the form is due."""
    return {
        "partnership": partnership_context(settings),
        "case": {"reference": reference},
        "agency": {"name": agency},
        "due": due,
    }
