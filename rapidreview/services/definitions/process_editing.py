"""Editing a process version in the browser: the editor saves changed BPMN files over a base version, and
the result is checked exactly as ``rapidreview validate`` checks it before it is stored as a candidate.

The editor also asks what a due or timer expression gives on a sample case, so a process owner sees
"Friday 29 May 2026 at 17:00 (Day 6)" while typing ``day(6, "17:00")``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from rapidreview.calendar import WorkingCalendar, to_london
from rapidreview.engine import inspect
from rapidreview.engine.process import PROCESS_SUFFIXES
from rapidreview.errors import Invalid
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions.uploaded_files import MAX_FILE
from rapidreview.services.definitions.validation import sample_data
from rapidreview.services.definitions.version_pages import StoredVersion
from rapidreview.store.models import ProcessVersion

# A file the editor may send: a plain name (no folders), ending in a process suffix.
_FILE_NAME = re.compile(r"^bpmn/[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}$")
MAX_EXPRESSION = 500


class EditError(Invalid):
    """The edit cannot be taken as it is (not a process file, too large); nothing was stored."""


def process_texts(files: Mapping[str, bytes]) -> dict[str, str]:
    """The BPMN files of a version as text, by file name, for the editor."""
    return {
        path.split("/", 1)[1]: content.decode("utf-8")
        for path, content in sorted(files.items())
        if path.startswith("bpmn/") and path.endswith(".bpmn")
    }


def merged_files(base: Mapping[str, bytes], changed: Mapping[str, str]) -> dict[str, bytes]:
    """The base version's files with the edited ones in their place."""
    if not changed:
        raise EditError("nothing has changed: edit the diagram or its properties first")
    files = dict(base)
    for path, text in changed.items():
        if (
            not isinstance(path, str)
            or not _FILE_NAME.match(path)
            or not any(path.endswith(s) for s in PROCESS_SUFFIXES)
        ):
            raise EditError(f"{path!r} is not a process file name (bpmn/<name>.bpmn)")
        if not isinstance(text, str):
            raise EditError(f"{path} must be sent as text")
        content = text.encode("utf-8")
        if len(content) > MAX_FILE:
            raise EditError(f"{path} is larger than 5 MB")
        files[path] = content
    return files


def save_candidate(
    rt: Runtime,
    base: StoredVersion,
    changed: Mapping[str, str],
    *,
    deployed_by: str,
    note: str,
    lint: bool = True,
) -> ProcessVersion:
    """Check the edited version with every check of ``rapidreview validate`` and store it as a candidate;
    ``InvalidVersion`` carries the problems and nothing is stored."""
    files = merged_files(base.files, changed)
    note = note.strip() or f"Edited in the browser from version {base.number}"
    return versions.deploy_files(rt, files, deployed_by=deployed_by, note=note, activate=False, lint=lint)


def preview_date(calendar: WorkingCalendar, expression: str) -> str:
    """What a due or timer expression gives on a sample case, in words; or why it cannot be used."""
    expression = expression.strip()
    if not expression:
        return ""
    if len(expression) > MAX_EXPRESSION:
        return "The expression is too long to preview."
    data = sample_data({}, calendar)
    sample = inspect.SampleCase(calendar, data)
    notified = to_london(datetime.fromisoformat(data["notified_at"]))
    case = f"a sample case notified {notified:%A %-d %B %Y} at {notified:%H:%M}"
    try:
        value = sample.evaluate(expression)
        moment = inspect.timer_value("timeDate", value)
    except SyntaxError:
        return 'This is not an expression the process can read: write Day 6 at 17:00 as day(6, "17:00").'
    except NameError as exc:
        return (
            f"On {case} this cannot be worked out yet ({exc}): it uses data a case has only later. "
            "Saving checks it on a fuller sample case."
        )
    except Exception as exc:  # an owner's expression can fail in any way; the preview says how
        return f"On {case} this cannot be used: {exc}."
    if not isinstance(moment, datetime):
        return f"On {case} this gives {value}, which is not a date and time."
    local = to_london(moment)
    day = sample.evaluate(f"case_day({str(value)!r})")
    return f"On {case}: {local:%A %-d %B %Y} at {local:%H:%M}, Day {day}."
