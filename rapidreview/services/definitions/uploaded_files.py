"""Deploying the files a process owner uploads: each recognised by its name, checked, laid over the active
version's files, and stored as a checked candidate.

Files not uploaded are carried over from the active version, so an owner can send one changed file. With
"these are all the files" (``replace_all``) the process and forms are the upload's alone; the templates are
still carried unless some were uploaded, as few owners would think to upload every e-mail with the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidreview.documents.docx_check import UploadRejected, check_docx
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions import version_pages
from rapidreview.services.definitions.validation import Problem
from rapidreview.services.reading.snapshots import snapshot
from rapidreview.store.models import ProcessVersion

MAX_FILE = 5 * 1024 * 1024  # any one file of a version, however it arrives (upload, editor, template page)
KINDS = ".bpmn, .dmn, .json, .docx and e-mail (.txt, .html)"


@dataclass(frozen=True)
class Deployed:
    version: ProcessVersion  # a snapshot; ``active`` when the files were those of the active version already
    placed: list[str]  # sentences: an upload that replaced a file of another name
    wording: list[str]  # deadlines in words that disagree with the process (not a reason to refuse)


def _refused(name: str, message: str) -> versions.InvalidVersion:
    return versions.InvalidVersion([Problem(name, None, None, message)])


def stored_path(name: str, content: bytes) -> str:
    """Where an uploaded file belongs in a version (``bpmn/``, ``forms/``, ``templates/``); refused otherwise."""
    if len(content) > MAX_FILE:
        raise _refused(name, f"the file is larger than {MAX_FILE // (1024 * 1024)} MB")
    if Path(name).suffix in versions.PROCESS_SUFFIXES:
        return f"bpmn/{name}"
    if name.endswith(".json"):
        return f"forms/{name}"
    if name.endswith(".docx"):
        try:
            check_docx(name, content, limit=MAX_FILE)  # a safe .docx before its tags are read
        except UploadRejected as exc:
            raise _refused(name, str(exc)) from None
        return f"templates/{name}"
    if name.endswith((".txt", ".html")):
        return f"templates/email/{name}"
    raise _refused(name, f"upload {KINDS} files only")


def deploy_uploads(rt: Runtime, uploads: Sequence[tuple[str, bytes]], *, replace_all: bool, deployed_by: str,
                   note: str, lint: bool = True) -> Deployed:
    """Check and store ``uploads`` (name, content) as a candidate; ``InvalidVersion`` names every problem and
    nothing is stored."""
    uploaded = {stored_path(name, content): content for name, content in uploads if name}
    if not uploaded:
        raise _refused("files", "Choose the files to deploy")
    active = version_pages.active(rt)
    carried = active.files if active is not None else {}
    if replace_all:
        carried = {} if any(p.startswith("templates/") for p in uploaded) else \
            {p: c for p, c in carried.items() if p.startswith("templates/")}
    files, placed = versions.merge_uploads(carried, uploaded)
    version = versions.deploy_files(rt, files, deployed_by=deployed_by, note=note, activate=False, lint=lint)
    wording = [] if version.active else [str(w) for w in versions.wording_warnings(rt, files)]
    return Deployed(snapshot(version), placed, wording)
