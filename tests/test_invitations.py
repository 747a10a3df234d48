"""Every agency involved can answer: the agency list ties agencies to the register, and people without accounts
are invited with a single-use link that expires, cannot be used by someone it was forwarded to, and lapses."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases
from rapidreview.services.casework.forms import FormAnswersError
from rapidreview.services.people import invitations, invited_access
from rapidreview.services.people.users import UserError, authenticate
from rapidreview.store.db import transaction
from rapidreview.store.models import Agency, AuditEvent, HumanTask, Invitation, OutboxMessage, User
from tests.factories import drive_until, ready_tasks, start_case

OFFICER = "la.officer@demo.example"
PM = "pm@demo.example"
NURSERY = {
    "name": "Little Acorns Nursery",
    "kind": "early_years",
    "contact_name": "Nia Jones",
    "contact_email": "nia.jones@littleacorns.example",
    "manager_name": "Sam Reid",
    "manager_email": "sam.reid@littleacorns.example",
}
PASSWORD = "correct horse battery staple"


def _list_task(runtime: Runtime, virtual_clock: clock.VirtualClock, reference: str) -> tuple[int, HumanTask]:
    case_id = start_case(
        runtime,
        reference,
        agencies=[],
        child={"name": "Child Q", "date_of_birth": "2020-01-01", "sex": "male"},
    )
    return case_id, drive_until(runtime, virtual_clock, case_id, "share_agency_list")


def _share(runtime: Runtime, task: HumanTask, rows: list[dict[str, Any]]) -> None:
    cases.complete_task(runtime, task.id, {"agencies": rows}, actor=OFFICER)


def _invitation_mail(runtime: Runtime) -> list[OutboxMessage]:
    with transaction(runtime.sessions) as session:
        rows = list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.template == invitations.INVITATION)
                .order_by(OutboxMessage.id)
            )
        )
        session.expunge_all()
        return rows


def _token(message: OutboxMessage) -> str:
    return message.body_text.split("/invitation/", 1)[1].split()[0]


def _user(runtime: Runtime, email: str) -> User:
    with transaction(runtime.sessions) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def test_a_new_agency_is_registered_and_its_contact_and_manager_are_invited_without_naming_the_child(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, task = _list_task(deployed, virtual_clock, "RR-I-1")
    _share(deployed, task, [NURSERY])
    with transaction(deployed.sessions) as session:
        [agency] = session.scalars(select(Agency).where(Agency.name == "Little Acorns Nursery")).all()
        assert agency.id == "little-acorns-nursery" and agency.kind == "early_years"
        agency_id = agency.id
    mail = _invitation_mail(deployed)
    assert sorted(m.to[0] for m in mail) == [
        "nia.jones@littleacorns.example",
        "sam.reid@littleacorns.example",
    ]
    for message in mail:
        assert "RR-I-1" in message.subject and "Little Acorns Nursery" not in message.subject
        assert "Little Acorns Nursery" in message.body_text
        assert "Child Q" not in message.subject + message.body_text + (message.body_html or "")
    contact = _user(deployed, "nia.jones@littleacorns.example")
    assert (contact.role, contact.agency_id, contact.invited_by) == (
        "agency_practitioner",
        agency_id,
        OFFICER,
    )
    assert contact.awaiting_acceptance and authenticate(deployed, contact.email, "!invited") is None
    # The agency's form is ready: the invitation speaks for it, so no task e-mail goes to someone who cannot sign in.
    [form] = [
        t for t in ready_tasks(deployed, case_id) if t.element_id == "complete_information_sharing_form"
    ]
    assert form.agency_id == agency_id
    with transaction(deployed.sessions) as session:
        told = list(session.scalars(select(OutboxMessage.to).where(OutboxMessage.template == "your_turn")))
    assert ["nia.jones@littleacorns.example"] not in told


def test_the_link_sets_a_password_once_and_a_second_use_is_refused(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, task = _list_task(deployed, virtual_clock, "RR-I-2")
    _share(deployed, task, [NURSERY])
    token = _token(next(m for m in _invitation_mail(deployed) if m.to == ["nia.jones@littleacorns.example"]))
    assert invitations.page(deployed, token).state == invitations.VALID
    user = invitations.accept(
        deployed, token, email="Nia.Jones@littleacorns.example", name="Nia Jones", password=PASSWORD
    )
    assert user.role == "agency_practitioner"
    assert authenticate(deployed, "nia.jones@littleacorns.example", PASSWORD) is not None
    assert invitations.page(deployed, token).state == invitations.USED
    with pytest.raises(invitations.InvitationProblem) as used:
        invitations.accept(
            deployed, token, email="nia.jones@littleacorns.example", name="Someone", password=PASSWORD
        )
    assert used.value.state == invitations.USED


def test_a_link_expires_after_72_hours_or_when_the_information_sharing_window_closes(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, task = _list_task(deployed, virtual_clock, "RR-I-3")
    sent_at = clock.now()
    _share(deployed, task, [NURSERY])
    [first, _] = _invitation_mail(deployed)
    with transaction(deployed.sessions) as session:
        expiries = set(session.scalars(select(Invitation.expires_at)))
    assert expiries == {sent_at + timedelta(hours=72)}
    virtual_clock.set(sent_at + timedelta(hours=72))
    assert invitations.page(deployed, _token(first)).state == invitations.EXPIRED
    with pytest.raises(invitations.InvitationProblem):
        invitations.accept(deployed, _token(first), email=first.to[0], name="Nia Jones", password=PASSWORD)
    # Sent on Day 7 afternoon, a link lasts only until the window closes on Day 8 at 09:00.
    with transaction(deployed.sessions) as session:
        case = session.get(cases.Case, case_id)
        assert case is not None
        day_seven = deployed.calendar.day_at(case.day_one, 7, "15:00")
        closes = deployed.calendar.day_at(case.day_one, 8, "09:00")
    virtual_clock.set(day_seven)
    user = _user(deployed, "nia.jones@littleacorns.example")
    invitations.resend(deployed, case_id, user.id, actor=PM, partnership_id=user.partnership_id)
    with transaction(deployed.sessions) as session:
        newest = session.scalars(
            select(Invitation).where(Invitation.user_id == user.id).order_by(Invitation.id.desc())
        ).first()
        assert newest is not None and newest.expires_at == closes


def test_a_forwarded_link_does_not_open_the_account_and_is_withdrawn_after_repeated_tries(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, task = _list_task(deployed, virtual_clock, "RR-I-4")
    _share(deployed, task, [NURSERY])
    token = _token(_invitation_mail(deployed)[0])
    for _attempt in range(invitations.WRONG_ADDRESSES_ALLOWED):
        with pytest.raises(UserError) as wrong:
            invitations.accept(
                deployed, token, email="colleague@littleacorns.example", name="A Colleague", password=PASSWORD
            )
        assert wrong.value.field == "email"
    assert invitations.page(deployed, token).state == invitations.WITHDRAWN
    assert _user(deployed, "nia.jones@littleacorns.example").awaiting_acceptance
    with transaction(deployed.sessions) as session:
        refusals = session.scalars(select(AuditEvent).where(AuditEvent.type == "invitation_refused")).all()
    assert len(refusals) == invitations.WRONG_ADDRESSES_ALLOWED


def test_a_resent_invitation_replaces_the_earlier_link(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, task = _list_task(deployed, virtual_clock, "RR-I-5")
    _share(deployed, task, [NURSERY])
    first = _token(_invitation_mail(deployed)[0])
    user = _user(deployed, "nia.jones@littleacorns.example")
    invitations.resend(deployed, case_id, user.id, actor=PM, partnership_id=user.partnership_id)
    second = _token(_invitation_mail(deployed)[-1])
    assert invitations.page(deployed, first).state == invitations.WITHDRAWN
    assert invitations.page(deployed, second).state == invitations.VALID


def test_a_registered_agency_is_picked_and_a_new_one_with_its_name_and_domain_is_refused(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, task = _list_task(deployed, virtual_clock, "RR-I-6")
    same = {
        "name": "Oak primary school ",
        "kind": "school",
        "contact_email": "teacher@oak.example",
        "manager_email": "deputy@oak.example",
    }
    with pytest.raises(FormAnswersError) as again:
        _share(deployed, task, [same])
    assert [(e.field, "Choose it from the list" in e.message) for e in again.value.errors] == [
        ("agencies/0/id", True)
    ]
    # A look-alike domain under a registered agency's name is not let in as that agency, nor silently as a twin.
    lookalike = {
        **same,
        "contact_email": "dsl@oak-example.example",
        "manager_email": "head@oak-example.example",
    }
    with pytest.raises(FormAnswersError) as twin:
        _share(deployed, task, [lookalike])
    [error] = twin.value.errors
    assert (
        error.field == "agencies/0/name"
        and "oak.example" in error.message
        and "oak-example.example" in error.message
    )
    with transaction(deployed.sessions) as session:
        assert session.scalar(select(Agency.id).where(Agency.name.ilike("oak primary school "))) is None
        assert session.scalar(select(User.id).where(User.email == "teacher@oak.example")) is None
    # Picking it: blanks come from the register, and the case's own contact is invited to that agency.
    _share(deployed, task, [{"id": "school", "contact_email": "teacher@oak.example"}])
    teacher = _user(deployed, "teacher@oak.example")
    assert (teacher.agency_id, teacher.role) == ("school", "agency_practitioner")
    with transaction(deployed.sessions) as session:
        assert session.scalar(select(Agency).where(Agency.name.ilike("oak%")).limit(2)) is not None
        assert len(session.scalars(select(Agency).where(Agency.name.ilike("oak%"))).all()) == 1


def test_a_person_with_another_role_cannot_be_named_as_an_agency_contact(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, task = _list_task(deployed, virtual_clock, "RR-I-7")
    with pytest.raises(FormAnswersError) as refused:
        _share(deployed, task, [{**NURSERY, "manager_email": "la.lead@demo.example"}])
    [error] = refused.value.errors
    assert error.field == "agencies/0/manager_email" and "Local Authority lead" in error.message
    with pytest.raises(FormAnswersError) as same_person:
        _share(deployed, task, [{**NURSERY, "manager_email": NURSERY["contact_email"]}])
    assert same_person.value.errors[0].field == "agencies/0/manager_email"
    assert _invitation_mail(deployed) == []


def test_changing_the_contact_invites_the_new_person_and_frees_the_task(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, task = _list_task(deployed, virtual_clock, "RR-I-8")
    _share(deployed, task, [NURSERY])
    [form] = [
        t for t in ready_tasks(deployed, case_id) if t.element_id == "complete_information_sharing_form"
    ]
    old_token = _token(_invitation_mail(deployed)[0])
    invitations.accept(
        deployed, old_token, email="nia.jones@littleacorns.example", name="Nia Jones", password=PASSWORD
    )
    with transaction(deployed.sessions) as session:
        row = session.get(HumanTask, form.id)
        assert row is not None
        row.assignee = "nia.jones@littleacorns.example"
        partnership_id = row.partnership_id
    invitations.change_contact(
        deployed,
        case_id,
        str(form.agency_id),
        "agency_practitioner",
        email="ola.ade@littleacorns.example",
        name="Ola Ade",
        actor=PM,
        partnership_id=partnership_id,
    )
    assert _invitation_mail(deployed)[-1].to == ["ola.ade@littleacorns.example"]
    with transaction(deployed.sessions) as session:
        assert session.get(HumanTask, form.id).assignee is None  # type: ignore[union-attr]
        assert session.get(Agency, form.agency_id).contact_email == "ola.ade@littleacorns.example"  # type: ignore[union-attr]
        changed = session.scalars(select(AuditEvent).where(AuditEvent.type == "agency_contact_changed")).one()
        assert changed.payload["previous"] == "nia.jones@littleacorns.example"


def test_the_case_page_shows_who_accepted_and_flags_a_task_nobody_can_reach(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, task = _list_task(deployed, virtual_clock, "RR-I-9")
    _share(deployed, task, [NURSERY])
    with transaction(deployed.sessions) as session:
        [row] = invited_access.case_agencies(session, session.get(cases.Case, case_id))  # type: ignore[arg-type]
        assert not row.flagged and row.form == "Not opened"
        assert {p.standing for p in row.people} == {invited_access.INVITED}
    virtual_clock.set(clock.now() + timedelta(hours=73))
    with transaction(deployed.sessions) as session:
        [row] = invited_access.case_agencies(session, session.get(cases.Case, case_id))  # type: ignore[arg-type]
        assert row.flagged and row.unreachable == ["Complete the Information Sharing Form"]
        assert all(p.standing == invited_access.LINK_EXPIRED and p.can_resend for p in row.people)


def test_a_lapsed_invitation_with_its_task_open_is_reported_to_the_partnership_manager_once(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, task = _list_task(deployed, virtual_clock, "RR-I-10")
    _share(deployed, task, [NURSERY])
    virtual_clock.set(clock.now() + timedelta(hours=72))
    assert (
        invited_access.report_lapsed_invitations(deployed) == 1
    )  # the contact's; the manager's task is not open
    assert invited_access.report_lapsed_invitations(deployed) == 0
    with transaction(deployed.sessions) as session:
        [told] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "invitation_lapsed")
        ).all()
        assert told.to == [PM] and "RR-I-10" in told.subject and "Little Acorns Nursery" in told.body_text
        assert "Child Q" not in told.body_text


def test_invited_access_lapses_when_no_case_needs_it_and_the_administrator_sees_the_history(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    case_id, task = _list_task(deployed, virtual_clock, "RR-I-11")
    _share(deployed, task, [NURSERY])
    token = _token(_invitation_mail(deployed)[0])
    invitations.accept(
        deployed, token, email="nia.jones@littleacorns.example", name="Nia Jones", password=PASSWORD
    )
    assert invited_access.close_unneeded_accounts(deployed) == []  # the agency's form is open
    with transaction(deployed.sessions) as session:
        for row in session.scalars(
            select(HumanTask).where(
                HumanTask.case_id == case_id, HumanTask.state == "ready", HumanTask.agency_id.is_not(None)
            )
        ):
            row.state, row.completed_at = "cancelled", clock.now()
    virtual_clock.set(
        clock.now() + timedelta(days=deployed.settings.invited_access_days) - timedelta(minutes=1)
    )
    assert invited_access.close_unneeded_accounts(deployed) == []
    virtual_clock.set(clock.now() + timedelta(minutes=2))
    assert sorted(invited_access.close_unneeded_accounts(deployed)) == [
        "nia.jones@littleacorns.example",
        "sam.reid@littleacorns.example",
    ]
    assert authenticate(deployed, "nia.jones@littleacorns.example", PASSWORD) is None
    with transaction(deployed.sessions) as session:
        lapsed = session.scalars(select(AuditEvent).where(AuditEvent.type == "invited_access_lapsed")).all()
        partnership_id = _user(deployed, "nia.jones@littleacorns.example").partnership_id
    assert {e.payload["user"] for e in lapsed} == {
        "nia.jones@littleacorns.example",
        "sam.reid@littleacorns.example",
    }
    listed = {r.email: r for r in invited_access.invited_accounts(deployed, partnership_id)}
    assert listed["nia.jones@littleacorns.example"].invited_by == OFFICER
    assert listed["nia.jones@littleacorns.example"].accepted_at is not None
    assert listed["sam.reid@littleacorns.example"].accepted_at is None
    assert listed["sam.reid@littleacorns.example"].standing.startswith("Lapsed")


def test_purging_a_case_keeps_the_invitations_it_prompted_without_it(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    from rapidreview.services.platform import retention
    from tests.test_retention import POLICY, close_case

    case_id, task = _list_task(deployed, virtual_clock, "RR-I-12")
    _share(deployed, task, [NURSERY])
    with transaction(deployed.sessions) as session:
        for row in session.scalars(select(HumanTask).where(HumanTask.case_id == case_id)):
            row.state = "cancelled" if row.state == "ready" else row.state
    close_case(deployed, case_id, 31, with_document=False)
    assert [p.reference for p in retention.purge_expired(deployed, actor="test", policy=POLICY)] == [
        "RR-I-12"
    ]
    with transaction(deployed.sessions) as session:
        kept = session.scalars(select(Invitation)).all()
        assert len(kept) == 2 and {i.case_id for i in kept} == {None}


def test_signing_in_with_the_organisations_account_accepts_the_invitation(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    _case_id, task = _list_task(deployed, virtual_clock, "RR-I-13")
    _share(deployed, task, [NURSERY])
    token = _token(_invitation_mail(deployed)[0])
    with transaction(deployed.sessions) as session:
        user = session.scalars(select(User).where(User.email == "nia.jones@littleacorns.example")).one()
        invitations.accepted_through_provider(session, user, "entra")
    assert not _user(deployed, "nia.jones@littleacorns.example").awaiting_acceptance
    assert invitations.page(deployed, token).state == invitations.USED
    with transaction(deployed.sessions) as session:
        accepted = session.scalars(select(AuditEvent).where(AuditEvent.type == "invitation_accepted")).one()
        assert accepted.payload["how"] == "entra"


def test_the_scheduler_runs_the_invited_access_upkeep(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    from rapidreview.scheduler import jobs
    from rapidreview.scheduler.main import SCHEDULE

    assert [j.every for j in SCHEDULE if j.id == "invited_access"] == [300.0]
    _case_id, task = _list_task(deployed, virtual_clock, "RR-I-14")
    _share(deployed, task, [NURSERY])
    virtual_clock.set(clock.now() + timedelta(hours=72))
    jobs.invited_access(deployed)
    with transaction(deployed.sessions) as session:
        assert session.scalars(
            select(OutboxMessage).where(OutboxMessage.template == "invitation_lapsed")
        ).one()


def test_a_manager_whose_link_lapsed_is_invited_afresh_when_the_form_reaches_them(
    deployed: Runtime, virtual_clock: clock.VirtualClock
) -> None:
    from tests.factories import complete

    case_id, task = _list_task(deployed, virtual_clock, "RR-I-15")
    _share(deployed, task, [NURSERY])
    virtual_clock.set(clock.now() + timedelta(hours=73))  # both links lapse unused
    [form] = [
        t for t in ready_tasks(deployed, case_id) if t.element_id == "complete_information_sharing_form"
    ]
    complete(deployed, form, actor="nia.jones@littleacorns.example")
    [check] = [
        t for t in ready_tasks(deployed, case_id) if t.element_id == "quality_assure_information_sharing_form"
    ]
    assert check.role == "agency_manager"
    to_manager = [m for m in _invitation_mail(deployed) if m.to == ["sam.reid@littleacorns.example"]]
    assert len(to_manager) == 2
    assert invitations.page(deployed, _token(to_manager[-1])).state == invitations.VALID
    assert invitations.page(deployed, _token(to_manager[0])).state == invitations.WITHDRAWN
