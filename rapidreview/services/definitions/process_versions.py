"""Process versions: the BPMN, DMN, form and template files new cases run on. Running cases keep their own.

A version's files are stored whole, keyed ``bpmn/<name>``, ``forms/<name>`` and ``templates/<path>`` (the
e-mail and Word templates, see rapidreview.services.definitions.version_templates), with one SHA-256 over them all. Exactly one version is active; new cases start on it. A version deployed from the web starts
as a *candidate* (inactive) so its owner can try it on a scenario before activating it. Rolling back is
activating an earlier version.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from rapidreview import clock
from rapidreview.engine.process import PROCESS_SUFFIXES, ProcessBundle, ProcessDefinitionError
from rapidreview.errors import Invalid
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import version_templates
from rapidreview.services.definitions.validation import BPMN, Problem, validate_files, validate_with_warnings
from rapidreview.services.definitions.version_diff import ElementChange, VersionDiff, diff_files  # noqa: F401 - used by callers
from rapidreview.services.definitions.version_readiness import readiness
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import ProcessFile, ProcessVersion


class VersionError(Invalid):
    pass


class InvalidVersion(VersionError):
    """The files have problems; nothing was stored."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("the process has problems:\n" + "\n".join(f"  {p}" for p in problems))


def active_version(session: Session) -> ProcessVersion | None:
    return session.scalars(select(ProcessVersion).where(ProcessVersion.active.is_(True)).limit(1)).first()


def bundle_of(version: ProcessVersion) -> ProcessBundle:
    return ProcessBundle({f.path.split("/", 1)[1]: f.content for f in version.files if f.path.startswith("bpmn/")})


def version_files(version: ProcessVersion) -> dict[str, bytes]:
    return {f.path: f.content for f in version.files}


def digest_of(files: Mapping[str, bytes]) -> str:
    return hashlib.sha256(b"".join(k.encode() + hashlib.sha256(v).digest() for k, v in sorted(files.items()))).hexdigest()


def files_from_paths(paths: Sequence[Path], forms_dir: Path, templates_dir: Path | None = None) -> dict[str, bytes]:
    """The files of a version: the process files in ``paths`` (folders or files), the forms folder and,
    when given, the templates folder."""
    files: dict[str, bytes] = {}
    for path in paths:
        if path.is_dir():
            found = [p for p in sorted(path.iterdir()) if p.suffix in PROCESS_SUFFIXES]
        elif path.is_file():
            found = [path]
        else:
            raise VersionError(f"{path} does not exist")
        files.update({f"bpmn/{p.name}": p.read_bytes() for p in found})
    if not forms_dir.is_dir():
        raise VersionError(f"no forms folder at {forms_dir}")
    files.update({f"forms/{p.name}": p.read_bytes() for p in sorted(forms_dir.glob("*.json"))})
    if templates_dir is not None:
        if not templates_dir.is_dir():
            raise VersionError(f"no templates folder at {templates_dir}")
        files.update(version_templates.files_from_folder(templates_dir))
    return files


def _process_ids(content: bytes) -> list[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError:
        return []
    return [p.get("id") for p in root.iterfind(f"{{{BPMN}}}process") if p.get("id")]


def merge_uploads(carried: Mapping[str, bytes], uploaded: Mapping[str, bytes]) -> tuple[dict[str, bytes], list[str]]:
    """The version made of ``carried`` (the active version's files) with ``uploaded`` laid over them.

    A process file is recognised by the processes it holds, not by its name: a modeler saves
    ``diagram.bpmn`` and a browser downloads ``information_sharing (1).bpmn``, and either replaces the file
    that holds the same process. Returns the files and a sentence for each file placed under another name.
    """
    files = dict(carried)
    notes: list[str] = []
    holders = {pid: path for path, content in carried.items() if path.startswith("bpmn/") and path.endswith(".bpmn")
               for pid in _process_ids(content)}
    for path, content in uploaded.items():
        target = path
        if path.startswith("bpmn/") and path.endswith(".bpmn") and path not in carried:
            matches = {holders[pid] for pid in _process_ids(content) if pid in holders}
            if len(matches) == 1:
                target = matches.pop()
                notes.append(f"{path.split('/', 1)[1]} holds the process of {target.split('/', 1)[1]}, so it replaces "
                             f"that file")
        files[target] = content
    return files, notes


def validate(rt: Runtime, files: Mapping[str, bytes], *, lint: bool = True) -> list[Problem]:
    return validate_files(files, rt.calendar, process_id=rt.settings.main_process_id, lint=lint)


def wording_warnings(rt: Runtime, files: Mapping[str, bytes]) -> list[Problem]:
    """Deadlines written in words that disagree with the process's due dates and timers (not a reason to refuse)."""
    return validate_with_warnings(files, rt.calendar, process_id=rt.settings.main_process_id, lint=False)[1]


def deploy_files(rt: Runtime, files: Mapping[str, bytes], *, deployed_by: str, note: str = "",
                 activate: bool = True, lint: bool = True) -> ProcessVersion:
    """Validate, then store the files as the next version (active, or a candidate); refuse with the problems."""
    problems = validate(rt, files, lint=lint)
    if problems:
        raise InvalidVersion(problems)
    return store_version(rt, files, deployed_by=deployed_by, note=note, activate=activate)


def deploy_directory(rt: Runtime, bpmn_dir: Path, forms_dir: Path, *, deployed_by: str, note: str = "",
                     templates_dir: Path | None = None) -> ProcessVersion:
    """Parse, store and activate the files in ``bpmn_dir``, ``forms_dir`` and ``templates_dir`` (when given)
    without the full validation (the simulator and tests use it with small test processes); reuse an identical
    active version. Without ``templates_dir`` the version's cases use the deployment's templates folder."""
    bundle = ProcessBundle.from_directory(bpmn_dir)
    rt.compiled(bundle, rt.settings.main_process_id)  # refuse a version that does not parse
    return store_version(rt, files_from_paths([bpmn_dir], forms_dir, templates_dir), deployed_by=deployed_by,
                         note=note)


def store_version(rt: Runtime, files: Mapping[str, bytes], *, deployed_by: str, note: str = "",
                  activate: bool = True) -> ProcessVersion:
    digest = digest_of(files)
    with transaction(rt.sessions) as session:
        current = active_version(session)
        if current is not None and current.sha256 == digest:
            return current
        number = (session.scalar(select(func.max(ProcessVersion.number))) or 0) + 1
        if current is not None and activate:
            current.active = False
        version = ProcessVersion(number=number, process_id=rt.settings.main_process_id, sha256=digest,
                                 deployed_by=deployed_by, deployed_at=clock.now(), note=note, active=activate,
                                 activated_at=clock.now() if activate else None)
        version.files = [ProcessFile(path=path, sha256=hashlib.sha256(content).hexdigest(), content=content)
                         for path, content in sorted(files.items())]
        session.add(version)
        session.flush()
        audit.record(session, None, "process_deployed", actor=deployed_by, version=number, sha256=digest, note=note,
                     active=activate)
        return version


def list_versions(session: Session) -> list[ProcessVersion]:
    return list(session.scalars(select(ProcessVersion).order_by(ProcessVersion.number.desc())))


def get_version(session: Session, number: int) -> ProcessVersion:
    version = session.scalars(select(ProcessVersion).options(selectinload(ProcessVersion.files))
                              .where(ProcessVersion.number == number)).first()
    if version is None:
        raise VersionError(f"there is no process version {number}")
    return version


class NotReady(VersionError):
    """A candidate whose bundled scenarios have not all passed their last try."""

    status = 409

    def __init__(self, number: int, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(f"version {number} cannot be made active yet: " + "; ".join(reasons)
                         + ". Try it on every scenario and correct what fails (an administrator may override this, "
                           "giving a reason)")


class ReasonNeeded(VersionError):
    """Going back to an earlier version, or overriding the scenarios, needs a reason for the audit trail."""


def activate_version(rt: Runtime, number: int, *, actor: str, note: str = "", override: str = "",
                     may_override: bool = False, scenarios: Sequence[str] | None = None) -> ProcessVersion:
    """Make ``number`` the version new cases start on: a candidate goes live, or an earlier one comes back
    (a rollback). Running cases are not touched.

    A candidate that has never been live must have passed its last try of every bundled scenario
    (``scenarios``: their names; default every file in scenarios/), unless someone allowed to
    (``may_override``: an administrator, or the command line on the server) gives ``override``, a reason.
    Going back to a version that was live before needs ``note``, saying why.
    """
    note, override = note.strip(), override.strip()
    with transaction(rt.sessions) as session:
        version = get_version(session, number)
        current = active_version(session)
        if current is not None and current.id == version.id:
            raise VersionError(f"version {number} is already the active version")
        been_live = version.activated_at is not None
        if been_live and not note:
            raise ReasonNeeded(f"say why you are going back to version {number}: the reason is kept in the audit trail")
        if not been_live:
            ready = readiness(session, version, scenarios)
            if not ready.ready and not override:
                raise NotReady(number, ready.reasons())
            if not ready.ready and not may_override:
                raise VersionError("only an administrator may make a version active when its scenarios have not all "
                                   "passed")
        # Parse before switching: a stored version that no longer parses must not become live.
        try:
            rt.compiled(bundle_of(version), version.process_id)
        except ProcessDefinitionError as exc:
            raise VersionError(f"version {number} cannot be made active: {exc}") from exc
        if current is not None:
            current.active = False
            session.flush()
        version.active = True
        if version.activated_at is None:
            version.activated_at = clock.now()
        kind = "process_rolled_back" if current is not None and been_live and number < current.number \
            else "process_activated"
        audit.record(session, None, kind, actor=actor, version=number, previous=current.number if current else None,
                     note=note or None, override=override or None)
        return version


def discard_version(rt: Runtime, number: int, *, actor: str, note: str = "") -> None:
    """Delete a candidate that was never live (no case ever ran on it); the audit trail keeps that it existed."""
    from rapidreview.store.models import Case

    with transaction(rt.sessions) as session:
        version = get_version(session, number)
        if version.active or version.activated_at is not None:
            raise VersionError(f"version {number} has been active, so it stays in the history: only a candidate that "
                               "was never active can be discarded")
        if session.scalar(select(func.count()).select_from(Case).where(Case.process_version_id == version.id)):
            raise VersionError(f"cases run on version {number}, so it cannot be discarded")
        audit.record(session, None, "process_discarded", actor=actor, version=number, sha256=version.sha256,
                     note=note.strip() or None)
        session.delete(version)


# ---- what changed (rapidreview.services.definitions.version_diff) ------------------------------------------------

def files_of(session: Session, number: int | None) -> tuple[int | None, dict[str, bytes]]:
    """The number and files of version ``number`` (none when there is no such version)."""
    if number is None:
        return None, {}
    try:
        version = get_version(session, number)
    except VersionError:
        return None, {}
    return version.number, version_files(version)


def previous_files(session: Session, version: ProcessVersion) -> tuple[int | None, dict[str, bytes]]:
    """The files of the version numbered just before this one (none for the first)."""
    earlier = session.scalars(select(ProcessVersion).options(selectinload(ProcessVersion.files))
                              .where(ProcessVersion.number < version.number)
                              .order_by(ProcessVersion.number.desc()).limit(1)).first()
    return (earlier.number, version_files(earlier)) if earlier is not None else (None, {})


# ---- trying a version ---------------------------------------------------------------------------------


def materialise(files: Mapping[str, bytes], folder: Path) -> tuple[Path, Path]:
    """Write a version's files to ``folder/bpmn`` and ``folder/forms`` (what the simulator reads); its
    templates, if it has any, to ``folder/templates`` (see :func:`try_scenario`)."""
    bpmn, forms = folder / "bpmn", folder / "forms"
    bpmn.mkdir(parents=True)
    forms.mkdir(parents=True)
    for path, content in files.items():
        kind, name = path.split("/", 1)
        target = {"bpmn": bpmn, "forms": forms}.get(kind)
        if target is not None and "/" not in name and name not in ("", ".", ".."):
            (target / name).write_bytes(content)
    if any(version_templates.is_template_path(p) for p in files):
        version_templates.extract(folder / "templates", files).rename(folder / "templates" / "version")
    return bpmn, forms


def try_scenario(files: Mapping[str, bytes], scenario: Path, *, timeout: float = 300) -> dict[str, Any]:
    """Run one scenario against a version's files and return its JSON timeline (see docs/simulator.md).

    It runs in a child process: the simulator moves the process-wide clock, which the web app's
    in-process scheduler and every other request read.
    """
    with tempfile.TemporaryDirectory(prefix="rapidreview-try-") as scratch:
        bpmn, forms = materialise(files, Path(scratch))
        command = [sys.executable, "-m", "rapidreview.cli", "simulate", str(scenario), "--json", "--bpmn", str(bpmn),
                   "--forms", str(forms), "--out", str(Path(scratch) / "out")]
        templates = Path(scratch) / "templates" / "version"
        # The simulator's cases run on a version without templates, so they use the folder the settings name.
        env = {**os.environ, "RAPIDREVIEW_TEMPLATES_DIR": str(templates)} if templates.is_dir() else None
        try:
            done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, timeout=timeout, check=False,
                                  env=env)
        except subprocess.TimeoutExpired:
            raise VersionError(f"the scenario did not finish within {timeout:.0f} seconds") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise VersionError((lines[-1] if lines else f"the simulator stopped ({done.returncode})")
                           .removeprefix("rapidreview: error: "))
    result: dict[str, Any] = json.loads(done.stdout)
    return result
