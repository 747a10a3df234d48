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
from rapidreview.services.roles import PARTNER_NAMES

KIND_LABELS = {
    "draft_report": "DRAFT",
    "final_draft_report": "FINAL DRAFT",
    "final_report": "FINAL",
    "signed_report": "SIGNED",
    "meeting_agenda": "AGENDA",
}
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
REPORT_TASKS = ("incorporate_comments", "prepare_final_draft", "prepare_draft_report")


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
    submitted_at: datetime | None = None,
) -> dict[str, Any]:
    notification = data.get("notification") or {}
    child_in = notification.get("child") or {}
    incident = notification.get("incident") or {}
    content = latest_report_content(data)
    commission = data.get("commission_rapid_review") or {}
    chair_view = data.get("consult_independent_chair") or {}
    outcome = data.get("record_meeting_outcomes") or {}
    meeting = data.get("schedule_rapid_review_meeting") or {}
    agencies = data.get("agencies") or {}
    returns = data.get("information_returns") or {}

    # The notification may lack these; incorporate_comments can supply them (a report needs them for sign-off).
    born = content.get("child_date_of_birth") or child_in.get("date_of_birth")
    sex = content.get("child_sex") or child_in.get("sex")

    agency_rows = []
    for agency_id, agency in agencies.items():
        ret = returns.get(agency_id) or {}
        form = ret.get("form") or {}
        status = {"returned": "Returned", "not_returned": "Not returned"}.get(str(ret.get("status")), "Awaited")
        period = " to ".join(p for p in (form.get("involvement_from"), form.get("involvement_to")) if p)
        involvement = "; ".join(p for p in (period, form.get("nature_of_involvement")) if p)
        agency_rows.append(
            {
                "name": agency.get("name", agency_id),
                "status": status,
                "returned_at": display_datetime(ret.get("returned_at")),
                "involvement": involvement,
            }
        )
    not_returned = [row["name"] for row in agency_rows if row["status"] == "Not returned"]

    views = [
        {
            "partner": PARTNER_NAMES.get(p, p),
            "criteria_met": yes_no(v.get("criteria_met")),
            "rationale": v.get("rationale", ""),
        }
        for p, v in (data.get("criteria_views") or {}).items()
    ]
    recommended = outcome.get("lcspr_recommended")
    decided = isinstance(recommended, bool)
    decision_text = ""
    if decided:
        decision_text = (
            "The criteria for a Local Child Safeguarding Practice Review are met"
            if recommended
            else "The criteria for a Local Child Safeguarding Practice Review are not met"
        )

    sign_offs = []
    if kind == "signed_report":
        for partner, s in (data.get("sign_offs") or {}).items():
            sign_offs.append(
                {
                    "partner": PARTNER_NAMES.get(partner, partner),
                    "name": s.get("signatory_name", ""),
                    "role": s.get("signatory_role", ""),
                    "organisation": s.get("organisation", ""),
                    "decision": "Approved" if s.get("decision") == "approve" else "Returned",
                    "at": display_datetime(s.get("completed_at")),
                    "comments": s.get("comments", ""),
                }
            )

    return {
        "partnership": {
            "name": settings.partnership_name,
            "contact_name": settings.partnership_contact_name,
            "contact_email": settings.partnership_contact_email,
        },
        "document": {
            "kind": kind,
            "title": "Rapid Review Report",
            "status_label": KIND_LABELS.get(kind, kind.upper()),
            "version": version,
            "generated_at": display_datetime(generated_at),
        },
        "case": {
            "reference": reference,
            "notified_at": display_datetime(notified_at),
            "day_one": display_date(day_one),
            "deadline": display_date(deadline),
            "meeting_at": display_datetime(data.get("meeting_starts_at")),
            "submitted_at": display_datetime(submitted_at),
        },
        "child": {
            "name": child_in.get("name", ""),
            "date_of_birth": display_date(born),
            "age": _age(born, date.fromisoformat(incident["date"]) if incident.get("date") else day_one),
            "sex": SEX.get(str(sex), str(sex).capitalize()) if sex else "",
            "ethnicity": content.get("child_ethnicity") or child_in.get("ethnicity", ""),
            "disability": content.get("child_disability") or child_in.get("disability", ""),
            "legal_status": LEGAL_STATUS.get(content.get("child_legal_status", ""), ""),
            "harm_type": HARM_TYPES.get(content.get("harm_type", ""), ""),
            "nature_of_harm": content.get("nature_of_harm", ""),
        },
        "incident": {"date": display_date(incident.get("date")), "summary": incident.get("summary", "")},
        "report": {
            **{name: content.get(name, "") for name in REPORT_FIELDS},
            "parallel_processes": [PARALLEL.get(p, p) for p in content.get("parallel_processes", [])],
            "immediate_safeguarding_actions": commission.get("immediate_safeguarding_actions", ""),
        },
        "criteria": {
            "views": views,
            "chair_consulted": bool(chair_view),
            "chair_decision": yes_no(chair_view.get("criteria_met")),
            "chair_rationale": chair_view.get("rationale", ""),
            "regional_lead_advice": chair_view.get("regional_lead_advice", ""),
        },
        "chair": {
            "name": commission.get("chair_name", ""),
            "role": commission.get("chair_role", ""),
            "organisation": commission.get("chair_organisation", ""),
            "type_label": {
                "independent_chair": "Independent Chair/Scrutineer",
                "senior_leader": "Senior leader with no involvement in the case",
            }.get(commission.get("chair_type", ""), ""),
        },
        "meeting": {
            "starts_at": display_datetime(data.get("meeting_starts_at")),
            "location": meeting.get("location", ""),
            "attendees": [dict(a) for a in meeting.get("attendees", [])],
        },
        "agencies": agency_rows,
        "agencies_not_returned": not_returned,
        "outcome": {
            "decided": decided,
            "lcspr_recommended": bool(recommended),
            "decision_text": decision_text,
            "grounds": [GROUNDS.get(g, g) for g in outcome.get("lcspr_grounds", [])],
            "rationale": outcome.get("grounds_rationale", ""),
            "key_lines_of_enquiry": list(outcome.get("key_lines_of_enquiry", [])),
            "national_review_recommended": bool(outcome.get("national_review_recommended")),
            "national_review_reason": outcome.get("national_review_reason", ""),
            "recommendations": outcome.get("recommendations", ""),
        },
        "sign_offs": sign_offs,
    }
