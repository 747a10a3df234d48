"""The access policy's role questions, driven from one table written out by hand: each row is a role, each
column a question ``policy`` answers. A change to who may do what changes this table, on purpose."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rapidreview.services.people import policy
from rapidreview.services.people.users import SignedIn

QUESTIONS: dict[str, Callable[[SignedIn], bool]] = {
    "start": policy.may_start_cases,
    "reassign": policy.may_reassign,
    "contacts": policy.may_manage_agency_contacts,
    "all cases": policy.lists_all_cases,
    "dashboard": policy.may_read_dashboard,
    "counts": policy.may_read_partnership_counts,
    "outbox": policy.may_read_outbox,
    "versions": policy.may_read_versions,
    "change versions": policy.may_change_versions,
    "override trials": policy.may_override_trials,
    "users": policy.may_manage_users,
    "demo clock": policy.may_move_demo_clock,
}

# role:                 start reassign contacts all-cases dashboard counts outbox versions change override users demo
TABLE = """
partnership_manager     1     1        1        1         1         0      1      0        0      0        0     1
independent_chair       0     0        0        1         1         0      0      0        0      0        0     0
la_lead                 0     0        0        1         1         0      0      0        0      0        0     0
police_lead             0     0        0        1         1         0      0      0        0      0        0     0
icb_lead                0     0        0        1         1         0      0      0        0      0        0     0
la_officer              1     0        0        1         0         0      0      0        0      0        0     0
agency_practitioner     0     0        0        0         0         0      0      0        0      0        0     0
agency_manager          0     0        0        0         0         0      0      0        0      0        0     0
admin                   0     0        0        1         0         1      1      1        0      1        1     0
process_owner           0     0        0        1         0         0      0      1        1      0        0     0
"""
ROWS = [line.split() for line in TABLE.strip().splitlines()]


def _person(role: str) -> SignedIn:
    agency = "oak-school" if role.startswith("agency_") else None
    return SignedIn(id=1, email=f"{role}@example.org", name=role, role=role, agency_id=agency, partnership_id=1)


@pytest.mark.parametrize("row", ROWS, ids=[row[0] for row in ROWS])
def test_each_role_may_do_what_the_table_says(row: list[str]) -> None:
    role, expected = row[0], [cell == "1" for cell in row[1:]]
    answers = [question(_person(role)) for question in QUESTIONS.values()]
    assert dict(zip(QUESTIONS, answers, strict=True)) == dict(zip(QUESTIONS, expected, strict=True))


def test_the_table_names_every_role() -> None:
    from rapidreview.services.people.users import ROLES

    assert sorted(row[0] for row in ROWS) == sorted(ROLES)


def test_the_menu_offers_the_areas_the_questions_allow() -> None:
    for role, *_ in ROWS:
        person = _person(role)
        assert policy.navigation(person) == {
            "dashboard": policy.may_read_dashboard(person) or policy.may_read_partnership_counts(person),
            "outbox": policy.may_read_outbox(person), "process": policy.may_read_versions(person),
            "admin": policy.may_manage_users(person)}
