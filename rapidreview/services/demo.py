"""Demo accounts for `make run` (development configuration only): one per role, printed on start."""

from __future__ import annotations

from sqlalchemy import select

from rapidreview.services import users
from rapidreview.services.runtime import Runtime
from rapidreview.store.db import transaction
from rapidreview.store.models import User

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
