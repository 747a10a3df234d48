"""Who does what: lanes to roles, partners to their leads."""

from __future__ import annotations

PARTNERS: dict[str, str] = {"LA": "LA", "MPS": "MPS", "ICB": "ICB"}
PARTNER_NAMES: dict[str, str] = {
    "LA": "Local Authority",
    "MPS": "Metropolitan Police Service",
    "ICB": "Integrated Care Board",
}
PARTNER_ROLES: dict[str, str] = {"LA": "la_lead", "MPS": "police_lead", "ICB": "icb_lead"}

AGENCY_ROLES = ("agency_practitioner", "agency_manager")  # staff of an agency, who see only its part

PARTNER_LANE = "Statutory partner leads"
LANE_ROLES: dict[str, str | None] = {
    PARTNER_LANE: "statutory_partner",
    "Independent Chair": "independent_chair",
    "Partnership Manager": "partnership_manager",
    "Local Authority": "la_officer",
    "Agency practitioner": "agency_practitioner",
    "Agency manager": "agency_manager",
    "System": None,
}


def role_for(lane: str | None, partner: str | None) -> str | None:
    """The role that may claim a task in ``lane`` (for a partner's task, that partner's lead)."""
    if lane == PARTNER_LANE and partner in PARTNER_ROLES:
        return PARTNER_ROLES[partner]
    return LANE_ROLES.get(lane or "")
