"""Trying a process version on a scenario file the process owner uploads, beside the active version.

The file has the format of the bundled scenarios (``scenarios/*.json``, see docs/simulator.md). It is checked
here, before anything runs, so a wrong file gets a message naming the line or field to correct. Its result is
shown but never recorded: only the bundled scenarios' tries decide whether a candidate may be made active, so a
file someone wrote for one question cannot stand in for them.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidreview.errors import Invalid
from rapidreview.services.definitions.version_readiness import TrialResult
from rapidreview.services.definitions.version_trials import run_scenario
from rapidreview.simulator.scenario import ScenarioError, parse_scenario

MAX_SCENARIO_BYTES = 256 * 1024  # the bundled scenarios are a few kilobytes; this leaves room and stops misuse
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class UploadedScenarioError(Invalid):
    """What is wrong with the file, in words for the process owner."""


@dataclass(frozen=True)
class UploadedScenario:
    file_name: str  # as uploaded, for the page
    stem: str  # a safe file stem for the copy the simulator reads
    content: bytes


def read_uploaded_scenario(file_name: str, content: bytes) -> UploadedScenario:
    """Check the file is a scenario (size, UTF-8, JSON, then every field) before it is run."""
    shown = Path(file_name or "").name or "the file"
    if not content:
        raise UploadedScenarioError(f"{shown} is empty: choose a scenario file (.json)")
    if len(content) > MAX_SCENARIO_BYTES:
        raise UploadedScenarioError(f"{shown} is {len(content) // 1024} KB: a scenario file must be smaller than "
                                    f"{MAX_SCENARIO_BYTES // 1024} KB")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadedScenarioError(f"{shown} is not a text file: a scenario is a JSON file, like the bundled "
                                    "ones") from None
    try:
        raw: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UploadedScenarioError(f"{shown} is not a scenario in JSON: line {exc.lineno}, column {exc.colno}: "
                                    f"{exc.msg}") from None
    except RecursionError:
        raise UploadedScenarioError(f"{shown} is nested too deeply to be a scenario") from None
    try:
        parse_scenario(raw, shown)
    except ScenarioError as exc:
        raise UploadedScenarioError(str(exc)) from None
    stem = _UNSAFE.sub("-", Path(shown).stem).strip("-")[:60] or "uploaded"
    return UploadedScenario(file_name=shown, stem=stem, content=text.encode("utf-8"))


def run_uploaded_scenario(
    scenario: UploadedScenario, candidate: Mapping[str, bytes], active: Mapping[str, bytes] | None
) -> list[TrialResult]:
    """Run the scenario on the candidate's files and, when given, the active version's, side by side.

    The simulator reads a file, so the scenario is written to a temporary folder removed after both runs.
    The results are returned only: the caller must not record them as a try of the bundled scenarios.
    """
    with tempfile.TemporaryDirectory(prefix="rapidreview-upload-") as scratch:
        path = Path(scratch) / f"{scenario.stem}.json"
        path.write_bytes(scenario.content)
        with ThreadPoolExecutor(max_workers=2) as pool:  # two child processes, as for a bundled scenario
            runs = [pool.submit(run_scenario, dict(files), path) for files in (candidate, active) if files is not None]
            return [run.result() for run in runs]
