"""A partnership's e-mails go to its own people and mailboxes, and its documents and pages carry its name:
never the deployment's (default partnership's) mailboxes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from rapidreview import clock
from rapidreview.cli import main
from rapidreview.config import DEFAULT_ROLE_MAILBOXES
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases, documents
from rapidreview.services.casework.operators import CaseOperators
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.people import partnerships, users
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, OutboxMessage
from tests.web.conftest import START, sign_in
from tests.web.test_partnerships import _until_agency_tasks

NAME = "Northbridge Safeguarding Children Partnership"
ROLES = {"pm": "partnership_manager", "chair": "independent_chair", "la": "la_lead", "police": "police_lead",
         "icb": "icb_lead"}


@pytest.fixture
def north(app: Flask, runtime: Runtime) -> Iterator[tuple[int, int]]:
    """(partnership id, a case whose meeting is scheduled: its invitation is in the outbox)."""
    added = partnerships.add_partnership(runtime, "northbridge", NAME, actor="test")
    for who, role in ROLES.items():
        users.create_user(runtime, email=f"{who}@northbridge.example", name=f"{who} north", role=role,
                          password=DEMO_PASSWORD, actor="test", partnership_id=added.id)
    with clock.using(clock.VirtualClock(START)):
        case_id = cases.start_case(runtime, cases.Notification(
            reference="RR-NORTH-1", notified_at=START, child={"name": "Child N"}, incident={"date": "2026-05-20"},
            agencies=[{"id": "north-school", "name": "North School", "contact_email": "dsl@north.example",
                       "manager_email": "head@north.example"}]), actor="test", partnership_id=added.id)
        _until_agency_tasks(runtime, case_id)
        with transaction(runtime.sessions) as session:
            meeting = next(t for t in cases.ready_tasks(session, case_id)
                           if t.element_id == "schedule_rapid_review_meeting")
        # The attendees the form offers by default: the partnership's manager and leads (rapidreview/services/casework/defaults.py).
        cases.complete_task(runtime, meeting.id, starting_answers(runtime, meeting.id, with_examples=True),
                            actor="test")
    yield added.id, case_id


def recipients(runtime: Runtime, case_id: int, names: list[str]) -> list[str]:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        return CaseOperators(runtime, session, case).recipients(names, {})


def test_a_partnerships_mail_goes_to_its_own_people_never_the_deployments_mailboxes(
        runtime: Runtime, north: tuple[int, int]) -> None:
    _, case_id = north
    with transaction(runtime.sessions) as session:
        sent = [address for m in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id))
                for address in (*m.to, *m.cc)]
    assert "pm@northbridge.example" in sent  # the meeting invitation, to the partnership's own manager
    assert not set(sent) & set(DEFAULT_ROLE_MAILBOXES.values())
    assert recipients(runtime, case_id, ["partnership_manager", "statutory_partners"]) == [
        "pm@northbridge.example", "la@northbridge.example", "police@northbridge.example", "icb@northbridge.example"]


def test_configured_mailboxes_and_contact_win_and_the_documents_carry_the_partnerships_name(
        runtime: Runtime, north: tuple[int, int]) -> None:
    partnership_id, case_id = north
    partnerships.set_profile(runtime, "northbridge", actor="test", contact_name="Jo North",
                             mailboxes={"partnership_manager": "Safeguarding@Northbridge.example"})
    assert recipients(runtime, case_id, ["partnership_manager"]) == ["safeguarding@northbridge.example"]
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        context = documents._context(runtime, case, "draft_report", 1, {})
    assert context["partnership"] == {"name": NAME, "contact_name": "Jo North",
                                      "contact_email": "safeguarding@northbridge.example"}
    # Removing the mailbox gives the role back to the partnership's own people.
    partnerships.set_profile(runtime, "northbridge", actor="test", mailboxes={"partnership_manager": ""})
    assert recipients(runtime, case_id, ["partnership_manager"]) == ["pm@northbridge.example"]


def test_a_role_with_nobody_gets_no_mail_rather_than_another_partnerships(runtime: Runtime,
                                                                          north: tuple[int, int]) -> None:
    _, case_id = north
    with transaction(runtime.sessions) as session:
        for user in users.list_users(session, north[0]):
            if user.role == "icb_lead":
                user.active = False
    assert recipients(runtime, case_id, ["icb_lead"]) == []


def test_pages_carry_the_signed_in_persons_partnership_name(app: Flask, north: tuple[int, int]) -> None:
    page = sign_in(app, "pm@northbridge.example").get("/tasks").get_data(as_text=True)
    assert NAME in page
    default = sign_in(app, "pm@demo.example").get("/tasks").get_data(as_text=True)
    assert NAME not in default and app.extensions["rapidreview"].settings.partnership_name in default


def test_the_set_command_checks_what_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path / "data"))
    assert main(["partnership", "add", "northbridge", NAME]) == 0
    assert main(["partnership", "set", "northbridge", "--mailbox", "partnership_manager=pm@northbridge.example",
                 "--contact-name", "Jo North"]) == 0
    assert main(["partnership", "set", "northbridge", "--mailbox", "treasurer=t@northbridge.example"]) == 2
    assert "no mailbox role treasurer" in capsys.readouterr().err
    assert main(["partnership", "set", "northbridge", "--mailbox", "partnership_manager"]) == 2
    assert "write ROLE=ADDRESS" in capsys.readouterr().err
    assert main(["partnership", "set", "northbridge", "--mailbox", "la_lead=not-an-address"]) == 2
    assert main(["partnership", "set", "default", "--mailbox", "la_lead=la@example.org"]) == 2
    assert "RAPIDREVIEW_MAILBOX_<ROLE>" in capsys.readouterr().err
