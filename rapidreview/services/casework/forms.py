"""Forms of a process version: each case validates answers against the forms it started with."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from sqlalchemy.orm import Session

from rapidreview import forms as form_schemas
from rapidreview.errors import Invalid, NotFound
from rapidreview.store.models import ProcessVersion

_CACHE_ROOT = Path(tempfile.gettempdir()) / "rapidreview-forms"


class FormAnswersError(Invalid):
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
        raise NotFound(f"process version {version_id} does not exist")
    return _schema(str(version_forms_dir(version)), filename)


def form_uischema(session: Session, version_id: int, filename: str) -> dict[str, Any] | None:
    """The form's ``.uischema.json`` (field order and widgets) as deployed in that version, if it has one."""
    version = session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound(f"process version {version_id} does not exist")
    path = version_forms_dir(version) / filename.replace(".schema.json", form_schemas.UISCHEMA_SUFFIX)
    return json.loads(path.read_text()) if path.exists() else None


class _Compiled(NamedTuple):
    schema: Any
    registry: Any
    validator: Any  # form_schemas.FormValidator bound to the schema, its registry and format checks


# Validators by database, then by (process version id, form file). A version's files never change once
# deployed and its id is not reused, so an entry cannot go stale; keying by the database engine (weakly)
# keeps two databases in one process (tests, `rapidreview simulate`) apart. It saves a step the version
# row's query, the forms folder check and building the validator.
_COMPILED: WeakKeyDictionary[Any, dict[tuple[int, str], _Compiled]] = WeakKeyDictionary()


def _compiled(session: Session, version_id: int, filename: str) -> _Compiled:
    per_database = _COMPILED.setdefault(session.get_bind(), {})
    found = per_database.get((version_id, filename))
    if found is None:
        schema, registry = form_schema(session, version_id, filename)
        validator = form_schemas.FormValidator(schema, registry=registry, format_checker=form_schemas.FORMAT_CHECKER)
        found = per_database[(version_id, filename)] = _Compiled(schema, registry, validator)
    return found


def check_answers(session: Session, version_id: int, filename: str, answers: Mapping[str, Any]) -> None:
    compiled = _compiled(session, version_id, filename)
    answers = dict(answers)
    if compiled.validator.is_valid(answers):
        return
    # Only wrong answers pay for the plain-English messages (the same validation, with the form's wording).
    errors = form_schemas.validate_answers(compiled.schema, answers, compiled.registry)
    if errors:
        raise FormAnswersError(filename, errors)


def example_answers(session: Session, version_id: int, filename: str) -> dict[str, Any]:
    schema, _registry_ = form_schema(session, version_id, filename)
    return dict(form_schemas.example_answers(schema))
