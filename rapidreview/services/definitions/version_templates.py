"""The e-mail and Word templates of a process version, as a folder the renderers read.

A version's templates are stored with its other files, keyed ``templates/<relative path>``
(``templates/email/<name>.txt`` and ``.html``, ``templates/<name>.docx``). Rendering needs a folder, so
the first time a version's templates are wanted they are written once to
``<data_dir>/templates/<sha256>/``, named by a digest of the template files alone: versions sharing their
templates share the folder, and a folder, once there, never changes. It is written to a temporary folder
beside it and renamed into place, so processes extracting the same templates at once cannot see half a
folder.

Versions stored before templates were part of a version have none; they, and mail not tied to a case when
no version is deployed, use the deployment's templates folder (``settings.templates_dir``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapidreview.runtime import Runtime
from rapidreview.store.db import transaction
from rapidreview.store.models import Case, ProcessFile, ProcessVersion

PREFIX = "templates/"
EMAIL_SUFFIXES = (".txt", ".html")
WORD_SUFFIX = ".docx"


def is_template_path(path: str) -> bool:
    """Whether a version's file path names a template the renderers read."""
    return path.startswith(PREFIX) and (
        (path.startswith(PREFIX + "email/") and path.endswith(EMAIL_SUFFIXES)) or path.endswith(WORD_SUFFIX))


def files_from_folder(folder: Path) -> dict[str, bytes]:
    """A templates folder as version files: ``email/*.txt|*.html`` and ``*.docx`` (not Word's ``~$`` lock files)."""
    files = {f"{PREFIX}{p.name}": p.read_bytes() for p in sorted(folder.glob(f"*{WORD_SUFFIX}"))
             if not p.name.startswith("~$")}
    files.update({f"{PREFIX}email/{p.name}": p.read_bytes() for p in sorted((folder / "email").glob("*"))
                  if p.is_file() and p.suffix in EMAIL_SUFFIXES})
    return files


def templates_digest(hashes: Mapping[str, str]) -> str:
    """One SHA-256 over the template files, from their paths and each file's SHA-256 (hex)."""
    return hashlib.sha256("".join(f"{p}\0{h}\n" for p, h in sorted(hashes.items())).encode()).hexdigest()


def _safe_relative(path: str) -> PurePosixPath | None:
    """``path`` under ``templates/`` as a relative path, or None if it could leave the folder."""
    relative = PurePosixPath(path[len(PREFIX):])
    if relative.is_absolute() or not relative.parts or any(p in ("", ".", "..") for p in relative.parts):
        return None
    return relative


def extract(root: Path, files: Mapping[str, bytes]) -> Path:
    """The folder under ``root`` holding ``files``' templates, written once (see the module's docstring)."""
    templates = {p: c for p, c in files.items() if is_template_path(p)}
    digest = templates_digest({p: hashlib.sha256(c).hexdigest() for p, c in templates.items()})
    target = root / digest
    if target.is_dir():
        return target
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=root))
    try:
        for path, content in templates.items():
            relative = _safe_relative(path)
            if relative is None:
                continue
            out = scratch.joinpath(*relative.parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(content)
        (scratch / "email").mkdir(exist_ok=True)
        try:
            os.rename(scratch, target)
        except OSError:
            if not target.is_dir():  # not another process having put the same folder there first
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def folder_for_version(rt: Runtime, session: Session, version_id: int | None) -> Path:
    """The templates folder of the version with id ``version_id``; the settings' folder if it has no templates."""
    if version_id is None:
        return rt.settings.templates_dir
    rows = session.execute(select(ProcessFile.path, ProcessFile.sha256).where(
        ProcessFile.version_id == version_id, ProcessFile.path.startswith(PREFIX))).all()
    hashes = {path: sha for path, sha in rows if is_template_path(path)}
    if not hashes:
        return rt.settings.templates_dir
    root = rt.settings.data_dir / "templates"
    target = root / templates_digest(hashes)
    if target.is_dir():
        return target
    contents = session.execute(select(ProcessFile.path, ProcessFile.content).where(
        ProcessFile.version_id == version_id, ProcessFile.path.in_(list(hashes)))).all()
    return extract(root, {path: content for path, content in contents})


def folder_for_case(rt: Runtime, session: Session, case: Case) -> Path:
    """The templates of the version ``case`` started on: a running case keeps its version's wording."""
    return folder_for_version(rt, session, case.process_version_id)


def active_folder(rt: Runtime, session: Session | None = None) -> Path:
    """The templates of the active version, for mail not tied to a case."""
    if session is None:
        with transaction(rt.sessions) as own:
            return active_folder(rt, own)
    version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.active.is_(True)).limit(1))
    return folder_for_version(rt, session, version_id)
