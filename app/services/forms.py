"""Forms of a process version: each case validates answers against the forms it started with."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app import forms as form_schemas
from app.store.models import ProcessVersion

_CACHE_ROOT = Path(tempfile.gettempdir()) / "rapidreview-forms"


class FormAnswersError(ValueError):
    """Answers that do not fit the form; ``errors`` lists each field and what to change."""

    def __init__(self, form: str, errors: list[form_schemas.FieldError]) -> None:
        self.form, self.errors = form, errors
        details = "; ".join(f"{e.field or 'form'}: {e.message}" for e in errors)
        super().__init__(f"{form}: {details}")


def version_forms_dir(version: ProcessVersion) -> Path:
    """The version's form files on disk (written once per version, since the loader reads folders)."""
    folder = _CACHE_ROOT / version.sha256
    if not (folder / ".complete").exists():
        folder.mkdir(parents=True, exist_ok=True)
        for f in version.files:
            if f.path.startswith("forms/"):
                (folder / f.path.split("/", 1)[1]).write_bytes(f.content)
        (folder / ".complete").touch()
    return folder


@lru_cache(maxsize=8)
def _registry(folder: str) -> Any:
    return form_schemas.load_registry(Path(folder))


@lru_cache(maxsize=256)
def _schema(folder: str, filename: str) -> tuple[Any, Any]:
    registry = _registry(folder)
    return form_schemas.load_schema(Path(folder), filename, registry), registry


def form_schema(session: Session, version_id: int, filename: str) -> tuple[Any, Any]:
    """The form's schema and the registry that resolves its references, as deployed in that version."""
    version = session.get(ProcessVersion, version_id)
    if version is None:
        raise LookupError(f"process version {version_id} does not exist")
    return _schema(str(version_forms_dir(version)), filename)


def check_answers(session: Session, version_id: int, filename: str, answers: Mapping[str, Any]) -> None:
    schema, registry = form_schema(session, version_id, filename)
    errors = form_schemas.validate_answers(schema, dict(answers), registry)
    if errors:
        raise FormAnswersError(filename, errors)


def example_answers(session: Session, version_id: int, filename: str) -> dict[str, Any]:
    schema, _registry_ = form_schema(session, version_id, filename)
    return dict(form_schemas.example_answers(schema))
