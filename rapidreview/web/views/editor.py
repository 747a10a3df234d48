"""The process editor: process owners change the BPMN in the browser (bpmn-js with this project's
properties), and saving stores a checked candidate version or shows the problems on the elements."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from rapidreview.operator_table import OPERATORS
from rapidreview.services.casework.tasks import render_instructions
from rapidreview.services.definitions import form_editing, process_editing, version_pages
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions.form_preview import sample_instruction_data
from rapidreview.services.people import policy
from rapidreview.services.people.roles import LANE_ROLES
from rapidreview.web import editor_choices, runtime
from rapidreview.web.access import allow
from rapidreview.web.schema_forms import build_fields

bp = Blueprint("editor", __name__)

MAX_INSTRUCTIONS = 20_000  # characters of instructions the preview renders; far more than a task needs

# What each operator does, in the words the editor's list shows.


def _base_version(number: int | None) -> version_pages.StoredVersion:
    """The version an edit starts from: ``number``, or the active one (404 for neither)."""
    return version_pages.stored_or_active(runtime(), number)


def _editor_data(version: version_pages.StoredVersion) -> dict[str, Any]:
    files = version.files
    texts = process_editing.process_texts(files)
    main = next(
        (name for name, text in texts.items() if f'id="{version.process_id}"' in text), sorted(texts)[0]
    )
    return {
        "base": version.number,
        "main": main,
        "files": texts,
        "forms": sorted(
            p.split("/", 1)[1] for p in files if p.startswith("forms/") and p.endswith(".schema.json")
        ),
        "operators": {
            name: {
                "required": list(spec.required),
                "optional": list(spec.optional),
                "label": spec.label,
            }
            for name, spec in OPERATORS.items()
        },
        "lanes": [{"name": name, "role": role} for name, role in LANE_ROLES.items()],
        "emailTemplates": editor_choices.email_templates(files),
        "documentKinds": editor_choices.document_kinds(),
        "recipients": editor_choices.recipients(),
        "saveUrl": url_for("editor.save", number=version.number),
        "previewUrl": url_for("editor.preview"),
        "instructionsPreviewUrl": url_for("editor.instructions_preview", number=version.number),
        "formEditUrl": url_for("editor.form_edit", number=version.number, name="NAME"),
        "csrfToken": generate_csrf(),
    }


@bp.get("/process/edit")
@allow(*policy.VERSION_OWNERS)
def edit_active() -> tuple[str, int]:
    return _page(_base_version(None))


@bp.get("/process/versions/<int:number>/edit")
@allow(*policy.VERSION_OWNERS)
def edit(number: int) -> tuple[str, int]:
    return _page(_base_version(number))


def _page(version: version_pages.StoredVersion) -> tuple[str, int]:
    data = _editor_data(version)
    return render_template(
        "versions/edit.html",
        title=f"Edit the process (from version {version.number})",
        version=version.version,
        editor_json=json.dumps(data),
    ), 200


@bp.post("/process/versions/<int:number>/edit")
@allow(*policy.VERSION_OWNERS)
def save(number: int) -> tuple[Response, int]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict):
        return jsonify(
            {
                "problems": [
                    {
                        "file": "(version)",
                        "element_id": None,
                        "element_name": None,
                        "message": "the editor sent no files: reload the page and try again",
                    }
                ]
            }
        ), 400
    base = _base_version(number)
    try:
        version = process_editing.save_candidate(
            runtime(),
            base,
            body["files"],
            deployed_by=g.user.email,
            note=str(body.get("note", ""))[:500],
            lint=current_app.config.get("PROCESS_LINT", True),
        )
    except process_editing.EditError as exc:
        return jsonify(
            {
                "problems": [
                    {"file": "(version)", "element_id": None, "element_name": None, "message": str(exc)}
                ]
            }
        ), 400
    except versions.InvalidVersion as exc:
        return jsonify({"problems": [p.__dict__ for p in exc.problems]}), 422
    if version.active:
        message = f"These files are the same as the active version {version.number}: nothing new was stored."
    else:
        message = (
            f"Saved and checked: version {version.number} passes every check and is stored as a candidate."
        )
    return jsonify(
        {"number": version.number, "url": url_for("versions.show", number=version.number), "message": message}
    ), 200


@bp.get("/process/edit/preview")
@allow(*policy.VERSION_OWNERS)
def preview() -> Response:
    """What a due or timer expression gives on a sample case, for the editor's live preview."""
    return jsonify(
        {"text": process_editing.preview_date(runtime().calendar, request.args.get("expression", ""))}
    )


@bp.post("/process/versions/<int:number>/edit/instructions-preview")
@allow(*policy.VERSION_OWNERS)
def instructions_preview(number: int) -> Response:
    """A task's instructions as staff will read them, on the version's sample case, while the owner types:
    the task page's own renderer, so the preview cannot differ from the page."""
    version = _base_version(number)
    body = request.get_json(silent=True) or {}
    text = str(body.get("text", ""))[:MAX_INSTRUCTIONS]
    data = sample_instruction_data(version.files, runtime().calendar, version.process_id)
    return jsonify({"html": str(render_instructions(text, data))})


# ---- the form editor --------------------------------------------------------------------------------


def _form_texts(files: dict[str, bytes], name: str) -> tuple[str, str]:
    if name == "new":
        return json.dumps(form_editing.NEW_FORM, indent=2), ""
    schema = files.get(f"forms/{name}")
    if schema is None or not name.endswith(".schema.json"):
        abort(404)
    layout = files.get(f"forms/{form_editing.ui_name(name)}")
    return schema.decode("utf-8"), layout.decode("utf-8") if layout is not None else ""


def _form_page(
    version: version_pages.StoredVersion,
    name: str,
    new_name: str,
    schema_text: str,
    uischema_text: str,
    problems: list[str],
    status: int = 200,
) -> tuple[str, int]:
    files = version.files
    check = form_editing.check_form(files, new_name, schema_text, uischema_text)
    users = sorted(_tasks_using(files, name))
    return render_template(
        "versions/form_edit.html",
        title=f"Edit the form {new_name}" if name != "new" else "Create a form",
        version=version.version,
        name=name,
        new_name=new_name,
        schema_text=schema_text,
        uischema_text=uischema_text,
        problems=problems,
        preview=_preview_html(check),
        users=users,
        errors=bool(problems),
        preview_url=url_for("editor.form_preview", number=version.number),
    ), status


def _tasks_using(files: dict[str, bytes], name: str) -> set[str]:
    pattern = f'name="formJsonSchemaFilename" value="{name}"'
    found = set()
    for path, content in files.items():
        if path.startswith("bpmn/"):
            text = content.decode("utf-8")
            start = 0
            while (index := text.find(pattern, start)) != -1:
                task_start = text.rfind("<bpmn:userTask", 0, index)
                id_start = text.find('id="', task_start) + 4
                found.add(text[id_start : text.find('"', id_start)])
                start = index + 1
    return found


def _preview_html(check: form_editing.FormCheck) -> str:
    if check.schema is None:
        return ""
    fields = build_fields(check.schema, check.registry, check.uischema, None)
    return render_template(
        "versions/form_preview_fields.html", schema=check.schema, fields=fields, problems=check.problems
    )


@bp.get("/process/versions/<int:number>/forms/<name>/edit")
@allow(*policy.VERSION_OWNERS)
def form_edit(number: int, name: str) -> tuple[str, int]:
    version = _base_version(number)
    schema_text, uischema_text = _form_texts(version.files, name)
    new_name = request.args.get("as", "") if name == "new" else name
    return _form_page(version, name, new_name or "new_form.schema.json", schema_text, uischema_text, [])


@bp.post("/process/versions/<int:number>/forms/<name>/edit")
@allow(*policy.VERSION_OWNERS)
def form_save(number: int, name: str) -> tuple[str, int] | Response:
    version = _base_version(number)
    files = version.files
    _form_texts(files, name)  # 404 for a form the version does not have
    new_name = request.form.get("form_name", "").strip()
    schema_text = request.form.get("schema", "")
    uischema_text = request.form.get("uischema", "")
    note = request.form.get("note", "").strip()
    try:
        changed, renamed = form_editing.edited_files(
            files, None if name == "new" else name, new_name, schema_text, uischema_text
        )
        saved = versions.deploy_files(
            runtime(),
            changed,
            deployed_by=g.user.email,
            note=note or f"Form {new_name} edited in the browser from version {number}",
            activate=False,
            lint=current_app.config.get("PROCESS_LINT", True),
        )
    except form_editing.FormEditError as exc:
        return _form_page(version, name, new_name, schema_text, uischema_text, exc.problems, 400)
    except versions.InvalidVersion as exc:
        return _form_page(
            version, name, new_name, schema_text, uischema_text, [str(p) for p in exc.problems], 400
        )
    message = (
        f"Version {saved.number} has the form {new_name} and passes every check; it is stored as a candidate."
    )
    if renamed:
        message += f" {renamed} {'task uses' if renamed == 1 else 'tasks use'} the new name."
    flash(message, "success")
    return redirect(url_for("versions.show", number=saved.number))


@bp.post("/process/versions/<int:number>/forms/preview")
@allow(*policy.VERSION_OWNERS)
def form_preview(number: int) -> Response:
    """The form as people will see it and what is wrong with it, while the owner types."""
    version = _base_version(number)
    body = request.get_json(silent=True) or {}
    check = form_editing.check_form(
        version.files,
        str(body.get("name", "")),
        str(body.get("schema", "")),
        str(body.get("uischema", "")),
    )
    return jsonify({"html": _preview_html(check), "problems": check.problems})


# ---- comparing two versions --------------------------------------------------------------------------


@bp.get("/process/compare")
@allow(*policy.VERSION_READERS)
def compare() -> tuple[str, int]:
    """Any two versions side by side: the diagrams coloured by what was added, removed and changed, with
    the forms' differences listed."""
    chosen = version_pages.comparison(runtime(), request.args.get("old", type=int), request.args.get("new", type=int))
    old, new, numbers, old_files, new_files = chosen.old, chosen.new, chosen.numbers, chosen.old_files, chosen.new_files
    old_texts, new_texts = process_editing.process_texts(old_files), process_editing.process_texts(new_files)
    pairs = {
        name: {"old": old_texts.get(name), "new": new_texts.get(name)} for name in {*old_texts, *new_texts}
    }
    return render_template(
        "versions/compare.html",
        title=f"Compare versions {old} and {new}",
        old=old,
        new=new,
        numbers=numbers,
        diff=versions.diff_files(old_files, new_files),
        compare_json=json.dumps({"old": old, "new": new, "files": pairs}),
    ), 200
