"""Report versions in a case: the agenda, uploads, comparing, agencies' paper forms, the completeness gateway."""

from __future__ import annotations

import hashlib
import io
import json
import stat
from pathlib import Path
from typing import Any

import docx
import pytest
from flask import Flask
from sqlalchemy import select

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.casework import cases, documents
from rapidreview.services.casework.tasks import starting_answers
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent, Case, Document, HumanTask, OutboxMessage
from tests.web.conftest import START, csrf_of, sign_in

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
AGENCIES = [{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
             "manager_email": "head@oak.example"}]


def start(runtime: Runtime, reference: str = "RR-D-1", child: dict[str, Any] | None = None) -> int:
    notification = cases.Notification(
        reference=reference, notified_at=START, child=child or {"name": "Child D"},
        incident={"date": "2026-05-20", "summary": "Admitted to hospital with a head injury."}, agencies=AGENCIES)
    return cases.start_case(runtime, notification, actor="test")


def drive(runtime: Runtime, virtual_clock: clock.VirtualClock, case_id: int, until: str,
          answers: dict[str, dict[str, Any]] | None = None) -> HumanTask:
    """Complete tasks with their example answers, and let time pass, until ``until`` is ready."""
    for _ in range(100):
        with transaction(runtime.sessions) as session:
            ready = cases.ready_tasks(session, case_id)
            due = session.get(Case, case_id).next_timer_due  # type: ignore[union-attr]
        wanted = [t for t in ready if t.element_id == until]
        if wanted:
            return wanted[0]
        if ready:
            task = ready[0]
            given = starting_answers(runtime, task.id, with_examples=True) | (answers or {}).get(task.element_id, {})
            cases.complete_task(runtime, task.id, given, actor="test")
            continue
        assert due is not None, f"the case waits for nothing and {until} is not ready"
        virtual_clock.set(max(due, virtual_clock.now()))
        cases.advance_case(runtime, case_id, actor="test")
    raise AssertionError(f"{until} never became ready")


def docs(runtime: Runtime, case_id: int, kind: str | None = None) -> list[Document]:
    with transaction(runtime.sessions) as session:
        query = select(Document).where(Document.case_id == case_id).order_by(Document.id)
        rows = list(session.scalars(query if kind is None else query.where(Document.kind == kind)))
        session.expunge_all()
        return rows


def audit_events(runtime: Runtime, case_id: int, type_: str) -> list[dict[str, Any]]:
    with transaction(runtime.sessions) as session:
        return [dict(e.payload, actor=e.actor) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.type == type_).order_by(AuditEvent.id))]


def with_draft(runtime: Runtime, virtual_clock: clock.VirtualClock) -> int:
    case_id = start(runtime)
    drive(runtime, virtual_clock, case_id, "record_meeting_outcomes")
    return case_id


def upload(client: Any, reference: str, kind: str, filename: str, data: bytes) -> Any:
    token = csrf_of(client.get(f"/cases/{reference}/documents/upload").get_data(as_text=True))
    return client.post(f"/cases/{reference}/documents/upload", content_type="multipart/form-data",
                       data={"csrf_token": token, "kind": kind, "file": (io.BytesIO(data), filename)})


def edited(path: Path, old: str, new: str) -> bytes:
    document = docx.Document(str(path))
    for para in document.paragraphs:
        if old in para.text:
            para.text = para.text.replace(old, new)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_the_draft_report_comes_with_the_agenda_and_both_go_to_the_attendees(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = with_draft(runtime, virtual_clock)
    draft, agenda = docs(runtime, case_id, "draft_report")[0], docs(runtime, case_id, "meeting_agenda")[0]
    assert agenda.version == 1 and agenda.content is not None and agenda.content["case"]["reference"] == "RR-D-1"
    agenda_text = "\n".join(p.text for p in docx.Document(str(runtime.settings.documents_dir / agenda.path)).paragraphs)
    assert "Rapid Review Meeting: Agenda" in agenda_text
    assert draft.content is not None and draft.content["child"]["name"] == "Child D"
    with transaction(runtime.sessions) as session:
        [mail] = session.scalars(select(OutboxMessage).where(OutboxMessage.template == "draft_report_circulated"))
        assert mail.attachments == [draft.id, agenda.id]
    created = {e["kind"]: e for e in audit_events(runtime, case_id, "document_created")}
    path = runtime.settings.documents_dir / agenda.path
    assert created["meeting_agenda"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() == agenda.sha256


def test_the_partnership_manager_uploads_an_edited_draft_as_the_next_version(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = with_draft(runtime, virtual_clock)
    [draft] = docs(runtime, case_id, "draft_report")
    client = sign_in(app, "pm@demo.example")
    page = client.get("/cases/RR-D-1").get_data(as_text=True)
    assert "Upload a new version of the report" in page
    downloaded = client.get(f"/cases/RR-D-1/documents/{draft.id}")
    assert downloaded.status_code == 200 and downloaded.mimetype == DOCX
    source = runtime.settings.documents_dir / draft.path
    data = edited(source, "Admitted to hospital with a head injury.", "Admitted to Eastbrook Hospital with a head injury.")

    response = upload(client, "RR-D-1", "draft_report", "Draft v2 (edited).docx", data)

    assert response.status_code == 302, response.get_data(as_text=True)
    [_, mine] = docs(runtime, case_id, "draft_report")
    assert (mine.version, mine.origin, mine.author, mine.original_filename) == (
        2, "uploaded", "pm@demo.example", "Draft v2 (edited).docx")
    assert mine.sha256 == hashlib.sha256(data).hexdigest() == hashlib.sha256(
        (runtime.settings.documents_dir / mine.path).read_bytes()).hexdigest()
    [event] = audit_events(runtime, case_id, "document_uploaded")
    assert (event["sha256"], event["version"], event["actor"]) == (mine.sha256, 2, "pm@demo.example")
    with transaction(runtime.sessions) as session:
        assert documents.latest_document(session, case_id, "draft_report").id == mine.id  # type: ignore[union-attr]

    page = client.get("/cases/RR-D-1").get_data(as_text=True)
    assert "Uploaded" in page and f"to={mine.id}" in page
    compare = client.get(f"/cases/RR-D-1/documents/compare?from={draft.id}&to={mine.id}").get_data(as_text=True)
    assert "the text of each paragraph is compared" in compare
    assert '<ins class="app-ins"><span class="govuk-visually-hidden">added: </span>Eastbrook Hospital' in compare


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("notes.txt", b"hello", "The selected file must be a Word document (.docx)"),
    ("draft.docx", b"PK\x03\x04 not really", "The selected file must be a Word document (.docx)"),
    ("draft.docm", b"PK\x03\x04", "The selected file contains macros"),
    ("", b"", "Select a Word document (.docx) to upload"),
])
def test_an_upload_that_is_not_a_clean_word_document_is_refused_with_a_clear_message(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock, filename: str, data: bytes, message: str) -> None:
    case_id = with_draft(runtime, virtual_clock)
    response = upload(sign_in(app, "pm@demo.example"), "RR-D-1", "draft_report", filename, data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in html and message in html and 'href="#file"' in html
    assert len(docs(runtime, case_id, "draft_report")) == 1
    [refused] = audit_events(runtime, case_id, "document_upload_refused")
    assert refused["reason"].startswith(message) and refused["actor"] == "pm@demo.example"


def test_a_file_over_the_size_limit_is_refused_before_or_after_reading(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    with_draft(runtime, virtual_clock)
    monkeypatch.setenv("RAPIDREVIEW_UPLOAD_MAX_MB", "0.1")  # 102 KB
    client = sign_in(app, "pm@demo.example")
    just_over = upload(client, "RR-D-1", "draft_report", "big.docx", b"PK" + b"x" * 120_000)
    assert just_over.status_code == 400 and "The selected file must be smaller than 102 KB" in just_over.get_data(as_text=True)
    far_over = upload(client, "RR-D-1", "draft_report", "huge.docx", b"PK" + b"x" * 400_000)
    assert far_over.status_code == 413 and "The selected file must be smaller than 102 KB" in far_over.get_data(as_text=True)


def test_only_the_chair_and_the_partnership_manager_may_upload_and_agencies_see_no_reports(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = with_draft(runtime, virtual_clock)
    [draft] = docs(runtime, case_id, "draft_report")
    lead = sign_in(app, "la.lead@demo.example")
    assert "Upload a new version" not in lead.get("/cases/RR-D-1").get_data(as_text=True)
    assert lead.get("/cases/RR-D-1/documents/upload").status_code == 403
    assert lead.get(f"/cases/RR-D-1/documents/compare?to={draft.id}").status_code == 200
    # The appointed chair (from the example answers) has no account, so the standing chairs act for them.
    assert sign_in(app, "chair@demo.example").get("/cases/RR-D-1/documents/upload").status_code == 200
    agency = sign_in(app, "school.practitioner@demo.example")
    for path in ("/cases/RR-D-1/documents/upload", f"/cases/RR-D-1/documents/compare?to={draft.id}",
                 f"/cases/RR-D-1/documents/{draft.id}"):
        assert agency.get(path).status_code == 404, path


def test_generated_versions_are_compared_field_by_field(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = with_draft(runtime, virtual_clock)
    [first] = docs(runtime, case_id, "draft_report")
    assert first.content is not None
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        data = {"notification": case.notification, "prepare_draft_report": {"concerns": "No interpreter was used."}}
        documents.create_report(session, runtime, case, "draft_report", data)
    second = docs(runtime, case_id, "draft_report")[-1]
    html = sign_in(app, "pm@demo.example").get(
        f"/cases/RR-D-1/documents/compare?from={first.id}&to={second.id}").get_data(as_text=True)
    assert "Report › Concerns" in html and "interpreter" in html
    assert "the text of each paragraph is compared" not in html


def test_an_agency_working_on_paper_downloads_the_form_and_attaches_it(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = start(runtime)
    task = drive(runtime, virtual_clock, case_id, "complete_information_sharing_form")
    practitioner = sign_in(app, "school.practitioner@demo.example")
    page = practitioner.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Download the Information Sharing Form (.docx)" in page
    form = practitioner.get(f"/tasks/{task.id}/information-sharing-form.docx")
    assert form.status_code == 200 and form.mimetype == DOCX
    document = docx.Document(io.BytesIO(form.data))
    text = "\n".join([p.text for p in document.paragraphs] + [c.text for t in document.tables for r in t.rows for c in r.cells])
    schema = json.loads(Path("forms/complete_information_sharing_form.schema.json").read_text())
    for number, spec in enumerate(schema["properties"].values(), 1):
        assert f"{number}. {spec['title']}" in text  # the paper form asks what the web form asks, in its order
    assert "RR-D-1" in text and "Oak Primary School" in text and "{{" not in text

    token = csrf_of(practitioner.get("/tasks").get_data(as_text=True))
    practitioner.post(f"/tasks/{task.id}/claim", data={"csrf_token": token})
    filled = io.BytesIO()
    document.add_paragraph("Attendance fell to 82% in the spring term.")
    document.save(filled)
    response = practitioner.post(f"/tasks/{task.id}/information-sharing-form", content_type="multipart/form-data",
                                 data={"csrf_token": token, "file": (io.BytesIO(filled.getvalue()), "Oak ISF.docx")})
    assert response.status_code == 302
    [attached] = docs(runtime, case_id, "information_sharing_upload")
    assert (attached.agency_id, attached.task_id, attached.origin) == ("school", task.id, "uploaded")
    page = practitioner.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "Oak ISF.docx" in page
    assert practitioner.get(f"/tasks/{task.id}/attachments/{attached.id}").data == filled.getvalue()

    refused = practitioner.post(f"/tasks/{task.id}/information-sharing-form", content_type="multipart/form-data",
                                data={"csrf_token": token, "file": (io.BytesIO(b"MZ"), "virus.exe")})
    page = practitioner.get(refused.headers["Location"]).get_data(as_text=True)
    assert "There is a problem" in page and "The selected file must be a Word document (.docx)" in page

    # The web form is still submitted; then the manager sees the attachment on their check.
    answers = starting_answers(runtime, task.id, with_examples=True) | {"summary_of_contact": "See attached form"}
    cases.complete_task(runtime, task.id, answers, actor="school.practitioner@demo.example")
    check = drive(runtime, virtual_clock, case_id, "quality_assure_information_sharing_form")
    manager = sign_in(app, "school.manager@demo.example")
    assert "Oak ISF.docx" in manager.get(f"/tasks/{check.id}").get_data(as_text=True)
    assert manager.get(f"/tasks/{check.id}/attachments/{attached.id}").status_code == 200
    assert manager.get(f"/cases/RR-D-1/documents/{attached.id}").status_code == 404  # not through the report route
    other = sign_in(app, "gp.practitioner@demo.example")
    assert other.get(f"/tasks/{check.id}/attachments/{attached.id}").status_code == 404
    assert [e["agency"] for e in audit_events(runtime, case_id, "document_uploaded")] == ["school"]


def test_a_report_missing_mandatory_content_goes_back_instead_of_to_sign_off(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock) -> None:
    case_id = start(runtime)  # the notification has neither the child's date of birth nor their sex
    task = drive(runtime, virtual_clock, case_id, "incorporate_comments")
    pm = sign_in(app, "pm@demo.example")
    page = pm.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "The final report cannot go to sign-off without" in page
    assert "Child&#39;s date of birth or age" in page and "Child&#39;s sex" in page

    cases.complete_task(runtime, task.id, starting_answers(runtime, task.id, with_examples=True), actor="pm@demo.example")

    again = drive(runtime, virtual_clock, case_id, "incorporate_comments")
    assert again.id != task.id
    with transaction(runtime.sessions) as session:
        assert not [t for t in cases.ready_tasks(session, case_id) if t.element_id == "sign_off_final_report"]
    [final] = docs(runtime, case_id, "final_report")
    assert documents.missing_from(final) == ["Child's date of birth or age", "Child's sex"]
    page = pm.get(f"/tasks/{again.id}").get_data(as_text=True)
    assert "could not go to sign-off because it lacks mandatory content: Child&#39;s date of birth or age; Child&#39;s sex" in page
    case_page = pm.get("/cases/RR-D-1").get_data(as_text=True)
    assert 'id="report-missing"' in case_page and "Child&#39;s sex" in case_page

    answers = starting_answers(runtime, again.id, with_examples=True) | {"child_date_of_birth": "2019-03-02",
                                                                          "child_sex": "female"}
    cases.complete_task(runtime, again.id, answers, actor="pm@demo.example")
    drive(runtime, virtual_clock, case_id, "sign_off_final_report")
    latest = docs(runtime, case_id, "final_report")[-1]
    assert latest.version == 2 and documents.missing_from(latest) == []
    assert latest.content is not None and latest.content["child"]["date_of_birth"] == "2 March 2019"
    assert 'id="report-complete"' in pm.get("/cases/RR-D-1").get_data(as_text=True)


def test_the_signed_report_is_never_made_incomplete(app: Flask, runtime: Runtime) -> None:
    case_id = start(runtime)
    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        with pytest.raises(documents.IncompleteReport, match="lacks mandatory content: .*Child's date of birth or age"):
            documents.create_report(session, runtime, case, "signed_report", {"notification": case.notification})
    assert docs(runtime, case_id, "signed_report") == []


def _soffice(tmp_path: Path, body: str) -> str:
    script = tmp_path / "soffice-stand-in"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_a_converter_failure_at_the_last_sign_off_is_explained_and_nothing_is_lost(
        app: Flask, runtime: Runtime, virtual_clock: clock.VirtualClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = start(runtime, child={"name": "Child D", "date_of_birth": "2019-03-02", "sex": "female"})
    drive(runtime, virtual_clock, case_id, "sign_off_final_report")
    with transaction(runtime.sessions) as session:
        signing = {t.partner: t for t in cases.ready_tasks(session, case_id) if t.element_id == "sign_off_final_report"}
    la, mps, icb = signing["LA"], signing["MPS"], signing["ICB"]
    # each partner signs with its own lead's account: a signed report needs three such accounts
    for task, account in ((la, "la.lead@demo.example"), (mps, "police.lead@demo.example")):
        cases.complete_task(runtime, task.id, starting_answers(runtime, task.id, with_examples=True), actor=account)
    monkeypatch.delenv("RAPIDREVIEW_UNOSERVER", raising=False)
    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", _soffice(tmp_path, "echo 'soffice.bin crashed' >&2\nexit 134\n"))
    lead = sign_in(app, "icb.lead@demo.example")
    token = csrf_of(lead.get("/tasks").get_data(as_text=True))
    lead.post(f"/tasks/{icb.id}/claim", data={"csrf_token": token})
    answers = starting_answers(runtime, icb.id, with_examples=True)
    form = {"csrf_token": token, "action": "submit", **{k: str(v).lower() if isinstance(v, bool) else v
                                                        for k, v in answers.items() if not isinstance(v, list | dict)}}

    response = lead.post(f"/tasks/{icb.id}", data=form)

    html = response.get_data(as_text=True)
    assert response.status_code == 503 and "the signed report could not be made" in html.lower()
    assert "nothing was sent to the National Panel" in html and "soffice.bin crashed" in html
    with transaction(runtime.sessions) as session:
        assert session.get(HumanTask, icb.id).state == "ready"  # type: ignore[union-attr]
    assert docs(runtime, case_id, "signed_report") == []

    monkeypatch.setenv("RAPIDREVIEW_SOFFICE", _soffice(tmp_path, 'while [ "$1" != "--outdir" ]; do shift; done\n'
                                                       'printf "%%PDF-1.7 stand-in" > "$2/$(basename "$3" .docx).pdf"\n'))
    assert lead.post(f"/tasks/{icb.id}", data=form).status_code == 302
    [pdf] = docs(runtime, case_id, "signed_report_pdf")
    assert [e["sha256"] for e in audit_events(runtime, case_id, "document_created") if e["kind"] == "signed_report_pdf"] \
        == [pdf.sha256]
