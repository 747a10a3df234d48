"""What changed between two versions of the report.

Generated versions keep the report context they were rendered from (``documents.content``): those are
compared field by field, with a word-level diff of long text. Uploaded versions (a person's edits in Word)
have no context, so two versions of which one is an upload are compared paragraph by paragraph on the
text of the .docx files.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The report's own bookkeeping, which changes with every version and says nothing about its content.
IGNORED = frozenset({"document.kind", "document.title", "document.status_label", "document.version",
                     "document.generated_at"})
SECTION_LABELS = {
    "partnership": "Partnership", "case": "Case", "child": "Child", "incident": "Incident",
    "report": "Report", "criteria": "Criteria views", "chair": "Chair", "meeting": "Meeting",
    "agencies": "Agencies involved", "agencies_not_returned": "Agencies that did not return a form",
    "outcome": "Decision", "sign_offs": "Sign-off", "decision": "Decision on the criteria for a Rapid Review",
    "confirmation": "Confirmation by the Partnership Manager",
}
FIELD_LABELS = {
    "case.notified_at": "Notified", "case.day_one": "Day 1", "case.deadline": "Deadline",
    "case.meeting_at": "Meeting", "case.submitted_at": "Submitted to the National Panel",
    "child.date_of_birth": "Date of birth", "child.legal_status": "Legal status",
    "child.harm_type": "Died or seriously harmed", "child.nature_of_harm": "Nature of the harm",
    "report.health_and_disability": "Health issues and learning disabilities in the family",
    "report.other_children_safeguarding": "Safeguarding arrangements for other children",
    "report.immediate_safeguarding_actions": "Immediate safeguarding action",
    "report.inequalities": "Race, ethnicity, disability and other inequalities",
    "report.immediate_learning_and_actions": "Immediate learning and actions",
    "report.parallel_processes_details": "Parallel processes: details",
    "criteria.chair_consulted": "Independent Chair consulted", "outcome.lcspr_recommended": "LCSPR recommended",
    "outcome.decision_text": "Decision as recorded", "outcome.key_lines_of_enquiry": "Key lines of enquiry",
    "outcome.national_review_recommended": "National review recommended",
    "outcome.national_review_reason": "National review: reason", "chair.type_label": "Chair type",
    "partnership.contact_name": "Contact", "partnership.contact_email": "Contact e-mail",
    "meeting.present": "Attendees", "meeting.present_text": "Attendees", "meeting.actions": "Actions taken or required",
    "meeting.themes": "Themes for the summary and analysis", "meeting.agency_leads": "Agency leads",
    "outcome.provisional_view": "Chair's provisional view",
    "outcome.learning_dissemination": "How the learning will be disseminated",
}
# Lists of rows are matched on a natural key, so a new agency is "added", not "everything shifted".
ROW_KEYS = {"agencies": "name", "criteria.views": "partner", "sign_offs": "partner", "meeting.attendees": "name",
            "meeting.present": "name", "meeting.agency_leads": "agency"}
_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Segment:
    op: str  # equal, delete, insert
    text: str


@dataclass(frozen=True)
class Change:
    label: str
    status: str  # changed, added, removed
    old: str = ""
    new: str = ""
    segments: list[Segment] = field(default_factory=list)  # word diff of old -> new, for changed text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return "\n".join(_text(v) for v in value)
    return str(value).strip()


def _label(path: str) -> str:
    if path in FIELD_LABELS:
        return FIELD_LABELS[path]
    return path.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def flatten(context: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """{key: (label, text)} for every field of a report context, in report order."""
    out: dict[str, tuple[str, str]] = {}

    def walk(value: Any, path: str, label: str) -> None:
        if path in IGNORED:
            return
        if isinstance(value, Mapping):
            for key, item in value.items():
                sub = f"{path}.{key}" if path else str(key)
                walk(item, sub, f"{label} › {_label(sub)}" if path else SECTION_LABELS.get(sub, _label(sub)))
            return
        if isinstance(value, list) and path in ROW_KEYS:
            key_name = ROW_KEYS[path]
            for index, row in enumerate(value, 1):
                if not isinstance(row, Mapping):
                    continue
                name = _text(row.get(key_name)) or f"row {index}"
                out.setdefault(f"{path}[{name}]", (f"{label} › {name}", name))
                for key, item in row.items():
                    if key != key_name:
                        out[f"{path}[{name}].{key}"] = (f"{label} › {name} › {_label(key)}", _text(item))
            return
        out[path] = (label, _text(value))

    walk(context, "", "")
    return out


def word_diff(old: str, new: str) -> list[Segment]:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    segments: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(Segment("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("delete", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("insert", "".join(b[j1:j2])))
    return segments


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Each field of the report context that differs between ``old`` and ``new``, in report order."""
    before, after = flatten(old), flatten(new)
    changes: list[Change] = []
    for key in list(after) + [k for k in before if k not in after]:
        if key in before and key in after:
            (label, was), (_, now) = before[key], after[key]
            if was != now:
                changes.append(Change(label, "changed", was, now, word_diff(was, now)))
        elif key in after:
            label, now = after[key]
            if now:
                changes.append(Change(label, "added", "", now))
        else:
            label, was = before[key]
            if was:
                changes.append(Change(label, "removed", was, ""))
    return changes


def paragraph_changes(old: Sequence[str], new: Sequence[str]) -> list[Change]:
    """Paragraphs changed, added or removed between two documents' texts, in document order."""
    changes: list[Change] = []
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        was, now = list(old[i1:i2]), list(new[j1:j2])
        where = f"Paragraph {j1 + 1}" if now else f"Paragraph {i1 + 1} of the earlier version"
        if op == "replace" and len(was) == len(now):
            for offset, (a, b) in enumerate(zip(was, now, strict=True)):
                changes.append(Change(f"Paragraph {j1 + offset + 1}", "changed", a, b, word_diff(a, b)))
        elif op == "replace":
            a, b = "\n".join(was), "\n".join(now)
            changes.append(Change(where, "changed", a, b, word_diff(a, b)))
        elif op == "insert":
            changes.append(Change(where, "added", "", "\n".join(now)))
        else:
            changes.append(Change(where, "removed", "\n".join(was), ""))
    return changes
