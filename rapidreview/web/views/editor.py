"""The process editor: process owners change the BPMN in the browser (bpmn-js with this project's
properties), and saving stores a checked candidate version or shows the problems on the elements."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from rapidreview.services import policy, process_editing
from rapidreview.services import process_versions as versions
from rapidreview.services.operators import OPERATORS
from rapidreview.services.roles import LANE_ROLES
from rapidreview.store.db import transaction
from rapidreview.web import runtime
from rapidreview.web.access import allow

bp = Blueprint("editor", __name__)

# What each operator does, in the words the editor's list shows.
OPERATOR_LABELS = {
    "send_email": "Send an e-mail (send_email)",
    "invite_to_meeting": "Invite to the meeting (invite_to_meeting)",
    "create_document": "Create a document (create_document)",
}


def _base_version(number: int | None) -> Any:
    with transaction(runtime().sessions) as session:
        if number is None:
            version = versions.active_version(session)
            if version is None:
                abort(404)
            number = version.number
        try:
            version = versions.get_version(session, number)
        except versions.VersionError:
            abort(404)
        session.expunge(version)
        return version


def _editor_data(version: Any) -> dict[str, Any]:
    files = versions.version_files(version)
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
                "required": list(spec["required"]),
                "optional": list(spec["optional"]),
                "label": OPERATOR_LABELS.get(name, name),
            }
            for name, spec in OPERATORS.items()
        },
        "lanes": [{"name": name, "role": role} for name, role in LANE_ROLES.items()],
        "saveUrl": url_for("editor.save", number=version.number),
        "previewUrl": url_for("editor.preview"),
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


def _page(version: Any) -> tuple[str, int]:
    data = _editor_data(version)
    return render_template(
        "versions/edit.html",
        title=f"Edit the process (from version {version.number})",
        version=version,
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
