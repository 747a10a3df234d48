"""Whether a process version may go live: the last try of each bundled scenario (services.version_trials
makes the tries). A leaf the versions service asks when activating, without importing the tries' machinery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from rapidreview import resources
from rapidreview.store.models import ProcessVersion, VersionTrial


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
