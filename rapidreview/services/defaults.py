"""Computed defaults for a task's form: what the application already knows, so people type less.

They win over a form's example answers in the simulator and pre-fill forms in the web app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import object_session

from rapidreview.documents.report_context import latest_report_content
from rapidreview.services import partnerships
from rapidreview.services.roles import PARTNER_NAMES, PARTNER_ROLES
from rapidreview.services.runtime import Runtime
from rapidreview.store.models import Case

MEETING_DAY, MEETING_TIME = 8, "10:00"


def computed_defaults(rt: Runtime, case: Case, element_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    previous = data.get(element_id)
    if isinstance(previous, dict):  # returned for correction: start from what was sent
        return {k: v for k, v in previous.items() if k not in ("completed_at", "completed_by")}
    partner = data.get("partner") if isinstance(data.get("partner"), str) else None
    if element_id == "record_criteria_view":
        return {"criteria_met": "yes"}
    if element_id == "sign_off_final_report":
        return {"decision": "approve", "organisation": PARTNER_NAMES.get(partner or "", ""),
                "lcspr_recommendation_ratified": True}
    if element_id == "quality_assure_information_sharing_form":
        return {"decision": "approve"}
    if element_id == "share_agency_list":
        agencies = (case.notification or {}).get("agencies") or []
        return {"agencies": [dict(a) for a in agencies]} if agencies else {}
    if element_id == "schedule_rapid_review_meeting":
        return _meeting_defaults(rt, case, data)
    if element_id in ("prepare_final_draft", "incorporate_comments"):
        return {k: v for k, v in latest_report_content(data).items()
                if k not in ("completed_at", "completed_by", "provisional_view", "changes_summary", "comments_received")}
    if element_id == "record_meeting_outcomes" and data.get("meeting_starts_at"):
        return {"meeting_held_on": str(data["meeting_starts_at"])[:10]}
    return {}


def _meeting_defaults(rt: Runtime, case: Case, data: Mapping[str, Any]) -> dict[str, Any]:
    # The case's partnership's mailboxes and name, never another's (rapidreview/services/partnerships.py).
    settings = partnerships.settings_for(rt, object_session(case), case.partnership_id)
    attendees: list[dict[str, str]] = []
    commission = data.get("commission_rapid_review") or {}
    if commission.get("chair_email"):
        attendees.append({"name": commission.get("chair_name", "Chair"), "email": commission["chair_email"],
                          "organisation": commission.get("chair_organisation", settings.partnership_name)})
    attendees.append({"name": "Partnership Manager", "email": settings.role_mailboxes["partnership_manager"],
                      "organisation": settings.partnership_name})
    for partner, role in PARTNER_ROLES.items():
        attendees.append({"name": f"{PARTNER_NAMES[partner]} lead", "email": settings.role_mailboxes[role],
                          "organisation": PARTNER_NAMES[partner]})
    for agency in (data.get("agencies") or {}).values():
        attendees.append({"name": agency.get("contact_name") or agency.get("name", ""), "email": agency["contact_email"],
                          "organisation": agency.get("name", "")})
    seen: set[str] = set()
    unique = [a for a in attendees if not (a["email"] in seen or seen.add(a["email"]))]  # type: ignore[func-returns-value]
    return {"meeting_date": rt.calendar.day_date(case.day_one, MEETING_DAY).isoformat(), "meeting_time": MEETING_TIME,
            "duration_minutes": 120,
            "attendees": unique}
