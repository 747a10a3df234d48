"""Computed defaults for a task's form: what the application already knows, so people type less.

They win over a form's example answers in the simulator and pre-fill forms in the web app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import object_session

from rapidreview.documents.report_context import latest_report_content
from rapidreview.forms import without_decisions
from rapidreview.process_contract import (
    AGENCIES,
    AGENCY_LIST_TASK,
    COMMISSION_TASK,
    FINAL_DRAFT_TASK,
    INCORPORATE_COMMENTS_TASK,
    MEETING_OUTCOMES_TASK,
    MEETING_STARTS_AT,
    MEETING_TASK,
)
from rapidreview.runtime import Runtime
from rapidreview.services.people import partnerships
from rapidreview.services.people.roles import PARTNER_NAMES, PARTNER_ROLES
from rapidreview.store.models import Case

STAMPS = ("completed_at", "completed_by", "completed_by_name", "completed_by_role")


def computed_defaults(rt: Runtime, case: Case, element_id: str, data: Mapping[str, Any],
                      schema: Mapping[str, Any] | None = None, process: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Facts the application already knows, to save typing. Never a decision (criteria met, approve,
    ratify, a recommendation): a person opening a form finds those unanswered, also when a task comes back
    (``schema`` names the form's decisions, which are left out of the answers sent before)."""
    previous = data.get(element_id)
    if isinstance(previous, dict):  # returned for correction: start from what was sent, decisions aside
        return without_decisions(schema, {k: v for k, v in previous.items() if k not in STAMPS})
    # The process's own "default:<field>" values (the meeting's usual day and time, say), never decisions.
    given = without_decisions(schema, process or {})
    return {**given, **_known_facts(rt, case, element_id, data)}


def _known_facts(rt: Runtime, case: Case, element_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    if element_id == AGENCY_LIST_TASK:
        agencies = (case.notification or {}).get("agencies") or []
        return {"agencies": [dict(a) for a in agencies]} if agencies else {}
    if element_id == MEETING_TASK:
        return _meeting_defaults(rt, case, data)
    if element_id in (FINAL_DRAFT_TASK, INCORPORATE_COMMENTS_TASK):
        return {k: v for k, v in latest_report_content(data).items()
                if k not in (*STAMPS, "provisional_view", "changes_summary", "comments_received")}
    if element_id == MEETING_OUTCOMES_TASK and data.get(MEETING_STARTS_AT):
        invited = (data.get(MEETING_TASK) or {}).get("attendees") or []
        return {"meeting_held_on": str(data[MEETING_STARTS_AT])[:10],
                "attendees_present": [{"name": a.get("name", ""), "role": a.get("role", ""),
                                       "organisation": a.get("organisation", "")} for a in invited]}
    return {}


def _meeting_defaults(rt: Runtime, case: Case, data: Mapping[str, Any]) -> dict[str, Any]:
    # The case's partnership's mailboxes and name, never another's (rapidreview/services/people/partnerships.py).
    settings = partnerships.settings_for(rt, object_session(case), case.partnership_id)
    attendees: list[dict[str, str]] = []
    commission = data.get(COMMISSION_TASK) or {}
    if commission.get("chair_email"):
        attendees.append({"name": commission.get("chair_name", "Chair"), "role": "Chair of the Rapid Review",
                          "email": commission["chair_email"],
                          "organisation": commission.get("chair_organisation", settings.partnership_name)})
    attendees.append({"name": "Partnership Manager", "role": "Partnership Manager",
                      "email": settings.role_mailboxes["partnership_manager"], "organisation": settings.partnership_name})
    for partner, role in PARTNER_ROLES.items():
        attendees.append({"name": f"{PARTNER_NAMES[partner]} lead", "role": f"{PARTNER_NAMES[partner]} lead",
                          "email": settings.role_mailboxes[role], "organisation": PARTNER_NAMES[partner]})
    session = object_session(case)
    for contact in partnerships.meeting_contacts(session, case.partnership_id) if session is not None else []:
        attendees.append({"name": contact.name, "role": contact.role, "email": contact.email,
                          "organisation": contact.organisation})
    for agency in (data.get(AGENCIES) or {}).values():
        attendees.append({"name": agency.get("contact_name") or agency.get("name", ""), "role": "Agency representative",
                          "email": agency["contact_email"], "organisation": agency.get("name", "")})
    seen: set[str] = set()
    unique = [a for a in attendees if a["email"] and not (a["email"] in seen or seen.add(a["email"]))]  # type: ignore[func-returns-value]
    return {"duration_minutes": 120, "attendees": unique}
