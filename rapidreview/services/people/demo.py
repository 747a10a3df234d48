"""Demo accounts for `make run` (development configuration only): one per role, printed on start."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.people import partnerships, users
from rapidreview.store.db import transaction
from rapidreview.store.models import Agency, User

DEMO_PASSWORD = "rapid-review-demo"
DEMO_AGENCIES = (
    ("school", "Oak Primary School", "dsl@oak.example", "head@oak.example"),
    ("gp", "Elm Street Surgery", "safeguarding@elmsurgery.example", "practice.manager@elmsurgery.example"),
)
DEMO_USERS = (
    ("pm@demo.example", "Pat Manager", "partnership_manager", None),
    ("chair@demo.example", "Chris Chair", "independent_chair", None),
    ("la.lead@demo.example", "Lee Authority", "la_lead", None),
    ("police.lead@demo.example", "Morgan Police", "police_lead", None),
    ("icb.lead@demo.example", "Indy Health", "icb_lead", None),
    ("la.officer@demo.example", "Olu Officer", "la_officer", None),
    ("school.practitioner@demo.example", "Sam School", "agency_practitioner", "school"),
    ("school.manager@demo.example", "Jo Head", "agency_manager", "school"),
    ("gp.practitioner@demo.example", "Ana Doctor", "agency_practitioner", "gp"),
    ("gp.manager@demo.example", "Lee Practice", "agency_manager", "gp"),
    ("owner@demo.example", "Pam Owner", "process_owner", None),
    ("admin@demo.example", "Ade Admin", "admin", None),
)


def seed_demo(rt: Runtime) -> list[tuple[str, str, str]]:
    """Create the demo agencies and users that are missing; return (email, role, password) for each."""
    for agency_id, name, contact, manager in DEMO_AGENCIES:
        users.save_agency(rt, id=agency_id, name=name, contact_email=contact, manager_email=manager, actor="demo")
    with transaction(rt.sessions) as session:
        existing = set(session.scalars(select(User.email)))
    for email, name, role, agency in DEMO_USERS:
        if email not in existing:
            users.create_user(rt, email=email, name=name, role=role, agency_id=agency, password=DEMO_PASSWORD,
                              actor="demo")
    return [(email, role, DEMO_PASSWORD) for email, _name, role, _agency in DEMO_USERS]


SIMULATED_DOMAIN = "simulation.example"
SIMULATED_PEOPLE = (
    ("partnership_manager", "Pat Manager"), ("independent_chair", "Chris Chair"), ("la_lead", "Lee Authority"),
    ("police_lead", "Morgan Police"), ("icb_lead", "Indy Health"), ("la_officer", "Olu Officer"),
)


def seed_simulation(rt: Runtime, agencies: Sequence[Mapping[str, Any]]) -> None:
    """People for a simulated case, one per role (and a practitioner and a manager per agency), so each step
    is done, and each document signed, by an account as in real use. They cannot sign in: the simulator's
    database is thrown away, and their password hash matches no password."""
    with transaction(rt.sessions) as session:
        partnership = partnerships.default_id(session)
        for agency in agencies:
            if session.get(Agency, agency["id"]) is None:
                session.add(Agency(id=agency["id"], name=agency.get("name") or agency["id"],
                                   contact_email=agency.get("contact_email", ""),
                                   manager_email=agency.get("manager_email", ""), active=True,
                                   partnership_id=partnership))
        session.flush()
        people = [(role, name, None) for role, name in SIMULATED_PEOPLE]
        for agency in agencies:
            people += [("agency_practitioner", f"{agency.get('name') or agency['id']} practitioner", agency["id"]),
                       ("agency_manager", f"{agency.get('name') or agency['id']} manager", agency["id"])]
        for role, name, agency_id in people:
            email = f"{role.replace('_', '.')}{'.' + agency_id if agency_id else ''}@{SIMULATED_DOMAIN}"
            if session.scalar(select(User.id).where(User.email == email)) is None:
                session.add(User(email=email, name=f"{name} (simulated)", role=role, agency_id=agency_id, active=True,
                                 password_hash="!", created_at=clock.now(), partnership_id=partnership))
