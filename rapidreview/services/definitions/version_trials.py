"""Trying a process version on every bundled scenario before it goes live, and what activation asks of it.

One happy path proves little: the mistake that hurts (a reminder's e-mail template written without quotes)
fails only on the path where the reminder fires. So a try runs every bundled scenario (``scenarios/*.json``)
on the version's files, each in its own child process on its own virtual clock, and keeps each
scenario's last result. A candidate that has never been live may be made active only when every bundled
scenario's last try passed; an administrator may override that with a reason, which the audit trail keeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rapidreview import clock
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions.version_readiness import (  # noqa: F401 - part of this module's interface
    Readiness,
    TrialResult,
    bundled_scenarios,
    readiness,
)
from rapidreview.services.platform import audit
from rapidreview.store.db import transaction
from rapidreview.store.models import VersionTrial

WORKERS = 2  # scenarios run side by side, each in its own process; the machine has other work too


def _summary(result: dict[str, Any]) -> str:
    case = result.get("case", {})
    status = str(case.get("status", "unknown")).replace("_", " ")
    words = f"ended {status}"
    if case.get("submitted_on_day"):
        words += f" on Day {case['submitted_on_day']}"
    if case.get("late"):
        words += ", late"
    return words


_ELEMENT = re.compile(r"element (\w+)")
_UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def plain_failure(message: str) -> str:
    """The engine's error, led by what it means for the process owner when that can be told."""
    element, undefined = _ELEMENT.search(message), _UNDEFINED.search(message)
    if element and undefined:
        name = undefined.group(1)
        return (f"the step {element.group(1)} stopped the case: it reads {name}, which the case does not have. If "
                f"{name} is meant as text, it needs quotes ('{name}'); rapidreview validate names the place. "
                f"(The engine said: {message})")
    return message


def run_scenario(files: dict[str, bytes], scenario: Path) -> TrialResult:
    """One scenario on the files: passed when the case ran to the scenario's end without an error."""
    try:
        result = versions.try_scenario(files, scenario)
    except versions.VersionError as exc:
        return TrialResult(scenario.stem, False, plain_failure(str(exc)))
    return TrialResult(scenario.stem, True, _summary(result), timeline=result)


def try_version(
    rt: Runtime, number: int, *, actor: str, scenarios: Sequence[Path] | None = None
) -> list[TrialResult]:
    """Run every bundled scenario (or ``scenarios``) on version ``number`` and record each result."""
    chosen = list(scenarios) if scenarios is not None else bundled_scenarios()
    with transaction(rt.sessions) as session:
        files = versions.version_files(versions.get_version(session, number))
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(lambda path: run_scenario(files, path), chosen))
    record(rt, number, results, actor=actor)
    return results


def record(rt: Runtime, number: int, results: Sequence[TrialResult], *, actor: str) -> None:
    with transaction(rt.sessions) as session:
        version = versions.get_version(session, number)
        now = clock.now()
        for result in results:
            session.add(
                VersionTrial(
                    version_id=version.id,
                    scenario=result.scenario,
                    passed=result.passed,
                    summary=result.summary,
                    tried_by=actor,
                    tried_at=now,
                )
            )
        audit.record(
            session,
            None,
            "process_tried",
            actor=actor,
            version=number,
            passed=sorted(r.scenario for r in results if r.passed),
            failed=sorted(r.scenario for r in results if not r.passed),
        )


def results_as_json(results: Sequence[TrialResult]) -> str:
    return json.dumps(
        [{"scenario": r.scenario, "passed": r.passed, "summary": r.summary} for r in results], indent=2
    )
