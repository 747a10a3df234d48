"""The decision record: what the National Panel receives when the partners decide the criteria for a Rapid
Review are not met.

It carries the notification, each statutory partner's Day 1 view on the criteria for a Rapid Review, the
Independent Chair's decision when the partners did not agree, and the Partnership Manager's confirmation
(a summary of the decision and the immediate safeguarding of the child and other children). The names
are the process data contract in docs/process-model.md; everything here is display text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from rapidreview.config import Settings
from rapidreview.documents.report_context import (
    chair_consultation,
    child_context,
    criteria_view_rows,
    display_date,
    display_datetime,
    document_context,
    partnership_context,
    stamped,
)
from rapidreview.process_contract import CHAIR_CONSULTATION_TASK, CRITERIA_VIEWS, DECISION_RECORD_TASK

CONFIRMATION_TASK = DECISION_RECORD_TASK


def _decision(data: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the criteria for a Rapid Review are met: the Independent Chair's decision when they were
    consulted, otherwise the partners' view when all of them gave the same answer."""
    chair = data.get(CHAIR_CONSULTATION_TASK) or {}
    views = [v.get("criteria_met") for v in (data.get(CRITERIA_VIEWS) or {}).values() if isinstance(v, Mapping)]
    if chair.get("criteria_met") in ("yes", "no"):
        met, by = chair["criteria_met"] == "yes", "the Independent Chair, as the safeguarding partners did not agree"
    elif views and len(set(views)) == 1 and views[0] in ("yes", "no"):
        met, by = views[0] == "yes", "the statutory safeguarding partners"
    else:
        return {"made": False, "criteria_met": None, "text": ""}
    verdict = "are met" if met else "are not met"
    return {"made": True, "criteria_met": met,
            "text": f"The criteria for a Rapid Review {verdict}: decided by {by}."}


def build_decision_record_context(
    *,
    data: Mapping[str, Any],
    version: int,
    reference: str,
    notified_at: datetime,
    day_one: date,
    settings: Settings,
    generated_at: datetime,
) -> dict[str, Any]:
    notification = data.get("notification") or {}
    incident = notification.get("incident") or {}
    confirmation = data.get(CONFIRMATION_TASK) or {}
    who = stamped(confirmation)
    return {
        "partnership": partnership_context(settings),
        "document": document_context("decision_record", "Rapid Review Decision Record", version, generated_at),
        "case": {
            "reference": reference,
            "notified_at": display_datetime(notified_at),
            "day_one": display_date(day_one),
        },
        "child": child_context(data, {}, day_one),
        "incident": {
            "date": display_date(incident.get("date")),
            "summary": incident.get("summary", ""),
        },
        "criteria": {"views": criteria_view_rows(data), **chair_consultation(data)},
        "decision": _decision(data),
        "confirmation": {
            "summary": confirmation.get("summary", ""),
            "immediate_safeguarding": confirmation.get("immediate_safeguarding", ""),
            "name": who["name"],
            "role": who["role"],
            "at": who["at"],
        },
    }
