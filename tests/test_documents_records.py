"""Documents the National Panel receives, made in a case: the decision record and its PDF, and a signed
report only when three different lead accounts signed it off (one LibreOffice conversion each)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases, documents
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, Document
from tests.conftest import START, requires_soffice
from tests.test_documents_content import decision_data, process_data


def start(runtime: Runtime, reference: str) -> int:
    notification = cases.Notification(
        reference=reference, notified_at=START, child={"name": "Child M", "date_of_birth": "2019-03-02", "sex": "female"},
        incident={"date": "2026-05-20", "summary": "Head injury."},
        agencies=[{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
                   "manager_email": "head@oak.example"}])
    return cases.start_case(runtime, notification, actor="test")


def make(runtime: Runtime, case_id: int, kind: str, data: dict[str, Any]) -> list[tuple[str, int, str]]:
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        stored = documents.create_report(session, runtime, case, kind, {**data, "notification": case.notification})
        return [(d.kind, d.version, d.path) for d in stored]


def unstamped(data: dict[str, Any], accounts: dict[str, str]) -> dict[str, Any]:
    """Sign-offs stamped before names and roles were recorded: only the account's e-mail."""
    for partner, answers in data["sign_offs"].items():
        for key in ("completed_by_name", "completed_by_role"):
            answers.pop(key)
        answers["completed_by"] = accounts[partner]
    return data


@requires_soffice
@pytest.mark.pdf
def test_the_decision_record_is_made_with_its_pdf(app: Flask, runtime: Runtime) -> None:
    case_id = start(runtime, "RR-DR-1")
    stored = make(runtime, case_id, "decision_record", decision_data(agree=False))
    assert [(kind, version) for kind, version, _ in stored] == [("decision_record", 1), ("decision_record_pdf", 1)]
    pdf = runtime.settings.documents_dir / stored[1][2]
    reader = PdfReader(str(pdf))
    assert reader.metadata is not None and reader.metadata.title == "Rapid Review Decision Record – RR-DR-1"
    text = " ".join(" ".join(page.extract_text() or "" for page in reader.pages).split())
    assert "decided by the Independent Chair" in text and "The brother is safe with his grandmother." in text
    assert documents.KIND_NAMES["decision_record_pdf"] == "Decision record (PDF)"
    with transaction(runtime.sessions) as session:
        kinds = [e.payload["kind"] for e in session.scalars(select(AuditEvent).where(
            AuditEvent.case_id == case_id, AuditEvent.type == "document_created"))]
        record = session.scalars(select(Document).where(Document.kind == "decision_record")).one()
        assert documents.missing_from(record) == []
    assert kinds == ["decision_record", "decision_record_pdf"]


def test_an_incomplete_decision_record_is_never_made(app: Flask, runtime: Runtime) -> None:
    case_id = start(runtime, "RR-DR-2")
    data = decision_data()
    del data["confirm_decision_record"]
    with pytest.raises(documents.IncompleteReport, match="the decision record was not made because it lacks "
                                                         "mandatory content: The Partnership Manager's summary"):
        make(runtime, case_id, "decision_record", data)
    with transaction(runtime.sessions) as session:
        assert session.scalars(select(Document).where(Document.case_id == case_id)).all() == []


def test_one_account_signing_for_every_partner_makes_no_signed_report(app: Flask, runtime: Runtime) -> None:
    case_id = start(runtime, "RR-SO-1")
    data = unstamped(process_data(), dict.fromkeys(("LA", "MPS", "ICB"), "la.lead@demo.example"))
    with pytest.raises(documents.IncompleteReport) as refused:
        make(runtime, case_id, "signed_report", data)
    message = str(refused.value)
    assert "Sign-off by the Metropolitan Police Service: made by la.lead@demo.example, whose role is Local " \
           "Authority lead; only an account with the role Police (MPS) lead can sign off" in message
    assert "one account (la.lead@demo.example) signed off for the Local Authority and the Metropolitan Police " \
           "Service and the Integrated Care Board" in message


@requires_soffice
@pytest.mark.pdf
def test_sign_offs_stamped_before_names_were_recorded_take_them_from_the_accounts(
        app: Flask, runtime: Runtime) -> None:
    case_id = start(runtime, "RR-SO-2")
    data = unstamped(process_data(), {"LA": "la.lead@demo.example", "MPS": "Police.Lead@demo.example",
                                      "ICB": "icb.lead@demo.example"})
    stored = make(runtime, case_id, "signed_report", data)
    assert [kind for kind, _, _ in stored] == ["signed_report", "signed_report_pdf"]
    with transaction(runtime.sessions) as session:
        signed = session.scalars(select(Document).where(Document.kind == "signed_report")).one()
        assert signed.content is not None
        rows = [(s["organisation"], s["name"], s["role"]) for s in signed.content["sign_offs"]]
    assert rows == [("Local Authority", "Lee Authority", "Local Authority lead"),
                    ("Metropolitan Police Service", "Morgan Police", "Police (MPS) lead"),
                    ("Integrated Care Board", "Indy Health", "Integrated Care Board lead")]
    text = " ".join(" ".join(p.extract_text() or "" for p in PdfReader(
        str(runtime.settings.documents_dir / stored[1][2])).pages).split())
    assert "Morgan Police Police (MPS) lead Approved" in text
