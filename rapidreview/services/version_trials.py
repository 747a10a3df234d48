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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rapidreview import clock, resources
from rapidreview.services import audit
from rapidreview.services import process_versions as versions
from rapidreview.services.runtime import Runtime
from rapidreview.store.db import transaction
from rapidreview.store.models import ProcessVersion, VersionTrial

WORKERS = 2  # scenarios run side by side, each in its own process; the machine has other work too


def bundled_scenarios() -> list[Path]:
    return sorted(resources.path("scenarios").glob("*.json"))


@dataclass(frozen=True)
class TrialResult:
    scenario: str
    passed: bool
    summary: str  # "submitted on Day 10", or why it failed, in words
    tried_at: Any = None
    tried_by: str = ""
    timeline: dict[str, Any] | None = None  # the simulator's JSON, for the page that shows it


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


@dataclass(frozen=True)
class Readiness:
    """The last try of every bundled scenario on a version, and what stands in the way of activating it."""

    results: list[TrialResult]
    untried: list[str]

    @property
    def failed(self) -> list[TrialResult]:
        return [r for r in self.results if not r.passed]

    @property
    def ready(self) -> bool:
        return not self.untried and not self.failed

    def reasons(self) -> list[str]:
        out = [f"the scenario {r.scenario} failed when last tried: {r.summary}" for r in self.failed]
        if self.untried:
            out.append(f"not tried yet on {', '.join(self.untried)}")
        return out


def readiness(session: Any, version: ProcessVersion, scenarios: Sequence[str] | None = None) -> Readiness:
    names = list(scenarios) if scenarios is not None else [p.stem for p in bundled_scenarios()]
    latest: dict[str, VersionTrial] = {}
    for trial in session.scalars(
        select(VersionTrial).where(VersionTrial.version_id == version.id).order_by(VersionTrial.id)
    ):
        latest[trial.scenario] = trial
    results = [
        TrialResult(n, latest[n].passed, latest[n].summary, latest[n].tried_at, latest[n].tried_by)
        for n in names
        if n in latest
    ]
    return Readiness(results, [n for n in names if n not in latest])


def results_as_json(results: Sequence[TrialResult]) -> str:
    return json.dumps(
        [{"scenario": r.scenario, "passed": r.passed, "summary": r.summary} for r in results], indent=2
    )
