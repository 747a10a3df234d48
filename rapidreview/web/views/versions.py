"""Process versions for process owners: deploy a candidate, look at it, try it on a scenario, activate
it, roll back."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from rapidreview import resources
from rapidreview.engine.process import PROCESS_SUFFIXES, ProcessDefinitionError
from rapidreview.services import case_migration, policy
from rapidreview.services import process_versions as versions
from rapidreview.services.forms import form_schema, form_uischema
from rapidreview.services.validation import Problem
from rapidreview.simulator.timeline import LABELS, describe_event
from rapidreview.store.db import transaction
from rapidreview.web import runtime
from rapidreview.web.access import allow
from rapidreview.web.schema_forms import build_fields

bp = Blueprint("versions", __name__)
READERS = policy.VERSION_READERS
SCENARIOS = resources.path("scenarios")
MAX_UPLOAD = 5 * 1024 * 1024
# Checking a case restores its workflow: a page checks this many; the command line has no limit.
MOVE_PAGE_LIMIT = 200


def _scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIOS.glob("*.json"))


@bp.get("/process")
@allow(*READERS)
def index() -> str:
    with transaction(runtime().sessions) as session:
        rows = versions.list_versions(session)
    return render_template("versions/list.html", title="Process versions", rows=rows, can_change=policy.may_change_versions(g.user))


def _deploy_form(note: str, problems: list[Problem], status: int = 200) -> tuple[str, int]:
    return render_template("versions/deploy.html", title="Deploy a process version", note=note, problems=problems,
                           summary=[{"text": str(p), "href": "#files"} for p in problems],
                           errors=bool(problems)), status


@bp.get("/process/deploy")
@allow(*policy.VERSION_OWNERS)
def deploy_form() -> tuple[str, int]:
    return _deploy_form("", [])


@bp.post("/process/deploy")
@allow(*policy.VERSION_OWNERS)
def deploy() -> tuple[str, int] | Response:
    note = request.form.get("note", "").strip()
    uploaded: dict[str, bytes] = {}
    for upload in request.files.getlist("files"):
        name = Path(upload.filename or "").name
        if not name:
            continue
        content = upload.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            return _deploy_form(note, [Problem(name, None, None, "the file is larger than 5 MB")], 400)
        if Path(name).suffix in PROCESS_SUFFIXES:
            uploaded[f"bpmn/{name}"] = content
        elif name.endswith(".json"):
            uploaded[f"forms/{name}"] = content
        else:
            return _deploy_form(note, [Problem(name, None, None, "upload .bpmn, .dmn and .json files only")], 400)
    if not uploaded:
        return _deploy_form(note, [Problem("files", None, None, "Choose the files to deploy")], 400)
    files = dict(uploaded)
    if request.form.get("replace_all") != "yes":
        # Files not uploaded are carried over from the active version, so an owner can send one changed file.
        with transaction(runtime().sessions) as session:
            active = versions.active_version(session)
            carried = versions.version_files(active) if active is not None else {}
        files = {**carried, **uploaded}
    try:
        version = versions.deploy_files(runtime(), files, deployed_by=g.user.email, note=note, activate=False,
                                        lint=current_app.config.get("PROCESS_LINT", True))
    except versions.InvalidVersion as exc:
        return _deploy_form(note, exc.problems, 400)
    if version.active:
        flash(f"These files are the same as the active version {version.number}: nothing was deployed.")
    else:
        flash(f"Version {version.number} is valid and stored as a candidate. Try it on a scenario, then activate it.",
              "success")
    return redirect(url_for("versions.show", number=version.number))


def _page(number: int, trial: dict[str, Any] | None = None, trial_error: str | None = None,
          status: int = 200) -> tuple[str, int]:
    with transaction(runtime().sessions) as session:
        try:
            version = versions.get_version(session, number)
        except versions.VersionError:
            abort(404)
        files = versions.version_files(version)
        previous, previous_files = versions.previous_files(session, version)
        active = versions.active_version(session)
    diff = versions.diff_files(previous_files, files) if previous is not None else None
    diagram = {"files": {p.split("/", 1)[1]: c.decode("utf-8", "replace") for p, c in files.items()
                         if p.startswith("bpmn/") and p.endswith(".bpmn")}, "states": {}}
    forms = sorted(p.split("/", 1)[1] for p in files if p.startswith("forms/") and p.endswith(".schema.json"))
    return render_template("versions/show.html", title=f"Process version {number}", version=version, diff=diff,
                           previous=previous, forms=forms, diagram_json=json.dumps(diagram), active=active,
                           scenarios=_scenarios(), trial=trial, trial_error=trial_error,
                           can_change=policy.may_change_versions(g.user), errors=bool(trial_error)), status


@bp.get("/process/versions/<int:number>")
@allow(*READERS)
def show(number: int) -> tuple[str, int]:
    return _page(number)


def _timeline(result: dict[str, Any]) -> dict[str, Any]:
    rows = [{"at": e["at"], "day": e["day"], "what": LABELS.get(e["type"], e["type"].replace("_", " ")),
             "details": describe_event(e, names=True)}
            for e in result["events"] if e["type"] not in ("task_ready",)]
    return {"case": result["case"], "rows": rows}


@bp.post("/process/versions/<int:number>/try")
@allow(*policy.VERSION_OWNERS)
def try_scenario(number: int) -> tuple[str, int]:
    name = request.form.get("scenario", "")
    if name not in _scenarios():
        return _page(number, trial_error="Choose a scenario", status=400)
    with transaction(runtime().sessions) as session:
        try:
            candidate = versions.version_files(versions.get_version(session, number))
        except versions.VersionError:
            abort(404)
        active = versions.active_version(session)
        active_files = versions.version_files(active) if active is not None and active.number != number else None
    scenario = SCENARIOS / f"{name}.json"
    # The two runs are separate processes: run them side by side to keep the request short.
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(versions.try_scenario, candidate, scenario)]
        if active_files is not None:
            runs.append(pool.submit(versions.try_scenario, active_files, scenario))
        try:
            results = [run.result() for run in runs]
        except versions.VersionError as exc:
            return _page(number, trial_error=f"The scenario could not run: {exc}", status=400)
    trial = {"scenario": name, "candidate": _timeline(results[0]),
             "active": _timeline(results[1]) if len(results) > 1 else None,
             "active_number": active.number if active is not None else None}
    return _page(number, trial=trial)


@bp.post("/process/versions/<int:number>/activate")
@allow(*policy.VERSION_OWNERS)
def activate(number: int) -> Response:
    try:
        version = versions.activate_version(runtime(), number, actor=g.user.email,
                                            note=request.form.get("note", "").strip())
    except versions.VersionError as exc:
        flash(str(exc)[0].upper() + str(exc)[1:] + ".", "error")
        return redirect(url_for("versions.show", number=number))
    except ProcessDefinitionError as exc:
        flash(f"Version {number} cannot be activated: {exc}", "error")
        return redirect(url_for("versions.show", number=number))
    flash(f"Version {version.number} is now active. New cases start on it; running cases keep their version.", "success")
    return redirect(url_for("versions.index"))


@bp.get("/process/versions/<int:number>/forms/<name>")
@allow(*READERS)
def form_preview(number: int, name: str) -> tuple[str, int]:
    """A form of this version as people will see it, filled with the schema's defaults; it submits nowhere."""
    with transaction(runtime().sessions) as session:
        try:
            version = versions.get_version(session, number)
        except versions.VersionError:
            abort(404)
        if f"forms/{name}" not in versions.version_files(version) or not name.endswith(".schema.json"):
            abort(404)
        schema, registry = form_schema(session, version.id, name)
        uischema = form_uischema(session, version.id, name)
    fields = build_fields(schema, registry, uischema, None)
    title = schema.get("title") or name.removesuffix(".schema.json").replace("_", " ").capitalize()
    return render_template("versions/form.html", title=f"{title} (version {number})", form_title=title,
                           description=schema.get("description"), name=name, number=number, fields=fields), 200


@bp.get("/process/versions/<int:number>/moves")
@allow(*READERS)
def moves(number: int) -> tuple[str, int] | Response:
    """Open cases on other versions, and whether each can move to this (the active) version."""
    with transaction(runtime().sessions) as session:
        try:
            version = versions.get_version(session, number)
        except versions.VersionError:
            abort(404)
        is_active = version.active
    if not is_active:
        flash(f"Only the active version takes open cases. Make version {number} active first.", "error")
        return redirect(url_for("versions.show", number=number))
    try:
        _, checks = case_migration.check_cases(runtime(), limit=MOVE_PAGE_LIMIT + 1,
                                               partnership_id=g.user.partnership_id)
    except (case_migration.MoveError, ProcessDefinitionError) as exc:
        flash(f"The open cases cannot be checked: {exc}", "error")
        return redirect(url_for("versions.show", number=number))
    more = len(checks) > MOVE_PAGE_LIMIT
    checks = checks[:MOVE_PAGE_LIMIT]
    return render_template("versions/moves.html", title=f"Move open cases to version {number}", number=number,
                           checks=checks, movable=[c for c in checks if c.can_move], more=more,
                           limit=MOVE_PAGE_LIMIT, can_change=policy.may_change_versions(g.user)), 200


@bp.post("/process/versions/<int:number>/moves")
@allow(*policy.VERSION_OWNERS)
def move(number: int) -> Response:
    references = [r for r in request.form.getlist("reference") if r]
    if not references:
        flash("Choose the cases to move.", "error")
        return redirect(url_for("versions.moves", number=number))
    try:
        report = case_migration.move_cases(runtime(), actor=g.user.email, references=references,
                                           note=request.form.get("note", "").strip(), expected_version=number,
                                           partnership_id=g.user.partnership_id)
    except (case_migration.MoveError, ProcessDefinitionError) as exc:
        flash(str(exc)[0].upper() + str(exc)[1:] + ".", "error")
        return redirect(url_for("versions.moves", number=number))
    parts = [f"{len(report.moved)} {'case' if len(report.moved) == 1 else 'cases'} moved to version {number}"]
    if report.moved:
        parts[0] += f" ({', '.join(c.reference for c in report.moved)})"
    if report.refused:
        parts.append(f"{len(report.refused)} could not move and kept their version "
                     f"({', '.join(c.reference for c in report.refused)})")
    if report.failed:
        parts.append("; ".join(f"{ref} could not take a step on the new version: {why}" for ref, why in report.failed))
    flash(". ".join(parts) + ".", "success" if report.moved and not report.refused and not report.failed else "info")
    return redirect(url_for("versions.moves", number=number))
