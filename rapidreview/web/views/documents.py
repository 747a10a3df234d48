"""Documents: uploading a new version of the report, comparing versions, agencies' paper forms.

Access follows the case page: reports are for staff who see every case and the case's chair (agency staff
get 404); uploading a report version is for the chair and the Partnership Manager; an agency's paper form
is for the people who can see that agency's task.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, send_file, session, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from rapidreview.errors import NotFound
from rapidreview.services.casework import cases, documents
from rapidreview.web import runtime
from rapidreview.web.access import SIGNED_IN, allow
from rapidreview.web.downloads import send_stored

bp = Blueprint("documents", __name__)
UPLOAD_ENDPOINTS = ("documents.upload", "documents.attach_form")
UPLOAD_ERROR = "upload_error"  # a refused attachment's message, shown once on its task page
FORM_OVERHEAD = 64 * 1024  # the multipart envelope and the other fields of an upload form


@bp.before_app_request
def _limit_upload_size() -> None:
    # Runs before the CSRF check reads the form, so an oversized body is refused before it is read.
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = documents.max_upload_bytes() + FORM_OVERHEAD


@bp.app_errorhandler(413)
def _too_large(error: Any) -> tuple[str, int]:
    limit = documents.describe_limit(documents.max_upload_bytes())
    return render_template("errors/error.html", title="The selected file is too large",
                           message=[f"The selected file must be smaller than {limit}.",
                                    "Go back, choose a smaller file and upload it again."]), 413


@bp.app_errorhandler(cases.PdfNotMade)
def _pdf_not_made(error: cases.PdfNotMade) -> tuple[str, int]:
    """A step that failed making the signed PDF rolled back: say so, instead of a bare 500."""
    return render_template("errors/error.html", title="Sorry, the signed report could not be made", message=[
        "The signed report could not be turned into a PDF, so what you submitted was not saved and nothing "
        "was sent to the National Panel.",
        "Go back and submit again in a few minutes. If it happens again, tell your administrator: "
        f"{error}"]), 503


@bp.app_context_processor
def _panels() -> dict[str, Any]:
    """The documents parts of the case page and the task page (templates cases/show.html, tasks/show.html)."""
    user = g.get("user")
    args = request.view_args or {}
    if user is None:
        return {}
    if request.endpoint == "cases.show" and "reference" in args:
        return {"case_docs": documents.case_documents(runtime(), user, args["reference"])}
    if request.endpoint in ("tasks.show", "tasks.submit") and "task_id" in args:
        refused = session.pop(UPLOAD_ERROR, None)
        error = refused["message"] if isinstance(refused, dict) and refused.get("task") == args["task_id"] else None
        return {"task_docs": documents.task_documents(runtime(), user, args["task_id"]), "task_docs_error": error}
    return {}


def _file() -> tuple[str, bytes]:
    upload: FileStorage | None = request.files.get("file")
    if upload is None:
        return "", b""
    return upload.filename or "", upload.read()


# -- report versions -------------------------------------------------------------------------------------

def _upload_page(reference: str, errors: dict[str, str], kind: str | None, status: int = 200) -> tuple[str, int]:
    page = documents.case_documents(runtime(), g.user, reference)
    if page is None:
        abort(404)
    if not page.can_upload:
        abort(403)
    if not page.uploadable_kinds:
        flash("There is no report to upload a new version of yet.", "error")
    return render_template("documents/upload.html", title="Upload a new version of the report", reference=reference,
                           page=page, errors=errors, kind=kind), status


@bp.get("/cases/<path:reference>/documents/upload")
@allow(SIGNED_IN)
def upload_form(reference: str) -> tuple[str, int]:
    return _upload_page(reference, {}, request.args.get("kind"))


@bp.post("/cases/<path:reference>/documents/upload", endpoint="upload")
@allow(SIGNED_IN)
def upload(reference: str) -> tuple[str, int] | Response:
    kind = request.form.get("kind", "")
    filename, data = _file()
    if not kind:
        return _upload_page(reference, {"kind": "Select which document this is a new version of"}, kind, 400)
    try:
        doc = documents.upload_report_version(runtime(), g.user, reference, kind, filename, data)
    except NotFound:
        abort(404)
    except documents.NotAllowed:
        abort(403)
    except documents.UploadRejected as exc:
        return _upload_page(reference, {"file": str(exc)}, kind, 400)
    flash(f"{documents.KIND_NAMES[doc.kind]} version {doc.version} has been uploaded.", "success")
    return redirect(url_for("cases.show", reference=reference))


@bp.get("/cases/<path:reference>/documents/compare")
@allow(SIGNED_IN)
def compare(reference: str) -> str:
    comparison = documents.compare_versions(runtime(), g.user, reference, request.args.get("from", type=int),
                                            request.args.get("to", type=int))
    if comparison is None:
        abort(404)
    return render_template("documents/compare.html", title=f"What changed in the report for case {reference}",
                           reference=reference, c=comparison, names=documents.KIND_NAMES)


# -- agencies' paper forms -------------------------------------------------------------------------------

@bp.get("/tasks/<int:task_id>/information-sharing-form.docx")
@allow(SIGNED_IN)
def blank_form(task_id: int) -> Response:
    found = documents.information_sharing_form(runtime(), g.user, task_id)
    if found is None:
        abort(404)
    from io import BytesIO

    data, name = found
    return send_file(BytesIO(data), mimetype=documents.DOCX_MEDIA_TYPE, as_attachment=True, download_name=name)


@bp.post("/tasks/<int:task_id>/information-sharing-form", endpoint="attach_form")
@allow(SIGNED_IN)
def attach_form(task_id: int) -> Response:
    filename, data = _file()
    try:
        doc = documents.attach_information_sharing_form(runtime(), g.user, task_id, filename, data)
    except NotFound:
        abort(404)
    except documents.UploadRejected as exc:
        session[UPLOAD_ERROR] = {"task": task_id, "message": str(exc)}
        return redirect(url_for("tasks.show", task_id=task_id))
    flash(f"{doc.original_filename} is attached to this task. Now complete the form below and submit it: "
          "you may write \"See attached form\" in any answer.", "success")
    return redirect(url_for("tasks.show", task_id=task_id))


@bp.get("/tasks/<int:task_id>/attachments/<int:document_id>")
@allow(SIGNED_IN)
def attachment(task_id: int, document_id: int) -> Response:
    found = documents.task_attachment(runtime(), g.user, task_id, document_id)
    return send_stored(found, url_for("tasks.show", task_id=task_id))
