"""A version's e-mail and Word templates for process owners: edit an e-mail as text, replace a Word template
by uploading one edited in Word. Saving stores a new, checked candidate version, as the form editor does."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions import template_editing, version_pages
from rapidreview.services.definitions.version_templates import EMAIL_SUFFIXES, PREFIX, WORD_SUFFIX
from rapidreview.services.people import policy
from rapidreview.web import runtime
from rapidreview.web.access import allow

bp = Blueprint("templates_edit", __name__)


@bp.app_template_test("app_email_template")
def is_email_template(path: str) -> bool:
    """For the version page: ``templates/email/<name>.txt|.html`` (partials such as _layout.html included)."""
    return path.startswith(PREFIX + "email/") and path.endswith(EMAIL_SUFFIXES)


@bp.app_template_test("app_word_template")
def is_word_template(path: str) -> bool:
    return path.startswith(PREFIX) and path.count("/") == 1 and path.endswith(WORD_SUFFIX)


def _version(number: int) -> version_pages.StoredVersion:
    return version_pages.stored(runtime(), number)


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _email_page(version: version_pages.StoredVersion, name: str, text: str, problems: list[str], note: str = "",
                status: int = 200) -> tuple[str, int]:
    stem = name.rsplit(".", 1)[0]
    return render_template("versions/email_edit.html", title=f"Edit the e-mail {name}", version=version.version, name=name,
                           text=text, problems=problems, note=note, errors=bool(problems), partial=stem.startswith("_"),
                           html=name.endswith(".html")), status


@bp.get("/process/versions/<int:number>/templates/email/<name>/edit")
@allow(*policy.VERSION_OWNERS)
def email_edit(number: int, name: str) -> tuple[str, int]:
    version = _version(number)
    try:
        text = template_editing.email_text(version.files, name)
    except template_editing.TemplateEditError:
        abort(404)
    return _email_page(version, name, text, [])


@bp.post("/process/versions/<int:number>/templates/email/<name>/edit")
@allow(*policy.VERSION_OWNERS)
def email_save(number: int, name: str) -> tuple[str, int] | Response:
    version = _version(number)
    try:
        template_editing.email_path(version.files, name)
    except template_editing.TemplateEditError:
        abort(404)
    text, note = request.form.get("template", ""), request.form.get("note", "").strip()
    try:
        saved = template_editing.save_email(runtime(), version, name, text, deployed_by=g.user.email, note=note,
                                            lint=current_app.config.get("PROCESS_LINT", True))
    except template_editing.TemplateEditError as exc:
        return _email_page(version, name, text, [_sentence(str(exc))], note, 400)
    except versions.InvalidVersion as exc:
        return _email_page(version, name, text, [str(p) for p in exc.problems], note, 400)
    if saved.active:
        flash(f"These files are the same as the active version {saved.number}: nothing new was stored.")
    else:
        flash(f"Version {saved.number} has the e-mail {name} as you wrote it and passes every check; it is stored as "
              "a candidate.", "success")
    return redirect(url_for("versions.show", number=saved.number) + "#templates")


def _word_page(version: version_pages.StoredVersion, name: str, problems: list[str], note: str = "", status: int = 200) -> tuple[str, int]:
    return render_template("versions/word_upload.html", title=f"Upload the Word template {name}", version=version.version,
                           name=name, problems=problems, note=note, errors=bool(problems)), status


@bp.get("/process/versions/<int:number>/templates/<name>/upload")
@allow(*policy.VERSION_OWNERS)
def word_upload_form(number: int, name: str) -> tuple[str, int]:
    version = _version(number)
    try:
        template_editing.word_path(version.files, name)
    except template_editing.TemplateEditError:
        abort(404)
    return _word_page(version, name, [])


@bp.post("/process/versions/<int:number>/templates/<name>/upload")
@allow(*policy.VERSION_OWNERS)
def word_upload(number: int, name: str) -> tuple[str, int] | Response:
    version = _version(number)
    try:
        template_editing.word_path(version.files, name)
    except template_editing.TemplateEditError:
        abort(404)
    note = request.form.get("note", "").strip()
    upload = request.files.get("file")
    content = upload.read(template_editing.MAX_FILE + 1) if upload is not None else b""
    try:
        saved = template_editing.save_word(runtime(), version, name, upload.filename or "" if upload else "", content,
                                           deployed_by=g.user.email, note=note,
                                           lint=current_app.config.get("PROCESS_LINT", True))
    except template_editing.TemplateEditError as exc:
        return _word_page(version, name, [_sentence(str(exc))], note, 400)
    except versions.InvalidVersion as exc:
        return _word_page(version, name, [str(p) for p in exc.problems], note, 400)
    if saved.active:
        flash(f"These files are the same as the active version {saved.number}: nothing new was stored.")
    else:
        flash(f"Version {saved.number} has your {name} and passes every check; it is stored as a candidate.",
              "success")
    return redirect(url_for("versions.show", number=saved.number) + "#templates")
