"""Changing a version's templates in the browser: an e-mail edited as text, a Word template replaced by an
upload. Either way the result is the base version's files with that one file changed, checked exactly as
``rapidreview validate`` checks a version and stored as a new candidate; the base version stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping

from rapidreview.documents.docx_check import UploadRejected, check_docx
from rapidreview.errors import Invalid
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions.uploaded_files import MAX_FILE
from rapidreview.services.definitions.version_pages import StoredVersion
from rapidreview.store.models import ProcessVersion

EMAIL_PREFIX = "templates/email/"
MAX_EMAIL = 200 * 1024


class TemplateEditError(Invalid):
    """The change cannot be taken as it is (an unknown template, not a Word document); nothing was stored."""


def email_path(files: Mapping[str, bytes], name: str) -> str:
    """The stored path of the e-mail template ``name`` (``your_turn.txt``) of a version; an error if it has none."""
    path = EMAIL_PREFIX + name
    if "/" in name or not name.endswith((".txt", ".html")) or path not in files:
        raise TemplateEditError(f"this version has no e-mail template {name}")
    return path


def word_path(files: Mapping[str, bytes], name: str) -> str:
    """The stored path of the Word template ``name`` (``rapid_review_report.docx``); an error if it has none."""
    path = "templates/" + name
    if "/" in name or not name.endswith(".docx") or path not in files:
        raise TemplateEditError(f"this version has no Word template {name}")
    return path


def email_text(files: Mapping[str, bytes], name: str) -> str:
    return files[email_path(files, name)].decode("utf-8", "replace")


def save_email(rt: Runtime, base: StoredVersion, name: str, text: str, *, deployed_by: str, note: str = "",
               lint: bool = True) -> ProcessVersion:
    """Store the base version with the e-mail template ``name`` replaced by ``text`` as a checked candidate;
    ``InvalidVersion`` carries the problems and nothing is stored."""
    files = dict(base.files)
    path = email_path(files, name)
    # Browsers send CRLF from a textarea; the stored templates (and the Subject: check) use LF.
    content = text.replace("\r\n", "\n").encode("utf-8")
    if len(content) > MAX_EMAIL:
        raise TemplateEditError("the e-mail template is larger than 200 KB")
    if content == files[path]:
        raise TemplateEditError("nothing has changed: edit the e-mail first")
    files[path] = content
    return versions.deploy_files(rt, files, deployed_by=deployed_by, activate=False, lint=lint,
                                 note=note.strip() or f"E-mail {name} edited in the browser from version {base.number}")


def save_word(rt: Runtime, base: StoredVersion, name: str, filename: str, content: bytes, *, deployed_by: str,
              note: str = "", lint: bool = True) -> ProcessVersion:
    """Store the base version with the Word template ``name`` replaced by an uploaded file as a checked
    candidate; its tags are checked against the document's data with the rest of the version."""
    files = dict(base.files)
    path = word_path(files, name)
    try:
        check_docx(filename, content, limit=MAX_FILE)  # a safe .docx before its tags are read
    except UploadRejected as exc:
        raise TemplateEditError(str(exc)) from None
    if content == files[path]:
        raise TemplateEditError("the uploaded file is the same as this version's: nothing has changed")
    files[path] = content
    return versions.deploy_files(rt, files, deployed_by=deployed_by, activate=False, lint=lint,
                                 note=note.strip() or f"Word template {name} uploaded from version {base.number}")
