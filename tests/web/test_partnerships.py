"""One deployment, many partnerships: each sees only its own people, agencies, cases, tasks and documents.

Two partnerships, alpha and beta, each with leads, a Partnership Manager, an administrator, a chair, an
agency with its practitioner, and a case whose agency tasks are ready. Another partnership's case, task or
document answers 404 (as one that does not exist), never 403.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases, worklist
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.services.people import partnerships, policy, users
from rapidreview.services.people.demo import DEMO_PASSWORD
from rapidreview.services.platform import outbox
from rapidreview.store.db import transaction
from rapidreview.store.models import Agency, Case, Document, HumanTask, OutboxMessage, User
from tests.web.conftest import START, post, sign_in

ROLES = {"pm": "partnership_manager", "police": "police_lead", "la": "la_lead", "icb": "icb_lead",
         "admin": "admin", "chair": "independent_chair"}


@dataclass(frozen=True)
class Side:
    code: str
    id: int
    reference: str
    case_id: int  # fresh: the partners' views are ready
    agency_case_id: int  # further on: the agency's information sharing form is ready

    def email(self, who: str) -> str:
        return f"{who}@{self.code}.example"

    @property
    def agency(self) -> str:
        return f"{self.code}-school"


def _side(runtime: Runtime, code: str) -> Side:
    added = partnerships.add_partnership(runtime, code, f"{code.title()} Safeguarding Children Partnership",
                                         actor="test")
    users.save_agency(runtime, id=f"{code}-school", name=f"{code.title()} School", contact_email=f"dsl@{code}.example",
                      manager_email=f"head@{code}.example", actor="test", partnership_id=added.id)
    for who, role in ROLES.items():
        users.create_user(runtime, email=f"{who}@{code}.example", name=f"{who} {code}", role=role,
                          password=DEMO_PASSWORD, actor="test", partnership_id=added.id)
    users.create_user(runtime, email=f"practitioner@{code}.example", name=f"practitioner {code}",
                      role="agency_practitioner", agency_id=f"{code}-school", password=DEMO_PASSWORD, actor="test",
                      partnership_id=added.id)
    ids = []
    for n in (1, 2):
        notification = cases.Notification(
            reference=f"RR-{code.upper()}-{n}", notified_at=START, child={"name": f"Child {code}"},
            incident={"date": "2026-05-20", "summary": "x"},
            agencies=[{"id": f"{code}-school", "name": f"{code.title()} School", "contact_email": f"dsl@{code}.example",
                       "manager_email": f"head@{code}.example"}])
        ids.append(cases.start_case(runtime, notification, actor=f"pm@{code}.example", partnership_id=added.id))
    _until_agency_tasks(runtime, ids[1])
    return Side(code, added.id, f"RR-{code.upper()}-1", ids[0], ids[1])


def _until_agency_tasks(runtime: Runtime, case_id: int) -> None:
    for _ in range(10):  # partners' views, commissioning, agency list, meeting: until the agency has a task
        with transaction(runtime.sessions) as session:
            ready = cases.ready_tasks(session, case_id)
        if any(t.agency_id for t in ready):
            return
        cases.complete_task(runtime, ready[0].id, starting_answers(runtime, ready[0].id, with_examples=True),
                            actor="test")
    raise AssertionError("agency tasks never became ready")


@pytest.fixture
def sides(app: Flask, runtime: Runtime) -> tuple[Side, Side]:
    return _side(runtime, "alpha"), _side(runtime, "beta")


def _task(runtime: Runtime, side: Side, *, role: str | None = None, agency: bool = False) -> HumanTask:
    with transaction(runtime.sessions) as session:
        return next(t for t in cases.ready_tasks(session, side.agency_case_id if agency else side.case_id)
                    if (role is None or t.role == role) and (not agency or t.agency_id == side.agency))


def _document(runtime: Runtime, side: Side) -> int:
    """A stored report for the side's case, its file on disk, as a generated one would be."""
    content = b"report"
    folder = runtime.settings.documents_dir / side.reference
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.docx").write_bytes(content)
    with transaction(runtime.sessions) as session:
        doc = Document(case_id=side.case_id, kind="draft_report", version=1, filename="report.docx",
                       media_type="application/octet-stream", path=f"{side.reference}/report.docx",
                       sha256=hashlib.sha256(content).hexdigest(), size=len(content), author="test", origin="generated")
        session.add(doc)
        session.flush()
        return doc.id


def test_everything_gets_the_partnership_of_whoever_made_it(app: Flask, runtime: Runtime,
                                                             sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    with transaction(runtime.sessions) as session:
        assert session.get(Case, alpha.case_id).partnership_id == alpha.id  # type: ignore[union-attr]
        assert {t.partnership_id for t in session.scalars(select(HumanTask).where(HumanTask.case_id == beta.case_id))} \
            == {beta.id}
        assert session.get(Agency, "beta-school").partnership_id == beta.id  # type: ignore[union-attr]
        practitioner = session.scalars(select(User).where(User.email == alpha.email("practitioner"))).one()
        assert practitioner.partnership_id == alpha.id
        # Callers that name no partnership (the demo, the simulator) keep working, in the default one.
        pm = session.scalars(select(User).where(User.email == "pm@demo.example")).one()
        assert pm.partnership_id == partnerships.default_id(session)


def test_a_lead_sees_only_their_own_partnerships_tasks(app: Flask, runtime: Runtime, sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    theirs, ours = _task(runtime, alpha, role="police_lead"), _task(runtime, beta, role="police_lead")
    page = sign_in(app, beta.email("police")).get("/tasks").get_data(as_text=True)
    assert f"/tasks/{ours.id}" in page and f"/tasks/{theirs.id}" not in page and alpha.reference not in page
    # The default partnership's lead (the demo accounts) sees neither.
    demo = sign_in(app, "police.lead@demo.example").get("/tasks").get_data(as_text=True)
    assert f"/tasks/{ours.id}" not in demo and f"/tasks/{theirs.id}" not in demo


def test_another_partnerships_case_task_and_claim_are_not_found(app: Flask, runtime: Runtime,
                                                                 sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    lead_task, agency_task = _task(runtime, alpha, role="la_lead"), _task(runtime, alpha, agency=True)
    # Alpha's own people reach them: what follows is about the partnership, not about the pages.
    assert sign_in(app, alpha.email("la")).get(f"/cases/{alpha.reference}").status_code == 200
    assert sign_in(app, alpha.email("pm")).get(f"/tasks/{agency_task.id}").status_code == 200
    for who in ("la", "pm", "admin", "chair"):
        client = sign_in(app, beta.email(who))
        assert client.get(f"/cases/{alpha.reference}").status_code == 404, who
        assert client.get(f"/tasks/{lead_task.id}").status_code == 404, who
        assert client.get(f"/tasks/{agency_task.id}").status_code == 404, who
    beta_la, beta_pm = sign_in(app, beta.email("la")), sign_in(app, beta.email("pm"))
    assert post(beta_la, f"/tasks/{lead_task.id}/claim").status_code == 404
    assert post(beta_la, f"/tasks/{lead_task.id}/release").status_code == 404
    assert post(beta_pm, f"/tasks/{lead_task.id}/reassign", {"assignee": beta.email("la")}).status_code == 404
    assert post(beta_la, f"/tasks/{lead_task.id}", {"action": "submit"}).status_code == 404
    assert sign_in(app, beta.email("practitioner")).get(
        f"/tasks/{agency_task.id}/information-sharing-form.docx").status_code == 404
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, lead_task.id).assignee is None  # type: ignore[union-attr]
        assert session.get(HumanTask, lead_task.id).state == "ready"  # type: ignore[union-attr]


def test_the_same_role_and_agency_name_do_not_cross_partnerships(app: Flask, runtime: Runtime,
                                                                 sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    agency_task = _task(runtime, alpha, agency=True)
    with transaction(runtime.sessions) as session:
        task = session.get(HumanTask, agency_task.id)
        case = session.get(Case, alpha.case_id)
        assert task is not None and case is not None
        outsider = users.get_user(session, session.scalars(select(User.id).where(
            User.email == beta.email("practitioner"))).one())
        assert outsider is not None
        # Beta's practitioner with alpha's agency id (a copied or guessed id) still may not work on it.
        forged = users.SignedIn(outsider.id, outsider.email, outsider.name, "agency_practitioner", alpha.agency,
                                outsider.partnership_id)
        assert not worklist.may_work_on(forged, task, case)
        assert policy.case_view(forged, case, policy.case_facts(session, forged, case)) is None


def test_another_partnerships_documents_are_not_found(app: Flask, runtime: Runtime, sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    doc_id = _document(runtime, alpha)
    path = f"/cases/{alpha.reference}/documents/{doc_id}"
    assert sign_in(app, alpha.email("pm")).get(path).status_code == 200
    for who in ("pm", "chair", "la"):
        client = sign_in(app, beta.email(who))
        assert client.get(path).status_code == 404, who
        assert client.get(f"/cases/{beta.reference}/documents/{doc_id}").status_code == 404, who
        assert client.get(f"/cases/{alpha.reference}/documents/compare").status_code == 404, who
        assert client.get(f"/cases/{alpha.reference}/documents/upload").status_code == 404, who


def test_the_case_list_shows_only_the_partnerships_cases(app: Flask, runtime: Runtime,
                                                         sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    page = sign_in(app, beta.email("pm")).get("/cases").get_data(as_text=True)
    assert beta.reference in page and alpha.reference not in page
    demo = sign_in(app, "pm@demo.example").get("/cases").get_data(as_text=True)
    assert alpha.reference not in demo and beta.reference not in demo


def test_a_case_started_on_the_web_belongs_to_its_starters_partnership(app: Flask, runtime: Runtime,
                                                                      sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    data = {"reference": "RR-BETA-9", "notified_on-day": "22", "notified_on-month": "5", "notified_on-year": "2026",
            "notified_time": "09:30", "child_name": "Child Q", "incident_date-day": "20", "incident_date-month": "5",
            "incident_date-year": "2026", "incident_summary": "Injury"}
    assert post(sign_in(app, beta.email("pm")), "/cases/new", data, page="/cases/new").status_code == 302
    with transaction(runtime.sessions) as session:
        case = session.scalars(select(Case).where(Case.reference == "RR-BETA-9")).one()
        assert case.partnership_id == beta.id
        assert {t.partnership_id for t in cases.ready_tasks(session, case.id)} == {beta.id}
    assert "RR-BETA-9" not in sign_in(app, alpha.email("police")).get("/tasks").get_data(as_text=True)
    assert sign_in(app, alpha.email("pm")).get("/cases/RR-BETA-9").status_code == 404


def test_an_administrator_manages_only_their_partnerships_users_and_agencies(app: Flask, runtime: Runtime,
                                                                            sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    admin = sign_in(app, beta.email("admin"))
    listed = admin.get("/admin/users").get_data(as_text=True)
    assert beta.email("police") in listed and alpha.email("police") not in listed and "pm@demo.example" not in listed
    agencies = admin.get("/admin/agencies").get_data(as_text=True)
    assert "Beta School" in agencies and "Alpha School" not in agencies
    assert "alpha-school" not in admin.get("/admin/users/new").get_data(as_text=True)
    with transaction(runtime.sessions) as session:
        alpha_pm = session.scalars(select(User.id).where(User.email == alpha.email("pm"))).one()
    assert post(admin, f"/admin/users/{alpha_pm}/active", {"active": "false"}, page="/admin/users").status_code == 404
    # Taking over alpha's agency by saving one with its id is refused; alpha's stays as it was.
    response = post(admin, "/admin/agencies", {"id": "alpha-school", "name": "Taken", "contact_email": "x@beta.example",
                                               "manager_email": "y@beta.example"}, page="/admin/agencies")
    assert response.status_code == 400
    # A new account may only join an agency of the administrator's partnership.
    response = post(admin, "/admin/users/new", {"email": "new@beta.example", "name": "New", "role": "agency_practitioner",
                                                "agency_id": "alpha-school", "password": "a long enough passphrase"},
                    page="/admin/users/new")
    assert response.status_code == 400
    assert post(admin, "/admin/users/new", {"email": "new@beta.example", "name": "New", "role": "la_lead",
                                            "password": "a long enough passphrase"},
                page="/admin/users/new").status_code == 302
    with transaction(runtime.sessions) as session:
        assert session.get(Agency, "alpha-school").name == "Alpha School"  # type: ignore[union-attr]
        assert session.get(User, alpha_pm).active  # type: ignore[union-attr]
        assert session.scalars(select(User).where(User.email == "new@beta.example")).one().partnership_id == beta.id


def test_reassigning_offers_and_accepts_only_people_of_the_partnership(app: Flask, runtime: Runtime,
                                                                      sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    task = _task(runtime, beta, role="police_lead")
    pm = sign_in(app, beta.email("pm"))
    page = pm.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert beta.email("police") in page and alpha.email("police") not in page
    post(pm, f"/tasks/{task.id}/reassign", {"assignee": alpha.email("police")})
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, task.id).assignee is None  # type: ignore[union-attr]


def test_an_appointed_chair_counts_only_in_the_cases_partnership(app: Flask, runtime: Runtime,
                                                                sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    with transaction(runtime.sessions) as session:
        case = session.get(Case, beta.case_id)
        assert case is not None
        case.chair_email = alpha.email("chair")  # an e-mail that has an account, in another partnership
    with transaction(runtime.sessions) as session:
        case = session.get(Case, beta.case_id)
        assert case is not None
        session.expunge(case)
    # Beta's standing chair covers, since the appointed chair has no account in beta; alpha's chair sees nothing.
    assert not worklist.chair_has_account(runtime, case)
    assert sign_in(app, alpha.email("chair")).get(f"/cases/{beta.reference}").status_code == 404


def test_the_outbox_shows_and_resends_only_the_partnerships_mail(app: Flask, runtime: Runtime,
                                                                sides: tuple[Side, Side]) -> None:
    alpha, beta = sides
    with transaction(runtime.sessions) as session:
        message = outbox.queue(session, runtime, case_id=alpha.case_id, template="t", to=["x@example.org"],
                               subject="Alpha's failed mail", body="b")
        message.status, message.last_error = "failed", "550 no such mailbox"
        message_id = message.id
    assert "Alpha&#39;s failed mail" in sign_in(app, alpha.email("pm")).get("/outbox").get_data(as_text=True)
    pm = sign_in(app, beta.email("pm"))
    assert "Alpha&#39;s failed mail" not in pm.get("/outbox").get_data(as_text=True)
    assert post(pm, f"/outbox/{message_id}/retry", page="/outbox").status_code == 404
    assert post(pm, f"/outbox/{message_id}/cancel", page="/outbox").status_code == 404
    with transaction(runtime.sessions) as session:
        assert session.get(OutboxMessage, message_id).status == "failed"  # type: ignore[union-attr]
