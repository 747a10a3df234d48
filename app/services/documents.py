"""Generated documents: render, convert, store with kind, version, SHA-256, author and time."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.documents.pdf import convert_to_pdf
from app.documents.render import render_docx
from app.documents.report_context import build_report_context
from app.services import audit
from app.services.runtime import Runtime
from app.store.models import Case, Document

REPORT_KINDS = ("draft_report", "final_draft_report", "final_report", "signed_report")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF = "application/pdf"
TEMPLATES = {kind: "rapid_review_report.docx" for kind in REPORT_KINDS}


class UnknownDocumentKind(ValueError):
    pass


def latest_document(session: Session, case_id: int, kind: str) -> Document | None:
    return session.scalars(
        select(Document).where(Document.case_id == case_id, Document.kind == kind).order_by(Document.version.desc()).limit(1)
    ).first()


def _next_version(session: Session, case_id: int, kind: str) -> int:
    current = session.scalar(select(func.max(Document.version)).where(Document.case_id == case_id, Document.kind == kind))
    return (current or 0) + 1


def _store(session: Session, rt: Runtime, case: Case, kind: str, version: int, path: Path, media_type: str,
           author: str) -> Document:
    content = path.read_bytes()
    doc = Document(case_id=case.id, kind=kind, version=version, filename=path.name, media_type=media_type,
                   path=str(path.relative_to(rt.settings.documents_dir)), sha256=hashlib.sha256(content).hexdigest(),
                   size=len(content), author=author, created_at=clock.now())
    session.add(doc)
    session.flush()
    audit.record(session, case.id, "document_created", actor=author,
                 kind=kind, version=version, path=f"documents/{doc.path}", sha256=doc.sha256, document_id=doc.id)
    return doc


def create_report(session: Session, rt: Runtime, case: Case, kind: str, data: Mapping[str, Any],
                  author: str = "system") -> list[Document]:
    """Render a report of ``kind`` from the case data; a signed report also becomes a PDF."""
    if kind not in REPORT_KINDS:
        raise UnknownDocumentKind(f"unknown document kind {kind!r}; expected one of {', '.join(REPORT_KINDS)}")
    version = _next_version(session, case.id, kind)
    context = build_report_context(
        data=data, kind=kind, version=version, reference=case.reference, notified_at=case.notified_at,
        day_one=case.day_one, deadline=case.deadline, settings=rt.settings, calendar=rt.calendar,
        generated_at=clock.now(), submitted_at=case.submitted_at,
    )
    folder = rt.settings.documents_dir / _safe(case.reference)
    folder.mkdir(parents=True, exist_ok=True)
    docx_path = folder / f"{_safe(case.reference)}-{kind.replace('_', '-')}-v{version}.docx"
    render_docx(rt.settings.templates_dir / TEMPLATES[kind], context, docx_path)
    stored = [_store(session, rt, case, kind, version, docx_path, DOCX, author)]
    if kind == "signed_report":
        pdf_path = convert_to_pdf(docx_path, folder, timeout=rt.settings.pdf_timeout_s)
        pdf_kind = "signed_report_pdf"
        stored.append(_store(session, rt, case, pdf_kind, _next_version(session, case.id, pdf_kind), pdf_path, PDF, author))
    return stored


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)
