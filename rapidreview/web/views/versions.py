"""Process versions for process owners: deploy a candidate, look at it, try it on a scenario, activate
it, roll back."""

from __future__ import annotations

import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from werkzeug.wrappers import Response

from rapidreview import resources
from rapidreview.calendar import to_london
from rapidreview.services.casework import case_migration
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions import uploaded_files, uploaded_scenario, version_pages, version_trials
from rapidreview.services.definitions.form_preview import instructions_for_form
from rapidreview.services.definitions.validation import Problem
from rapidreview.services.people import policy
from rapidreview.services.reading.timeline import LABELS, describe_event
from rapidreview.web import runtime
from rapidreview.web.access import allow
from rapidreview.web.schema_forms import build_fields

bp = Blueprint("versions", __name__)
SCENARIOS = resources.path("scenarios")
# Checking a case restores its workflow: a page checks this many; the command line has no limit.
MOVE_PAGE_LIMIT = 200


def _scenario_paths() -> list[Path]:
    """The bundled scenarios every candidate is tried on (a test may give a smaller folder)."""
    folder = Path(current_app.config.get("PROCESS_SCENARIOS") or SCENARIOS)
    return sorted(folder.glob("*.json"))


def _scenarios() -> list[str]:
    return [p.stem for p in _scenario_paths()]


@bp.get("/process")
@allow(*policy.VERSION_READERS)
def index() -> str:
    rows = version_pages.all_versions(runtime())
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
    uploads = [(Path(u.filename or "").name, u.read(uploaded_files.MAX_FILE + 1)) for u in request.files.getlist("files")]
    try:
        deployed = uploaded_files.deploy_uploads(runtime(), uploads, replace_all=request.form.get("replace_all") == "yes",
                                                 deployed_by=g.user.email, note=note,
                                                 lint=current_app.config.get("PROCESS_LINT", True))
    except versions.InvalidVersion as exc:
        return _deploy_form(note, exc.problems, 400)
    version, placed = deployed.version, deployed.placed
    for sentence in placed:
        flash(f"The file {sentence}.")
    for warning in deployed.wording:
        flash(f"Check the wording: {warning}.")
    if version.active:
        flash(f"These files are the same as the active version {version.number}: nothing was deployed.")
    else:
        flash(f"Version {version.number} is valid and stored as a candidate. Try it on a scenario, then activate it.",
              "success")
    return redirect(url_for("versions.show", number=version.number))


def _page(number: int, trial: dict[str, Any] | None = None, trial_error: str | None = None,
          status: int = 200, trial_error_field: str = "scenario") -> tuple[str, int]:
    page = version_pages.version_page(runtime(), number, request.args.get("with", type=int), _scenarios())
    files, diff = page.files, page.diff
    diagram: dict[str, Any] = {"files": {p.split("/", 1)[1]: c.decode("utf-8", "replace") for p, c in files.items()
                                         if p.startswith("bpmn/") and p.endswith(".bpmn")}, "states": {}}
    forms = sorted(p.split("/", 1)[1] for p in files if p.startswith("forms/") and p.endswith(".schema.json"))
    if diff is not None:  # the changed elements are marked on the diagram
        diagram["states"] = diff.diagram_states()
    return render_template("versions/show.html", title=f"Process version {number}", version=page.version, diff=diff,
                           previous=page.compared_with if diff is not None else None, forms=forms,
                           diagram_json=json.dumps(diagram), active=page.active,
                           ready=page.ready, never_live=page.version.activated_at is None, files=sorted(files),
                           compare_choices=page.others,
                           scenarios=_scenarios(), trial=trial, trial_error=trial_error,
                           trial_error_field=trial_error_field,
                           max_scenario_kb=uploaded_scenario.MAX_SCENARIO_BYTES // 1024,
                           can_change=policy.may_change_versions(g.user), errors=bool(trial_error)), status


@bp.get("/process/versions/<int:number>")
@allow(*policy.VERSION_READERS)
def show(number: int) -> tuple[str, int]:
    return _page(number)


def _timeline(result: dict[str, Any]) -> dict[str, Any]:
    """The run as rows: what happened each day, with each task's due date beside the timers."""
    day_one = date.fromisoformat(result["case"]["day_one"])
    rows = []
    for e in result["events"]:
        details = describe_event(e, names=True)
        if e["type"] == "task_ready" and e.get("due"):
            due = datetime.fromisoformat(e["due"])
            day = runtime().calendar.case_day(day_one, due)
            details += f", due by {to_london(due).strftime('%H:%M on %A %-d %B')} (Day {day})"
        rows.append({"at": e["at"], "day": e["day"], "what": LABELS.get(e["type"], e["type"].replace("_", " ")),
                     "details": details})
    return {"case": result["case"], "rows": rows}


@bp.post("/process/versions/<int:number>/try")
@allow(*policy.VERSION_OWNERS)
def try_scenario(number: int) -> tuple[str, int]:
    """A bundled scenario, or the scenario file uploaded instead, on this version and on the active one."""
    upload = request.files.get("scenario_file")
    uploaded = None
    if upload is not None and upload.filename:
        try:
            uploaded = uploaded_scenario.read_uploaded_scenario(upload.filename, upload.read())
        except uploaded_scenario.UploadedScenarioError as exc:
            return _page(number, trial_error=str(exc), status=400, trial_error_field="scenario_file")
    name = request.form.get("scenario", "")
    if uploaded is None and name not in _scenarios():
        return _page(number, trial_error="Choose a scenario", status=400)
    inputs = version_pages.trial_inputs(runtime(), number)
    candidate, active, active_files = inputs.candidate, inputs.active, inputs.active_files
    if uploaded is not None:
        # Shown, never recorded: only the bundled scenarios' tries count towards activation.
        results = uploaded_scenario.run_uploaded_scenario(uploaded, candidate, active_files)
        name, field = f"{uploaded.file_name} (uploaded)", "scenario_file"
    else:
        scenario = next(p for p in _scenario_paths() if p.stem == name)
        # The two runs are separate processes: run them side by side to keep the request short.
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = [pool.submit(version_trials.run_scenario, candidate, scenario)]
            if active_files is not None:
                runs.append(pool.submit(version_trials.run_scenario, active_files, scenario))
            results = [run.result() for run in runs]
        version_trials.record(runtime(), number, results[:1], actor=g.user.email)
        field = "scenario"
    failed = next((r for r in results if not r.passed), None)
    if failed is not None or results[0].timeline is None:
        which = "this version" if failed is results[0] else "the active version"
        return _page(number, trial_error=f"The scenario failed on {which}: {failed.summary if failed else ''}",
                     status=400, trial_error_field=field)
    trial = {"scenario": name, "candidate": _timeline(results[0].timeline),
             "active": _timeline(results[1].timeline) if len(results) > 1 and results[1].timeline else None,
             "active_number": active.number if active is not None else None, "uploaded": uploaded is not None}
    return _page(number, trial=trial)


@bp.post("/process/versions/<int:number>/try-all")
@allow(*policy.VERSION_OWNERS)
def try_all(number: int) -> Response:
    """Every bundled scenario on this version; each one's result is kept for the activation check."""
    try:
        results = version_trials.try_version(runtime(), number, actor=g.user.email, scenarios=_scenario_paths())
    except versions.VersionError:
        abort(404)
    failed = [r.scenario for r in results if not r.passed]
    if failed:
        flash(f"{len(failed)} of {len(results)} scenarios failed on version {number}: {', '.join(failed)}. "
              "See why below, correct the process and deploy it again.", "error")
    else:
        flash(f"All {len(results)} scenarios ran to their end on version {number}.", "success")
    return redirect(url_for("versions.show", number=number) + "#tries")


def _activation_page(number: int, errors: list[dict[str, str]] | None = None, note: str = "", override: str = "",
                     status: int = 200) -> tuple[str, int] | Response:
    page = version_pages.activation_page(runtime(), number, _scenarios())
    if page.version.active:
        flash(f"Version {number} is already the active version.")
        return redirect(url_for("versions.show", number=number))
    return render_template("versions/activate.html", title=f"Make version {number} active", version=page.version,
                           active=page.active, ready=page.ready, rollback=page.rollback, errors=errors or [], note=note,
                           override=override, may_override=policy.may_override_trials(g.user)), status


@bp.get("/process/versions/<int:number>/activate")
@allow(*policy.ACTIVATORS)
def activate_form(number: int) -> tuple[str, int] | Response:
    """Confirm before a version goes live: the last try of every scenario, and the reason asked for."""
    return _activation_page(number)


@bp.post("/process/versions/<int:number>/activate")
@allow(*policy.ACTIVATORS)
def activate(number: int) -> tuple[str, int] | Response:
    note, override = request.form.get("note", "").strip(), request.form.get("override", "").strip()
    is_admin = policy.may_override_trials(g.user)
    try:
        version = versions.activate_version(runtime(), number, actor=g.user.email, note=note,
                                            override=override if is_admin else "", may_override=is_admin,
                                            scenarios=_scenarios())
    except versions.ReasonNeeded as exc:
        return _activation_page(number, [{"text": _sentence(str(exc)), "href": "#note"}], note, override, 400)
    except versions.NotReady as exc:
        text = (f"Version {number} cannot be made active until every scenario has passed"
                + ("; give a reason to override this" if is_admin else ""))
        errors = [{"text": text, "href": "#override" if is_admin else "#tries"}]
        errors += [{"text": _sentence(r), "href": "#tries"} for r in exc.reasons]
        return _activation_page(number, errors, note, override, 400)
    except versions.VersionError as exc:
        return _activation_page(number, [{"text": _sentence(str(exc)), "href": "#note"}], note, override, 400)
    flash(f"Version {version.number} is now active. New cases start on it; running cases keep their version.", "success")
    return redirect(url_for("versions.index"))


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


@bp.post("/process/versions/<int:number>/discard")
@allow(*policy.VERSION_OWNERS)
def discard(number: int) -> Response:
    try:
        versions.discard_version(runtime(), number, actor=g.user.email, note=request.form.get("note", ""))
    except versions.VersionError as exc:
        flash(_sentence(str(exc)))
        return redirect(url_for("versions.show", number=number))
    flash(f"Version {number} is discarded. The audit trail keeps that it existed.", "success")
    return redirect(url_for("versions.index"))


def _files(number: int) -> dict[str, bytes]:
    return version_pages.stored(runtime(), number).files


@bp.get("/process/versions/<int:number>/download")
@allow(*policy.VERSION_READERS)
def download(number: int) -> Response:
    """The whole version (BPMN, forms and any templates it carries) as one .zip, laid out as in a checkout."""
    files = _files(number)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            archive.writestr(path, content)
    return send_file(io.BytesIO(buffer.getvalue()), mimetype="application/zip", as_attachment=True,
                     download_name=f"process-version-{number}.zip")


@bp.get("/process/versions/<int:number>/files/<name>")
@allow(*policy.VERSION_READERS)
def download_file(number: int, name: str) -> Response:
    """One file of the version, by its name (rapid_review.bpmn, record_criteria_view.schema.json)."""
    files = _files(number)
    found = [content for path, content in files.items() if path.rsplit("/", 1)[-1] == name]
    if len(found) != 1:
        abort(404)
    kinds = {".bpmn": "application/xml", ".dmn": "application/xml", ".json": "application/json",
             ".txt": "text/plain", ".html": "text/plain",
             ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
    mimetype = kinds.get(Path(name).suffix, "application/octet-stream")
    return send_file(io.BytesIO(found[0]), mimetype=mimetype, as_attachment=True, download_name=name)


@bp.get("/process/versions/<int:number>/forms/<name>")
@allow(*policy.VERSION_READERS)
def form_preview(number: int, name: str) -> tuple[str, int]:
    """A form of this version as people will see it, filled with the schema's defaults; it submits nowhere."""
    form = version_pages.form_of_version(runtime(), number, name)
    schema = form.schema
    fields = build_fields(schema, form.registry, form.uischema, None)
    tasks = instructions_for_form(form.files, name, runtime().calendar, form.process_id)
    title = schema.get("title") or name.removesuffix(".schema.json").replace("_", " ").capitalize()
    return render_template("versions/form.html", title=f"{title} (version {number})", form_title=title,
                           description=schema.get("description"), name=name, number=number, fields=fields,
                           tasks=tasks), 200


@bp.get("/process/versions/<int:number>/moves")
@allow(*policy.VERSION_READERS)
def moves(number: int) -> tuple[str, int] | Response:
    """Open cases on other versions, and whether each can move to this (the active) version."""
    is_active = version_pages.stored(runtime(), number).version.active
    if not is_active:
        flash(f"Only the active version takes open cases. Make version {number} active first.", "error")
        return redirect(url_for("versions.show", number=number))
    try:
        _, checks = case_migration.check_cases(runtime(), limit=MOVE_PAGE_LIMIT + 1,
                                               partnership_id=g.user.partnership_id)
    except case_migration.MoveError as exc:
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
    if not request.form.get("note", "").strip():
        flash("Say why you are moving these cases: the reason is kept in each case's audit trail.")
        return redirect(url_for("versions.moves", number=number))
    try:
        report = case_migration.move_cases(runtime(), actor=g.user.email, references=references,
                                           note=request.form.get("note", "").strip(), expected_version=number,
                                           partnership_id=g.user.partnership_id)
    except case_migration.MoveError as exc:
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
