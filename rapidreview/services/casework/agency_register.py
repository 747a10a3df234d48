"""The partnership's register of agencies, as the agency list of a case uses it.

The Local Authority officer picks each agency involved from those registered for the partnership, or names a
new one (name, type, contacts). Nothing depends on typing an ID: a picked agency is known by its register entry,
and a new one is given an ID here. A new agency whose name and e-mail domain match a registered one is not
registered twice: the officer is asked to pick the registered one, which confirms the match. A name that matches
with a different domain is refused as well, so an address at a look-alike domain never slips in under a
registered agency's name; the officer either picks the registered agency or names the new one apart.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview.forms import FieldError
from rapidreview.services.platform import audit
from rapidreview.store.models import Agency

# What kind of organisation an agency is: for people reading the list, and for the dashboard's grouping later.
AGENCY_KINDS: dict[str, str] = {
    "school": "School or college",
    "early_years": "Nursery or early years setting",
    "gp_practice": "GP practice",
    "health": "Health service (hospital, community or health visiting)",
    "mental_health": "Mental health service",
    "housing": "Housing provider",
    "social_care": "Children's social care",
    "police": "Police",
    "probation": "Probation or youth justice",
    "voluntary": "Voluntary or community organisation",
    "other": "Another kind of agency",
}
# A form property with "x-options": "partnership_agencies" is a choice among the partnership's agencies.
AGENCY_OPTIONS = "partnership_agencies"
NEW_AGENCY_LABEL = "A new agency (give its details below)"
_LIST_FIELD = "agencies"


def normalised_name(name: str) -> str:
    """A name as compared: case, accents, punctuation and repeated spaces ignored, "&" read as "and"."""
    text = (
        unicodedata.normalize("NFKD", name)
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
        .replace("&", " and ")
    )
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def domain_of(email: str) -> str:
    return email.strip().lower().rsplit("@", 1)[-1] if "@" in email else ""


def agency_domains(agency: Agency) -> set[str]:
    return {d for d in (domain_of(agency.contact_email), domain_of(agency.manager_email)) if d}


def partnership_agencies(session: Session, partnership_id: int) -> list[Agency]:
    return list(
        session.scalars(
            select(Agency)
            .where(Agency.partnership_id == partnership_id, Agency.active.is_(True))
            .order_by(Agency.name)
        )
    )


def with_agency_options(session: Session, schema: Any, partnership_id: int) -> Any:
    """``schema`` with each ``x-options: partnership_agencies`` property turned into a choice of the partnership's
    registered agencies, the first choice (empty) meaning a new one. The stored form is left as it is."""
    if not _mentions_options(schema):
        return schema
    agencies = partnership_agencies(session, partnership_id)
    labels = {"": NEW_AGENCY_LABEL, **{a.id: a.name for a in agencies}}

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: fill(v) for k, v in node.items()}
            if node.get("x-options") == AGENCY_OPTIONS:
                node["enum"] = list(labels)
                node["x-enum-labels"] = labels
            return node
        if isinstance(node, list):
            return [fill(v) for v in node]
        return node

    return fill(copy.deepcopy(schema))


def _mentions_options(node: Any) -> bool:
    if isinstance(node, dict):
        return node.get("x-options") == AGENCY_OPTIONS or any(_mentions_options(v) for v in node.values())
    if isinstance(node, list):
        return any(_mentions_options(v) for v in node)
    return False


def _new_id(session: Session, name: str) -> str:
    """A free agency ID made from the name (IDs are unique in the deployment, not just the partnership)."""
    base = normalised_name(name).replace(" ", "-")[:32].strip("-") or "agency"
    candidate, n = base, 1
    while session.get(Agency, candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def resolve_list(
    session: Session, partnership_id: int, answers: Mapping[str, Any], *, actor: str, case_id: int | None
) -> tuple[dict[str, Any], list[FieldError]]:
    """The agency list with every row tied to a registered agency (new agencies registered in the caller's
    transaction), or the problems the officer must fix first, each at its field."""
    rows = answers.get(_LIST_FIELD)
    if not isinstance(rows, list):
        return dict(answers), []
    errors: list[FieldError] = []
    resolved: list[dict[str, Any]] = []
    registered = {
        a.id: a for a in session.scalars(select(Agency).where(Agency.partnership_id == partnership_id))
    }
    to_register: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(rows):
        row = {k: v.strip() if isinstance(v, str) else v for k, v in dict(raw).items() if v not in (None, "")}
        where = f"{_LIST_FIELD}/{index}"
        agency = registered.get(str(row.get("id", "")))
        if agency is not None:
            if not agency.active:
                errors.append(
                    FieldError(f"{where}/id", f"{agency.name} is no longer registered: choose another")
                )
            row.setdefault("name", agency.name)
            row.setdefault("contact_email", agency.contact_email)
            row.setdefault("manager_email", agency.manager_email)
            if agency.kind:
                row.setdefault("kind", agency.kind)
        else:
            errors += _new_agency_problems(row, where, registered.values())
            to_register.append((index, row))
        errors += _contact_problems(row, where)
        resolved.append(row)
    seen: dict[str, int] = {}
    for index, row in enumerate(resolved):
        if row.get("id") in seen:
            errors.append(
                FieldError(f"{_LIST_FIELD}/{index}/id", "This agency is already in the list: choose it once")
            )
        if row.get("id"):
            seen[str(row["id"])] = index
    if errors:
        return {**answers, _LIST_FIELD: resolved}, errors
    for _index, row in to_register:
        # An ID given by a script (or a scenario) that is free is kept; one used elsewhere is never taken over.
        wanted = str(row.get("id", ""))
        agency_id = (
            wanted
            if wanted and session.get(Agency, wanted) is None and _ID.match(wanted)
            else _new_id(session, row["name"])
        )
        session.add(
            Agency(
                id=agency_id,
                partnership_id=partnership_id,
                name=row["name"],
                kind=row.get("kind") or "other",
                contact_email=row["contact_email"].lower(),
                manager_email=row["manager_email"].lower(),
                active=True,
            )
        )
        session.flush()
        row["id"] = agency_id
        audit.record(
            session,
            case_id,
            "agency_registered",
            actor=actor,
            agency=agency_id,
            name=row["name"],
            kind=row.get("kind") or "other",
        )
    return {**answers, _LIST_FIELD: resolved}, []


_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _new_agency_problems(row: Mapping[str, Any], where: str, registered: Any) -> list[FieldError]:
    problems = []
    if not row.get("name"):
        problems.append(FieldError(f"{where}/name", "Enter the agency's name, or choose a registered agency"))
    if not row.get("kind") and not row.get("id"):
        problems.append(FieldError(f"{where}/kind", "Select the type of agency"))
    for key, what in (("contact_email", "contact's"), ("manager_email", "manager's")):
        if not row.get(key):
            problems.append(FieldError(f"{where}/{key}", f"Enter the {what} email address"))
    if problems:
        return problems
    name, domain = normalised_name(str(row["name"])), domain_of(str(row["contact_email"]))
    for agency in registered:
        if not agency.active or normalised_name(agency.name) != name:
            continue
        domains = agency_domains(agency)
        if domain in domains:
            return [
                FieldError(
                    f"{where}/id",
                    f"{agency.name} is already registered, with addresses at {domain}. "
                    "Choose it from the list of agencies so its staff see the request",
                )
            ]
        return [
            FieldError(
                f"{where}/name",
                f"{agency.name} is already registered, with addresses at "
                f"{', '.join(sorted(domains))}, not {domain}. If this is the same agency, "
                "choose it from the list and check the address; if it is a different "
                "one, give a name that tells them apart, such as its town",
            )
        ]
    return []


def _contact_problems(row: Mapping[str, Any], where: str) -> list[FieldError]:
    contact, manager = str(row.get("contact_email", "")).lower(), str(row.get("manager_email", "")).lower()
    if contact and contact == manager:
        return [
            FieldError(
                f"{where}/manager_email",
                "Enter a different person as the manager: the manager checks "
                "the contact's form before it is returned",
            )
        ]
    return []
