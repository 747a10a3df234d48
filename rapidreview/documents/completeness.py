"""What a Rapid Review Report (or a decision record) must carry, checked on the context it renders.

The forms require most of this, but process data can still be incomplete: a notification without the
child's date of birth or sex, no agency returning its form and nothing said about agency involvement, no
LCSPR decision recorded (a case started on an older process version). :func:`missing_items` names each gap
in words a chair can act on; an empty list means the report is complete. A signed report also needs the
three partners' approvals, each made by a different account that holds that partner's lead role.

What is mandatory follows the National Panel's Rapid Review guidance (docs/documents.md lists it). "Not
known" written by a person counts as an answer: the Panel accepts it, a blank does not say it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rapidreview.documents.render import NOT_RECORDED
from rapidreview.documents.report_context import RETURNED_LABELS
from rapidreview.services.people.roles import PARTNER_NAMES, PARTNER_ROLES
from rapidreview.services.people.users import ROLES

#: The kinds of report that go to the National Panel or straight to sign-off: they need the learning plan.
FINAL_KINDS = frozenset({"final_report", "signed_report"})


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
    """The mandatory items ``context`` lacks, in document order; [] if none.

    ``context`` is a report's (build_report_context) or, for kind ``decision_record``, a decision record's
    (build_decision_record_context)."""
    if _get(context, "document.kind") == "decision_record":
        return _decision_record_gaps(context)
    missing = [label for path, label in REQUIRED if _blank(_get(context, path))]
    child = context.get("child") or {}
    if _blank(child.get("date_of_birth")) and _blank(child.get("age")):
        missing.insert(_after(missing, "Child's name or pseudonym"), "Child's date of birth or age")
    if _blank(_get(context, "case.meeting_at")) and _blank(_get(context, "meeting.starts_at")):
        missing.append("Date of the Rapid Review Meeting")
    missing += _agency_gaps(context)
    missing += _decision_gaps(context)
    if _get(context, "document.kind") in FINAL_KINDS and _blank(_get(context, "outcome.learning_dissemination")):
        missing.append("How the learning will be disseminated and acted on across the partnership")
    if _get(context, "document.kind") == "signed_report":
        missing += _sign_off_gaps(context)
    return missing


def _after(items: list[str], label: str) -> int:
    return items.index(label) + 1 if label in items else 0


def _agency_gaps(context: Mapping[str, Any]) -> list[str]:
    agencies = context.get("agencies") or []
    described = not _blank(_get(context, "report.agency_involvement"))
    returned = [a for a in agencies if isinstance(a, Mapping) and a.get("status") in RETURNED_LABELS]
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
    if outcome.get("lcspr_recommended") and _blank(outcome.get("key_lines_of_enquiry")):
        gaps.append("Key lines of enquiry for the Local Child Safeguarding Practice Review")
    return gaps


def _lead_role(partner_id: str) -> str:
    return ROLES.get(PARTNER_ROLES.get(partner_id, ""), "")


def _sign_off_gaps(context: Mapping[str, Any]) -> list[str]:
    """Three approving sign-offs, one per partner, each by a different account holding that partner's lead
    role: a name typed into a form proves nothing, the signed-in account does."""
    rows = {s.get("partner_id") or s.get("partner"): s for s in context.get("sign_offs") or [] if isinstance(s, Mapping)}
    gaps = []
    signers: dict[str, list[str]] = {}
    for partner_id, partner in PARTNER_NAMES.items():
        row = rows.get(partner_id) or rows.get(partner)
        if row is None:
            gaps.append(f"Sign-off by the {partner}")
            continue
        for key, label in (("name", "name"), ("at", "date")):
            if _blank(row.get(key)):
                gaps.append(f"Sign-off by the {partner}: the signatory's {label}")
        if row.get("decision") != "Approved":
            gaps.append(f"Sign-off by the {partner}: approval (the report was returned)")
        elif row.get("ratified") == "No":
            gaps.append(f"Sign-off by the {partner}: ratification of the recommendation on a local review")
        account = str(row.get("account") or "").strip().lower()
        lead = _lead_role(partner_id)
        role = str(row.get("account_role") or "").strip()
        if not account:
            gaps.append(f"Sign-off by the {partner}: it was not made by a signed-in account, so it must be made "
                        f"again by the {lead}")
            continue
        signers.setdefault(account, []).append(partner)
        if role not in (lead, PARTNER_ROLES.get(partner_id)):
            held = f"whose role is {role}" if role else "whose role was not recorded"
            gaps.append(f"Sign-off by the {partner}: made by {account}, {held}; only an account with the role "
                        f"{lead} can sign off for the {partner}")
    for account, partners in signers.items():
        if len(partners) > 1:
            gaps.append(f"Sign-off: one account ({account}) signed off for the {' and the '.join(partners)}; "
                        "each partner must sign off with the account of its own lead")
    return gaps


def _decision_record_gaps(context: Mapping[str, Any]) -> list[str]:
    """What the National Panel needs when the criteria for a Rapid Review are not met."""
    missing = [label for path, label in DECISION_RECORD_REQUIRED if _blank(_get(context, path))]
    criteria = context.get("criteria") or {}
    views = {v.get("partner"): v for v in criteria.get("views") or [] if isinstance(v, Mapping)}
    for partner in PARTNER_NAMES.values():
        view = views.get(partner)
        if view is None or _blank(view.get("criteria_met")):
            missing.append(f"The {partner}'s view on whether the criteria for a Rapid Review are met")
        elif _blank(view.get("rationale")):
            missing.append(f"The {partner}'s rationale for its view on the criteria for a Rapid Review")
    if criteria.get("chair_consulted"):
        if _blank(criteria.get("chair_decision")):
            missing.append("The Independent Chair's decision on whether the criteria for a Rapid Review are met")
        if _blank(criteria.get("chair_rationale")):
            missing.append("The Independent Chair's rationale for the decision")
    elif not _get(context, "decision.made"):
        missing.append("A decision on the criteria for a Rapid Review: the partners did not agree and the "
                       "Independent Chair's decision is not recorded")
    if _blank(_get(context, "confirmation.summary")):
        missing.append("The Partnership Manager's summary of the decision")
    if _blank(_get(context, "confirmation.immediate_safeguarding")):
        missing.append("Immediate safeguarding arrangements for the child and any other children")
    return missing


DECISION_RECORD_REQUIRED: tuple[tuple[str, str], ...] = (
    ("partnership.name", "The partnership's name"),
    ("partnership.contact_email", "A contact at the partnership"),
    ("case.notified_at", "Date of the Serious Incident Notification"),
    ("incident.date", "Date of the incident"),
    ("child.name", "Child's name or pseudonym"),
)
