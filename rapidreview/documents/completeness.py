"""What a Rapid Review Report must carry before it can go to sign-off, checked on its report context.

The forms require most of this, but process data can still be incomplete: a notification without the
child's date of birth or sex, no agency returning its form and nothing said about agency involvement, no
LCSPR decision recorded (a case started on an older process version). :func:`missing_items` names each gap
in words a chair can act on; an empty list means the report is complete.

What is mandatory follows the National Panel's Rapid Review guidance (docs/documents.md lists it). "Not
known" written by a person counts as an answer: the Panel accepts it, a blank does not say it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapidreview.documents.render import NOT_RECORDED
from rapidreview.services.roles import PARTNER_NAMES


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip() or value.strip() == NOT_RECORDED
    if isinstance(value, list | tuple | dict):
        return len(value) == 0
    return False


def _get(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


# (dotted path in the report context, what to call it when it is missing)
REQUIRED: tuple[tuple[str, str], ...] = (
    ("partnership.name", "The partnership's name"),
    ("partnership.contact_email", "A contact at the partnership"),
    ("incident.date", "Date of the incident"),
    ("case.notified_at", "Date of the Serious Incident Notification"),
    ("child.name", "Child's name or pseudonym"),
    ("child.sex", "Child's sex"),
    ("child.ethnicity", "Child's ethnicity"),
    ("child.disability", "Child's disability (write \"None known\" if there is none)"),
    ("child.legal_status", "Child's legal status at the time of the incident"),
    ("child.harm_type", "Whether the child died or was seriously harmed"),
    ("child.nature_of_harm", "Nature of the harm"),
    ("report.family_structure", "Family structure"),
    ("report.health_and_disability", "Significant health issues or learning disabilities in the family"),
    ("report.other_children_safeguarding", "Immediate safeguarding arrangements for other children"),
    ("report.summary_of_facts", "Concise summary of the facts"),
    ("report.immediate_learning_and_actions", "Immediate learning and actions"),
    ("chair.name", "Name of the chair of the Rapid Review"),
)


def missing_items(context: Mapping[str, Any]) -> list[str]:
    """The mandatory items ``context`` (from build_report_context) lacks, in report order; [] if none."""
    missing = [label for path, label in REQUIRED if _blank(_get(context, path))]
    child = context.get("child") or {}
    if _blank(child.get("date_of_birth")) and _blank(child.get("age")):
        missing.insert(_after(missing, "Child's name or pseudonym"), "Child's date of birth or age")
    if _blank(_get(context, "case.meeting_at")) and _blank(_get(context, "meeting.starts_at")):
        missing.append("Date of the Rapid Review Meeting")
    missing += _agency_gaps(context)
    missing += _decision_gaps(context)
    if _get(context, "document.kind") == "signed_report":
        missing += _sign_off_gaps(context)
    return missing


def _after(items: list[str], label: str) -> int:
    return items.index(label) + 1 if label in items else 0


def _agency_gaps(context: Mapping[str, Any]) -> list[str]:
    agencies = context.get("agencies") or []
    described = not _blank(_get(context, "report.agency_involvement"))
    returned = [a for a in agencies if isinstance(a, Mapping) and a.get("status") == "Returned"]
    if described or returned:
        return []
    if not agencies:
        return ["Agencies involved: no agency is recorded and the report does not describe agency involvement"]
    return ["Agencies involved: no agency returned its information sharing form and the report does not "
            "describe the nature and period of agencies' contact"]


def _decision_gaps(context: Mapping[str, Any]) -> list[str]:
    outcome = context.get("outcome") or {}
    if not outcome.get("decided"):
        return ["Decision on whether the criteria for a Local Child Safeguarding Practice Review are met"]
    gaps = []
    if outcome.get("lcspr_recommended") and _blank(outcome.get("grounds")):
        gaps.append("Grounds on which the criteria for a Local Child Safeguarding Practice Review are met")
    if _blank(outcome.get("rationale")):
        gaps.append("Rationale for the decision on a Local Child Safeguarding Practice Review")
    return gaps


def _sign_off_gaps(context: Mapping[str, Any]) -> list[str]:
    rows = {s.get("partner"): s for s in context.get("sign_offs") or [] if isinstance(s, Mapping)}
    gaps = []
    for partner in PARTNER_NAMES.values():
        row = rows.get(partner)
        if row is None:
            gaps.append(f"Sign-off by the {partner}")
            continue
        for key, label in (("name", "name"), ("role", "role"), ("organisation", "organisation"), ("at", "date")):
            if _blank(row.get(key)):
                gaps.append(f"Sign-off by the {partner}: the signatory's {label}")
        if row.get("decision") == "Returned":
            gaps.append(f"Sign-off by the {partner}: approval (the report was returned)")
    return gaps
