"""Documents: generated versions of the report and agenda, uploaded versions, agencies' paper forms.

Every document is a row with kind, version, SHA-256, size, author and time, and an audit event
(``document_created`` for generated ones, ``document_uploaded`` for uploads), so the trail holds the hash
of each file, the PDF e-mailed to the National Panel included. Generated versions also keep the report
context they were rendered from (``content``) so versions can be compared field by field.

The operators (``create_report``) run inside a case's step transaction; the functions for people (upload,
compare, download) are each one transaction and check who is asking (docs/documents.md).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from rapidreview import clock, errors
from rapidreview.documents.compare import Change, field_changes, paragraph_changes
from rapidreview.documents.completeness import missing_items
from rapidreview.documents.decision_record import build_decision_record_context
from rapidreview.documents.docx_check import (  # noqa: F401 - the upload rules, for the pages that take uploads
    DOCX_MEDIA_TYPE,
    UploadRejected,
    check_docx,
    describe_limit,
    docx_paragraphs,
    max_upload_bytes,
)
from rapidreview.documents.pdf import convert_to_pdf
from rapidreview.documents.render import render_docx
from rapidreview.documents.report_context import (
    build_report_context,
    display_datetime,
    information_sharing_form_context,
)
from rapidreview.errors import Conflict, NotFound
from rapidreview.process_contract import (
    FINAL_DRAFT_DOCUMENT,
    INCORPORATE_COMMENTS_TASK,
    INFORMATION_QA_TASK,
    INFORMATION_SHARING_TASK,
    SIGN_OFFS,
)
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import version_templates
from rapidreview.services.people import partnerships, policy
from rapidreview.services.people.users import ROLES, SignedIn
from rapidreview.services.platform import audit
from rapidreview.services.reading.snapshots import snapshot
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, Document, HumanTask, User

DECISION_RECORD = "decision_record"
REPORT_KINDS = ("draft_report", FINAL_DRAFT_DOCUMENT, "final_report", "signed_report", DECISION_RECORD)
AGENDA = "meeting_agenda"
SIGNED_PDF = "signed_report_pdf"
DECISION_RECORD_PDF = "decision_record_pdf"
# The documents the National Panel receives: refused when incomplete, and converted to PDF/A.
PDF_KINDS = {"signed_report": SIGNED_PDF, DECISION_RECORD: DECISION_RECORD_PDF}
ISF_UPLOAD = "information_sharing_upload"
ISF_TASK = INFORMATION_SHARING_TASK
ISF_TASKS = (ISF_TASK, INFORMATION_QA_TASK)
ISF_TEMPLATE = "information_sharing_form.docx"
FINAL_TASK = INCORPORATE_COMMENTS_TASK
UPLOADABLE_KINDS = ("draft_report", FINAL_DRAFT_DOCUMENT, "final_report")  # never the signed report
DOCX = DOCX_MEDIA_TYPE
PDF = "application/pdf"
TEMPLATES = {**{kind: "rapid_review_report.docx" for kind in REPORT_KINDS}, AGENDA: "meeting_agenda.docx",
             DECISION_RECORD: "decision_record.docx"}
KIND_NAMES = {
    "draft_report": "Draft report", FINAL_DRAFT_DOCUMENT: "Final draft report", "final_report": "Final report",
    "signed_report": "Signed report", SIGNED_PDF: "Signed report (PDF)", AGENDA: "Meeting agenda",
    DECISION_RECORD: "Decision record", DECISION_RECORD_PDF: "Decision record (PDF)",
    ISF_UPLOAD: "Information sharing form (uploaded)",
}


class UnknownDocumentKind(NotFound):
    pass


class IncompleteReport(Conflict):
    """The signed report would lack mandatory content: it is never made, so never sent."""


class NotAllowed(errors.NotAllowed):
    """The person may see the case but not do this (the view answers 403)."""


# -- queries ---------------------------------------------------------------------------------------------

def latest_document(session: Session, case_id: int, kind: str) -> Document | None:
    return session.scalars(
        select(Document).where(Document.case_id == case_id, Document.kind == kind).order_by(Document.version.desc()).limit(1)
    ).first()


def _next_version(session: Session, case_id: int, kind: str) -> int:
    current = session.scalar(select(func.max(Document.version)).where(Document.case_id == case_id, Document.kind == kind))
    return (current or 0) + 1


def report_versions(session: Session, case_id: int) -> list[Document]:
    """The report's versions, draft to signed, generated and uploaded, oldest first."""
    return list(session.scalars(select(Document).where(Document.case_id == case_id, Document.kind.in_(REPORT_KINDS))
                                .order_by(Document.id)))


# -- generated documents (service operators, inside the case's step) -------------------------------------

def _store(session: Session, rt: Runtime, case: Case, kind: str, version: int, path: Path, media_type: str,
           author: str, **extra: Any) -> Document:
    content = path.read_bytes()
    doc = Document(case_id=case.id, kind=kind, version=version, filename=path.name, media_type=media_type,
                   path=str(path.relative_to(rt.settings.documents_dir)), sha256=hashlib.sha256(content).hexdigest(),
                   size=len(content), author=author, created_at=clock.now(), **extra)
    session.add(doc)
    session.flush()
    uploaded = doc.origin == "uploaded"
    audit.record(session, case.id, "document_uploaded" if uploaded else "document_created", actor=author,
                 kind=kind, version=version, path=f"documents/{doc.path}", sha256=doc.sha256, size=doc.size,
                 document_id=doc.id, agency=doc.agency_id, original_filename=doc.original_filename if uploaded else None)
    return doc


def _context(rt: Runtime, case: Case, kind: str, version: int, data: Mapping[str, Any]) -> dict[str, Any]:
    session = object_session(case)
    assert session is not None
    settings = partnerships.settings_for(rt, session, case.partnership_id)
    if kind == DECISION_RECORD:
        return build_decision_record_context(
            data=data, version=version, reference=case.reference, notified_at=case.notified_at,
            day_one=case.day_one, settings=settings, generated_at=clock.now())
    if kind == "signed_report":
        data = _with_signatories(session, case, data)
    return build_report_context(
        data=data, kind=kind, version=version, reference=case.reference, notified_at=case.notified_at,
        day_one=case.day_one, deadline=case.deadline, calendar=rt.calendar, settings=settings,
        generated_at=clock.now(),
    )


def _with_signatories(session: Session, case: Case, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Sign-offs stamped before the application recorded the account's name and role take them from the
    account that made them (found by its e-mail in the case's partnership), so a case signed across an
    upgrade is still judged by who signed. Stamped values are never replaced."""
    sign_offs = data.get(SIGN_OFFS)
    if not isinstance(sign_offs, Mapping):
        return data
    unstamped = {str(a.get("completed_by") or "").strip().lower() for a in sign_offs.values()
                 if isinstance(a, Mapping) and a.get("completed_by") and not a.get("completed_by_role")}
    if not unstamped:
        return data
    accounts = {u.email: u for u in session.scalars(select(User).where(
        User.email.in_(unstamped), User.partnership_id == case.partnership_id))}
    completed = {}
    for partner, answers in sign_offs.items():
        user = accounts.get(str(answers.get("completed_by") or "").strip().lower()) \
            if isinstance(answers, Mapping) and not answers.get("completed_by_role") else None
        completed[partner] = answers if user is None else {
            **answers, "completed_by_name": answers.get("completed_by_name") or user.name,
            "completed_by_role": ROLES.get(user.role, user.role)}
    return {**data, SIGN_OFFS: completed}


def _render(session: Session, rt: Runtime, case: Case, kind: str, data: Mapping[str, Any], author: str,
            template_kind: str | None = None) -> tuple[Document, dict[str, Any]]:
    version = _next_version(session, case.id, kind)
    context = _context(rt, case, kind, version, data)
    folder = _folder(rt, case)
    docx_path = folder / f"{_safe(case.reference)}-{kind.replace('_', '-')}-v{version}.docx"
    render_docx(version_templates.folder_for_case(rt, session, case) / TEMPLATES[template_kind or kind], context,
                docx_path)
    return _store(session, rt, case, kind, version, docx_path, DOCX, author, content=context), context


def create_report(session: Session, rt: Runtime, case: Case, kind: str, data: Mapping[str, Any],
                  author: str = "system") -> list[Document]:
    """Render a report of ``kind`` from the case data, as its next version.

    The draft report comes with the meeting agenda (kind ``meeting_agenda``). What the National Panel
    receives, the signed report and the decision record (when the criteria for a Rapid Review are not met),
    is refused when it lacks mandatory content (:class:`IncompleteReport`), and otherwise also becomes a
    tagged PDF/A-2b (kind ``signed_report_pdf`` / ``decision_record_pdf``).
    """
    if kind not in REPORT_KINDS:
        raise UnknownDocumentKind(f"unknown document kind {kind!r}; expected one of {', '.join(REPORT_KINDS)}")
    if kind in PDF_KINDS:
        missing = missing_items(_context(rt, case, kind, 0, data))
        if missing:
            name = KIND_NAMES[kind].lower()
            raise IncompleteReport(f"the {name} was not made because it lacks mandatory content: "
                                   + "; ".join(missing))
    doc, _ = _render(session, rt, case, kind, data, author)
    stored = [doc]
    if kind == "draft_report":
        stored.append(_render(session, rt, case, AGENDA, data, author)[0])
    if kind in PDF_KINDS:
        pdf_kind = PDF_KINDS[kind]
        docx_path = rt.settings.documents_dir / doc.path
        pdf_path = convert_to_pdf(docx_path, docx_path.parent, timeout=rt.settings.pdf_timeout_s)
        stored.append(_store(session, rt, case, pdf_kind, _next_version(session, case.id, pdf_kind), pdf_path,
                             PDF, author))
    return stored


def missing_from(doc: Document) -> list[str]:
    """What a generated report version lacks; [] for uploads and other kinds (they keep no context)."""
    return missing_items(doc.content) if doc.content and doc.kind in REPORT_KINDS else []


def _folder(rt: Runtime, case: Case) -> Path:
    folder = rt.settings.documents_dir / _safe(case.reference)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _safe(text: str) -> str:
    """A file-name-safe form of a reference or ID. References hold letters, digits, - _ and / only, and "/"
    becomes "+" (which no reference holds), so two references never share a folder: RR/2026/1 and RR_2026_1
    are RR+2026+1 and RR_2026_1."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "+" for ch in text)


# -- who may do what -------------------------------------------------------------------------------------

def may_read_reports(user: SignedIn, case: Case) -> bool:
    session = object_session(case)
    assert session is not None
    return policy.may_read_reports(user, case, policy.case_facts(session, user, case))


def may_edit_reports(user: SignedIn, case: Case, session: Session) -> bool:
    return policy.may_edit_reports(user, case, policy.chair_has_account(session, case))


def _task_visible(user: SignedIn, task: HumanTask, case: Case) -> bool:
    session = object_session(case)
    assert session is not None
    return policy.may_see_task(user, task, case, policy.chair_has_account(session, case))


def _case(session: Session, reference: str, user: SignedIn) -> Case | None:
    """The case with this reference in the person's partnership (another partnership's is not found)."""
    return session.scalars(select(Case).where(Case.reference == reference,
                                              Case.partnership_id == user.partnership_id)).first()


# -- uploaded report versions ----------------------------------------------------------------------------

@dataclass
class CaseDocuments:
    """The documents part of the case page."""

    can_upload: bool
    uploadable_kinds: dict[str, str]  # kind -> name, the kinds that already have a version
    previous: dict[int, int]  # report version id -> the report version before it, to compare with
    checked: Document | None  # the newest generated report version, whose completeness is shown
    missing: list[str]
    upload_limit: str


def case_documents(rt: Runtime, user: SignedIn, reference: str) -> CaseDocuments | None:

    with transaction(rt.sessions) as session:
        case = _case(session, reference, user)
        if case is None or not may_read_reports(user, case):
            return None
        versions = report_versions(session, case.id)
        previous = {later.id: earlier.id for earlier, later in zip(versions, versions[1:], strict=False)}
        generated = [d for d in versions if d.content]
        checked = generated[-1] if generated else None
        kinds = {d.kind for d in versions}
        session.expunge_all()
        return CaseDocuments(
            can_upload=may_edit_reports(user, case, session) and case.status == "open",
            uploadable_kinds={k: KIND_NAMES[k] for k in UPLOADABLE_KINDS if k in kinds},
            previous=previous, checked=snapshot(checked) if checked else None,
            missing=missing_from(checked) if checked else [],
            upload_limit=describe_limit(max_upload_bytes()))


def upload_report_version(rt: Runtime, user: SignedIn, reference: str, kind: str, filename: str,
                          data: bytes) -> Document:
    """Store a person's edited .docx as the next version of ``kind``. Raises NotFound (no such case, or
    not theirs to see), NotAllowed, or UploadRejected with the message to show."""
    with transaction(rt.sessions) as session:
        case = _case(session, reference, user)
        if case is None or not may_read_reports(user, case):
            raise NotFound(reference)
        if not may_edit_reports(user, case, session):
            raise NotAllowed("Only the chair of the Rapid Review and the Partnership Manager can upload a new version")
        if case.status != "open":
            raise UploadRejected("This review is finished, so its report can no longer change")
        if kind not in UPLOADABLE_KINDS or latest_document(session, case.id, kind) is None:
            raise UploadRejected("Select which document this is a new version of")
        try:
            checked = check_docx(filename, data)
        except UploadRejected as exc:
            audit.record(session, case.id, "document_upload_refused", actor=user.email, kind=kind,
                         original_filename=filename[:300], size=len(data), reason=str(exc))
            _commit_refusal(session)
            raise
        session.refresh(case, with_for_update=True)  # one version number at a time, also against the case's steps
        version = _next_version(session, case.id, kind)
        stem = f"{_safe(case.reference)}-{kind.replace('_', '-')}-v{version}-uploaded"
        return _write_upload(session, rt, case, kind, version, stem, checked.data, user,
                             original_filename=filename[:300])


def _commit_refusal(session: Session) -> None:
    """A refused upload is audited although the use case then fails."""
    session.commit()


def _write_upload(session: Session, rt: Runtime, case: Case, kind: str, version: int, stem: str, data: bytes,
                  user: SignedIn, **extra: Any) -> Document:
    # The name carries the content's hash: two uploads racing for one version number never share a file.
    target = _folder(rt, case) / f"{stem}-{hashlib.sha256(data).hexdigest()[:12]}.docx"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
        doc = _store(session, rt, case, kind, version, target, DOCX, user.email, origin="uploaded", **extra)
    except IntegrityError:
        target.unlink(missing_ok=True)
        raise UploadRejected("Someone else added a version at the same moment. Upload your file again") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise
    session.expunge(doc)
    return doc


# -- comparing versions ----------------------------------------------------------------------------------

@dataclass
class Comparison:
    case: Case
    versions: list[Document]
    old: Document
    new: Document
    by_field: bool  # True: report fields compared; False: the paragraphs of the .docx files
    changes: list[Change] = field(default_factory=list)


def compare_versions(rt: Runtime, user: SignedIn, reference: str, old_id: int | None, new_id: int | None) -> Comparison | None:
    """Two report versions and what changed between them; by default the newest and the one before it."""
    with transaction(rt.sessions) as session:
        case = _case(session, reference, user)
        if case is None or not may_read_reports(user, case):
            return None
        versions = report_versions(session, case.id)
        by_id = {d.id: d for d in versions}
        new = by_id.get(new_id) if new_id else (versions[-1] if versions else None)
        if new is None:
            return None
        earlier = [d for d in versions if d.id < new.id]
        old = by_id.get(old_id) if old_id else (earlier[-1] if earlier else None)
        if old is None or old.id == new.id:
            old = new if not earlier else earlier[-1]
        if old.content and new.content:
            result = Comparison(case, versions, old, new, True, field_changes(old.content, new.content))
        else:
            result = Comparison(case, versions, old, new, False,
                                paragraph_changes(_paragraphs(rt, old), _paragraphs(rt, new)))
        audit.record(session, case.id, "documents_compared", actor=user.email, old=old.id, new=new.id)
        session.expunge_all()
        return result


def _paragraphs(rt: Runtime, doc: Document) -> list[str]:
    path = rt.settings.documents_dir / doc.path
    try:
        return docx_paragraphs(path.read_bytes())
    except (OSError, UploadRejected):
        return [f"(The file of {doc.filename} cannot be read.)"]


# -- agencies that work on paper: the Information Sharing Form as .docx ------------------------------------

@dataclass
class TaskDocuments:
    """The documents part of a task page."""

    paper_form: bool  # the task offers the .docx form and shows the agency's uploads
    can_upload: bool
    attachments: list[Document]
    missing: list[str] | None  # incorporate_comments: what the final report would lack now
    upload_limit: str


def task_documents(rt: Runtime, user: SignedIn, task_id: int) -> TaskDocuments | None:

    with transaction(rt.sessions) as session:
        task = session.get(HumanTask, task_id)
        case = session.get(Case, task.case_id) if task else None
        if task is None or case is None or not _task_visible(user, task, case):
            return None
        paper = task.element_id in ISF_TASKS and task.agency_id is not None
        attachments = list(session.scalars(select(Document).where(
            Document.case_id == case.id, Document.kind == ISF_UPLOAD, Document.agency_id == task.agency_id)
            .order_by(Document.id))) if paper else []
        missing = None
        if task.element_id == FINAL_TASK and task.state == "ready" and may_read_reports(user, case):
            missing = _live_missing(rt, case, task)
        session.expunge_all()
        return TaskDocuments(paper_form=paper, attachments=attachments, missing=missing,
                             can_upload=paper and task.element_id == ISF_TASK and task.state == "ready"
                             and task.assignee == user.email,
                             upload_limit=describe_limit(max_upload_bytes()))


def _live_missing(rt: Runtime, case: Case, task: HumanTask) -> list[str]:
    """What the final report would lack if the task were submitted with the answers saved so far."""
    view = next((v for v in rt.restore(case).ready_user_tasks() if v.id == task.engine_task_id), None)
    if view is None:
        return []
    answers = task.draft or view.previous_answers or {}
    data = {**view.data, FINAL_TASK: dict(answers)}
    return missing_items(_context(rt, case, "final_report", 0, data))


def information_sharing_form(rt: Runtime, user: SignedIn, task_id: int) -> tuple[bytes, str] | None:
    """The Information Sharing Form as a .docx for the agency of ``task_id``, headed with the case and agency."""
    with transaction(rt.sessions) as session:
        task = session.get(HumanTask, task_id)
        case = session.get(Case, task.case_id) if task else None
        if task is None or case is None or task.element_id not in ISF_TASKS or not _task_visible(user, task, case):
            return None
        context = information_sharing_form_context(
            partnerships.settings_for(rt, session, case.partnership_id), reference=case.reference,
            agency=task.agency_name or task.agency_id or "", due=display_datetime(task.due_at) if task.due_at else "")
        with tempfile.TemporaryDirectory(prefix="rapidreview-isf-") as tmp:
            out = Path(tmp) / "form.docx"
            render_docx(version_templates.folder_for_case(rt, session, case) / ISF_TEMPLATE, context, out)
            data = out.read_bytes()
        audit.record(session, case.id, "information_sharing_form_downloaded", actor=user.email, agency=task.agency_id,
                     task=task.id)
        name = f"{_safe(case.reference)}-information-sharing-form-{_safe(task.agency_id or 'agency')}.docx"
        return data, name


def attach_information_sharing_form(rt: Runtime, user: SignedIn, task_id: int, filename: str, data: bytes) -> Document:
    """Attach an agency's completed .docx form to its task (kind ``information_sharing_upload``)."""
    with transaction(rt.sessions) as session:
        task = session.get(HumanTask, task_id)
        case = session.get(Case, task.case_id) if task else None
        if task is None or case is None or task.element_id != ISF_TASK or not _task_visible(user, task, case):
            raise NotFound(task_id)
        if task.state != "ready":
            raise UploadRejected("This task has already been completed, so nothing more can be attached to it")
        if task.assignee != user.email:
            raise UploadRejected("Claim this task before you attach a file to it")
        try:
            checked = check_docx(filename, data)
        except UploadRejected as exc:
            audit.record(session, case.id, "document_upload_refused", actor=user.email, kind=ISF_UPLOAD,
                         agency=task.agency_id, original_filename=filename[:300], size=len(data), reason=str(exc))
            _commit_refusal(session)
            raise
        session.refresh(case, with_for_update=True)
        version = _next_version(session, case.id, ISF_UPLOAD)
        stem = f"{_safe(case.reference)}-information-sharing-form-{_safe(task.agency_id or 'agency')}-v{version}"
        return _write_upload(session, rt, case, ISF_UPLOAD, version, stem, checked.data, user,
                             agency_id=task.agency_id, task_id=task.id, original_filename=filename[:300])


def task_attachment(rt: Runtime, user: SignedIn, task_id: int, document_id: int) -> tuple[Path, Document] | None:
    """An agency's uploaded form, for people who can see one of that agency's tasks in the case."""
    with transaction(rt.sessions) as session:
        task = session.get(HumanTask, task_id)
        doc = session.get(Document, document_id)
        case = session.get(Case, task.case_id) if task else None
        if task is None or doc is None or case is None or not _task_visible(user, task, case):
            return None
        if doc.kind != ISF_UPLOAD or doc.case_id != case.id or doc.agency_id != task.agency_id:
            return None
        if policy.case_view(user, case, policy.case_facts(session, user, case)) is None:
            return None
        audit.record(session, case.id, "document_downloaded", actor=user.email, kind=doc.kind, version=doc.version,
                     document_id=doc.id, agency=doc.agency_id)
        session.expunge(doc)
        return rt.settings.documents_dir / doc.path, doc
