"""A readable timeline of a simulated case, for process owners at a terminal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rapidreview.calendar import to_london

LABELS = {
    "case_started": "case started", "status_changed": "status", "task_ready": "task ready",
    "task_completed": "completed", "task_cancelled": "cancelled", "timer_fired": "timer fired",
    "email_sent": "e-mail sent", "email_failed": "e-mail failed", "document_created": "document",
    "task_claimed": "claimed", "task_released": "released", "task_reassigned": "reassigned",
    "document_downloaded": "downloaded", "case_moved": "moved to a new process version",
    "draft_comment_added": "comment on the final draft", "case_action": "case changed",
    "demo_clock_moved": "moved in time (demonstration)",
}


def describe_event(event: dict[str, Any], *, names: bool = False) -> str:
    """One line about an event; ``names`` shows task names (for staff) instead of element ids."""
    kind = event["type"]
    who = event.get("partner") or event.get("agency")
    who_text = f" ({who})" if who else ""
    if kind in ("task_ready", "task_completed", "task_cancelled", "timer_fired", "task_claimed", "task_released",
                "task_reassigned"):
        by = f" by {event['by']}" if kind == "task_completed" and event.get("by") else ""
        to = f" to {event['to']}" if kind == "task_reassigned" and event.get("to") else ""
        label = (event.get("name") if names else None) or event.get("id", "")
        return f"{label}{who_text}{by}{to}"
    if kind == "document_downloaded":
        return f"{event.get('kind')} v{event.get('version', '')}"
    if kind == "email_sent":
        attached = f" [{', '.join(event['attachments'])}]" if event.get("attachments") else ""
        return f"to {', '.join(event.get('to', []))}: {event.get('subject', '')}{attached}"
    if kind == "document_created":
        return f"{event.get('kind')} v{event.get('version', '')} {event.get('path', '')}"
    if kind == "status_changed":
        return str(event.get("to", ""))
    if kind == "case_started":
        return f"{event.get('reference', '')}: Day 1 {event.get('day_one', '')}, deadline {event.get('deadline', '')}"
    if kind == "draft_comment_added":
        late = " (late)" if event.get("late") else ""
        return f"by {event.get('actor', '')} on version {event.get('draft_version', '')}{late}"
    if kind == "demo_clock_moved":
        return f"to {event.get('label', event.get('to', ''))}"
    if kind == "case_moved":
        note = f": {event['note']}" if event.get("note") else ""
        return f"from version {event.get('from')} to version {event.get('to')}{note}"
    return ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("at", "day", "type"))


def render_timeline(result: dict[str, Any]) -> str:
    case = result["case"]
    lines = [f"Case {case['reference']}: Day 1 {case['day_one']}, deadline (Day 15) {case['deadline']}", ""]
    for event in result["events"]:
        if event["type"] == "task_ready":
            continue  # the completion line says enough; --json keeps every event
        when = to_london(datetime.fromisoformat(event["at"])).strftime("%a %d %b %H:%M")
        lines.append(f"Day {event['day']:>2}  {when}  {LABELS.get(event['type'], event['type']):<13} {describe_event(event)}")
    lines.append("")
    if case["status"] == "submitted":
        verdict = "LATE" if case["late"] else "on time"
        lines.append(f"Submitted to the National Panel on Day {case['submitted_on_day']} ({verdict}).")
    elif case["status"] == "not_commissioned":
        lines.append("Rapid Review not commissioned: the partners decided the criteria are not met.")
    else:
        lines.append("Not submitted by the end of the simulation" + (" (LATE)." if case["late"] else "."))
    if case.get("lcspr_recommended") is not None:
        lines.append(f"LCSPR recommended: {'yes' if case['lcspr_recommended'] else 'no'}.")
    return "\n".join(lines) + "\n"
