"""A version's templates on the web: a process owner edits an e-mail in the browser and replaces a Word
template by upload; either makes a new, checked candidate, and a broken one is refused with its line."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient

from rapidreview.config import PROJECT_ROOT
from rapidreview.services.definitions import process_versions as versions
from rapidreview.store.db import transaction
from tests.test_version_templates import replaced_in_docx
from tests.web.conftest import csrf_of, sign_in

EDIT = "/process/versions/1/templates/email/your_turn.txt/edit"
UPLOAD = "/process/versions/1/templates/decision_record.docx/upload"
YOUR_TURN = (PROJECT_ROOT / "templates" / "email" / "your_turn.txt").read_text()
DECISION = (PROJECT_ROOT / "templates" / "decision_record.docx").read_bytes()


def files_of(app: Flask) -> dict[int, dict[str, bytes]]:
    with transaction(app.extensions["rapidreview"].sessions) as session:
        return {v.number: versions.version_files(v) for v in versions.list_versions(session)}


def save_email(client: FlaskClient, text: str):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(EDIT).get_data(as_text=True))
    return client.post(EDIT, data={"csrf_token": token, "template": text, "note": "Wording"})


def upload_word(client: FlaskClient, content: bytes, filename: str = "decision_record.docx"):  # type: ignore[no-untyped-def]
    token = csrf_of(client.get(UPLOAD).get_data(as_text=True))
    return client.post(UPLOAD, data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data")


def test_only_process_owners_edit_and_upload_templates(app: Flask) -> None:
    for email in ("pm@demo.example", "admin@demo.example", "chair@demo.example"):
        client = sign_in(app, email)
        assert client.get(EDIT).status_code == 403 and client.get(UPLOAD).status_code == 403
        token = csrf_of(client.get("/tasks").get_data(as_text=True))
        assert client.post(EDIT, data={"csrf_token": token, "template": "Subject: x\n\ny"}).status_code == 403
    owner = sign_in(app, "owner@demo.example")
    page = owner.get("/process/versions/1").get_data(as_text=True)
    assert 'id="email-templates"' in page and 'href="/process/versions/1/templates/email/your_turn.txt/edit"' in page
    assert 'href="/process/versions/1/templates/decision_record.docx/upload"' in page
    assert 'href="/process/versions/1/files/decision_record.docx"' in page
    assert owner.get("/process/versions/1/templates/email/nothing.txt/edit").status_code == 404
    assert owner.get("/process/versions/1/templates/nothing.docx/upload").status_code == 404
    assert len(files_of(app)) == 1


def test_an_owner_edits_an_email_in_the_browser_and_it_makes_a_candidate(app: Flask) -> None:
    owner = sign_in(app, "owner@demo.example")
    page = owner.get(EDIT).get_data(as_text=True)
    assert "Subject: Rapid Review {{ case.reference }}" in page and 'class="govuk-textarea app-code"' in page

    changed = YOUR_TURN.replace("Subject: Rapid Review ", "Subject: Your turn on ").replace("\n", "\r\n")
    response = save_email(owner, changed)
    assert response.status_code == 302 and response.headers["Location"].endswith("/process/versions/2#templates")
    files = files_of(app)
    assert files[2]["templates/email/your_turn.txt"] == YOUR_TURN.replace(
        "Subject: Rapid Review ", "Subject: Your turn on ").encode()
    assert files[1]["templates/email/your_turn.txt"] == YOUR_TURN.encode()  # the base version stays as it was
    assert {p for p in files[2] if files[2][p] != files[1].get(p)} == {"templates/email/your_turn.txt"}
    shown = owner.get("/process/versions/2").get_data(as_text=True)
    assert "is stored as a candidate" in shown and "Templates changed" in shown and "email/your_turn.txt" in shown
    compared = owner.get("/process/compare?old=1&new=2").get_data(as_text=True)
    assert "<li>Changed: email/your_turn.txt</li>" in compared


def test_a_broken_email_is_refused_with_its_line_and_nothing_is_stored(app: Flask) -> None:
    owner = sign_in(app, "owner@demo.example")
    response = save_email(owner, "Subject: Rapid Review {{ case.reference }\n\nHello\n")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The e-mail was not saved" in page and "templates/email/your_turn.txt: line 1:" in page
    assert "{{ case.reference }" in page  # what was typed stays in the box
    response = save_email(owner, "Rapid Review\n\nHello\n")
    assert response.status_code == 400
    assert "must start with a &#39;Subject:&#39; line" in response.get_data(as_text=True)
    assert list(files_of(app)) == [1]


def test_an_owner_replaces_a_word_template_by_upload_and_its_tags_are_checked(app: Flask) -> None:
    owner = sign_in(app, "owner@demo.example")
    assert "Download decision_record.docx" in owner.get(UPLOAD).get_data(as_text=True)
    download = owner.get("/process/versions/1/files/decision_record.docx")
    assert download.status_code == 200 and download.data == DECISION

    unknown = replaced_in_docx(DECISION, "{{ decision.text }}", "{{ decision.txt }}")
    response = upload_word(owner, unknown)
    assert response.status_code == 400
    assert "templates/decision_record.docx: body: the tag uses decision.txt" in response.get_data(as_text=True)
    response = upload_word(owner, b"not a Word document")
    assert response.status_code == 400 and "must be a Word document" in response.get_data(as_text=True)
    assert list(files_of(app)) == [1]

    reworded = replaced_in_docx(DECISION, "{{ decision.text }}", "Decision: {{ decision.text }}")
    response = upload_word(owner, reworded, filename="decision record (edited).docx")
    assert response.status_code == 302 and response.headers["Location"].endswith("/process/versions/2#templates")
    files = files_of(app)
    assert files[2]["templates/decision_record.docx"] == reworded
    assert files[1]["templates/decision_record.docx"] == DECISION


def test_templates_uploaded_with_the_process_files_replace_the_active_versions(app: Flask) -> None:
    owner = sign_in(app, "owner@demo.example")
    token = csrf_of(owner.get("/process/deploy").get_data(as_text=True))
    changed = YOUR_TURN.replace("Subject: Rapid Review ", "Subject: Your turn on ").encode()
    response = owner.post("/process/deploy", content_type="multipart/form-data", data={
        "csrf_token": token, "note": "wording", "files": [(io.BytesIO(changed), "your_turn.txt")]})
    assert response.status_code == 302
    files = files_of(app)
    assert files[2]["templates/email/your_turn.txt"] == changed
    assert {p for p in files[2] if files[2][p] != files[1].get(p)} == {"templates/email/your_turn.txt"}

    response = owner.post("/process/deploy", content_type="multipart/form-data", data={
        "csrf_token": token, "files": [(io.BytesIO(b"not a Word document"), "decision_record.docx")]})
    assert response.status_code == 400 and "must be a Word document" in response.get_data(as_text=True)
    assert list(files_of(app)) == [2, 1]
