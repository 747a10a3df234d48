"""What the process-version pages show, read in one transaction each and handed over as plain values.

The pages (``web/views/versions.py`` and ``editor.py``) ask these functions instead of opening transactions
themselves. A version is a snapshot of its row (number, note, who deployed it, whether it is active); its
files are bytes keyed ``bpmn/<name>``, ``forms/<name>`` as stored. A version that does not exist is
:class:`~rapidreview.errors.NotFound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from rapidreview.errors import NotFound
from rapidreview.runtime import Runtime
from rapidreview.services.casework.forms import form_schema, form_uischema
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions.version_diff import VersionDiff, diff_files
from rapidreview.services.definitions.version_readiness import Readiness, readiness
from rapidreview.services.reading.snapshots import snapshot, snapshots
from rapidreview.store.db import transaction
from rapidreview.store.models import ProcessVersion


@dataclass(frozen=True)
class StoredVersion:
    version: ProcessVersion  # a snapshot
    files: dict[str, bytes]

    @property
    def number(self) -> int:
        return self.version.number

    @property
    def process_id(self) -> str:
        return self.version.process_id


def _get(session: Session, number: int) -> ProcessVersion:
    try:
        return versions.get_version(session, number)
    except versions.VersionError:
        raise NotFound(f"there is no process version {number}") from None


def all_versions(rt: Runtime) -> list[ProcessVersion]:
    """Every version, newest first (snapshots)."""
    with transaction(rt.sessions) as session:
        return snapshots(versions.list_versions(session))


def stored(rt: Runtime, number: int) -> StoredVersion:
    with transaction(rt.sessions) as session:
        version = _get(session, number)
        return StoredVersion(snapshot(version), versions.version_files(version))


def stored_or_active(rt: Runtime, number: int | None) -> StoredVersion:
    """Version ``number``, or the active one when ``number`` is None (NotFound before the first deployment)."""
    if number is not None:
        return stored(rt, number)
    found = active(rt)
    if found is None:
        raise NotFound("no process version is active")
    return found


def active(rt: Runtime) -> StoredVersion | None:
    """The version new cases start on, with its files; None before the first deployment."""
    with transaction(rt.sessions) as session:
        version = versions.active_version(session)
        return StoredVersion(snapshot(version), versions.version_files(version)) if version is not None else None


@dataclass(frozen=True)
class TrialInputs:
    """What trying version ``number`` on a scenario runs: its files and, beside them, the active version's."""

    candidate: dict[str, bytes]
    active: ProcessVersion | None  # a snapshot; None before the first deployment
    active_files: dict[str, bytes] | None  # None when there is no other active version to compare with


def trial_inputs(rt: Runtime, number: int) -> TrialInputs:
    with transaction(rt.sessions) as session:
        candidate = versions.version_files(_get(session, number))
        current = versions.active_version(session)
        other = current is not None and current.number != number
        return TrialInputs(candidate, snapshot(current) if current is not None else None,
                           versions.version_files(current) if other and current is not None else None)


@dataclass(frozen=True)
class VersionPage:
    version: ProcessVersion  # a snapshot
    files: dict[str, bytes]
    active: ProcessVersion | None
    compared_with: int | None  # the version the differences are against; None for the first version
    diff: VersionDiff | None
    ready: Readiness
    others: list[int]  # the other versions' numbers, to compare with


def version_page(rt: Runtime, number: int, compare_with: int | None, scenarios: Sequence[str]) -> VersionPage:
    """Version ``number`` compared with ``compare_with`` if given, else with the active version (what new cases
    run on now), else, for the active version itself, with the one before it."""
    with transaction(rt.sessions) as session:
        version = _get(session, number)
        files = versions.version_files(version)
        current = versions.active_version(session)
        if compare_with is None or compare_with == number:
            if current is not None and current.number != number:
                compare_with = current.number
            else:
                compare_with, _ = versions.previous_files(session, version)
        previous, previous_files = versions.files_of(session, compare_with)
        return VersionPage(
            snapshot(version), files, snapshot(current) if current is not None else None, previous,
            diff_files(previous_files, files) if previous is not None else None,
            readiness(session, version, scenarios),
            [v.number for v in versions.list_versions(session) if v.number != number])


@dataclass(frozen=True)
class ActivationPage:
    version: ProcessVersion  # a snapshot
    active: ProcessVersion | None
    ready: Readiness
    rollback: bool  # it was live before: making it active again goes back to it


def activation_page(rt: Runtime, number: int, scenarios: Sequence[str]) -> ActivationPage:
    with transaction(rt.sessions) as session:
        version = _get(session, number)
        current = versions.active_version(session)
        return ActivationPage(snapshot(version), snapshot(current) if current is not None else None,
                              readiness(session, version, scenarios), version.activated_at is not None)


@dataclass(frozen=True)
class FormOfVersion:
    schema: dict[str, Any]
    registry: Any  # the schema's referenced definitions, as forms.form_schema gives them
    uischema: dict[str, Any] | None
    files: dict[str, bytes]
    process_id: str


@dataclass(frozen=True)
class Comparison:
    numbers: list[int]  # every version, newest first
    old: int
    new: int
    old_files: dict[str, bytes]
    new_files: dict[str, bytes]


def comparison(rt: Runtime, old: int | None, new: int | None) -> Comparison:
    """Two versions to compare: ``new`` defaults to the newest, ``old`` to the active version (or the one before
    ``new`` when ``new`` is the active one)."""
    with transaction(rt.sessions) as session:
        numbers = [v.number for v in versions.list_versions(session)]
        current = versions.active_version(session)
        new = new or (numbers[0] if numbers else 0)
        old = old or (current.number if current is not None and current.number != new else max(new - 1, 1))
        return Comparison(numbers, old, new, versions.version_files(_get(session, old)),
                          versions.version_files(_get(session, new)))


def form_of_version(rt: Runtime, number: int, name: str) -> FormOfVersion:
    """A form (``<name>.schema.json``) of version ``number`` with what its preview needs."""
    with transaction(rt.sessions) as session:
        version = _get(session, number)
        files = versions.version_files(version)
        if f"forms/{name}" not in files or not name.endswith(".schema.json"):
            raise NotFound(f"version {number} has no form {name}")
        schema, registry = form_schema(session, version.id, name)
        return FormOfVersion(schema, registry, form_uischema(session, version.id, name), files, version.process_id)
