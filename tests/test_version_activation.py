"""A version goes live only after every bundled scenario passed on it; going back and discarding need care."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rapidreview.config import PROJECT_ROOT
from rapidreview.runtime import Runtime
from rapidreview.services.definitions import process_versions as versions
from rapidreview.services.definitions import version_trials
from rapidreview.store.db import transaction
from rapidreview.store.models import AuditEvent

SCENARIOS = PROJECT_ROOT / "scenarios"
# The path where the agency is late: the Day 6 reminder fires there, and only there.
TRIED = [SCENARIOS / "happy_path.json", SCENARIOS / "agency_late_and_missing.json"]
NAMES = [p.stem for p in TRIED]


def bundled_files() -> dict[str, bytes]:
    return versions.files_from_paths([PROJECT_ROOT / "bpmn"], PROJECT_ROOT / "forms")


def unquoted_reminder() -> dict[str, bytes]:
    """The mistake that passed every check: the reminder's template name without quotes."""
    files = bundled_files()
    path = "bpmn/information_sharing.bpmn"
    files[path] = files[path].replace(
        b"value=\"'information_sharing_reminder'\"", b'value="information_sharing_reminder"'
    )
    return files


def audit(runtime: Runtime, kind: str) -> list[dict]:  # type: ignore[type-arg]
    with transaction(runtime.sessions) as session:
        return [e.payload for e in session.scalars(select(AuditEvent).where(AuditEvent.type == kind))]


def test_trying_runs_every_scenario_and_the_late_path_catches_the_unquoted_reminder(runtime: Runtime) -> None:
    versions.store_version(runtime, bundled_files(), deployed_by="owner")
    candidate = versions.store_version(runtime, unquoted_reminder(), deployed_by="owner", activate=False)
    results = version_trials.try_version(runtime, candidate.number, actor="owner", scenarios=TRIED)
    verdicts = {r.scenario: r.passed for r in results}
    assert verdicts == {"happy_path": True, "agency_late_and_missing": False}
    failed = next(r for r in results if not r.passed)
    assert failed.summary.startswith("the step send_information_sharing_reminder stopped the case: it reads "
                                     "information_sharing_reminder, which the case does not have. If "
                                     "information_sharing_reminder is meant as text, it needs quotes")

    with pytest.raises(versions.NotReady) as refused:
        versions.activate_version(runtime, candidate.number, actor="owner", scenarios=NAMES)
    assert refused.value.reasons[0].startswith("the scenario agency_late_and_missing failed when last tried")
    with pytest.raises(versions.VersionError, match="only an administrator"):
        versions.activate_version(
            runtime, candidate.number, actor="owner", override="urgent", scenarios=NAMES
        )
    versions.activate_version(
        runtime,
        candidate.number,
        actor="admin",
        override="the Panel asked for it today",
        may_override=True,
        scenarios=NAMES,
    )
    assert audit(runtime, "process_activated")[-1]["override"] == "the Panel asked for it today"
    assert audit(runtime, "process_tried")[0]["failed"] == ["agency_late_and_missing"]


def test_an_untried_candidate_is_not_activated_and_a_passing_one_is(runtime: Runtime) -> None:
    versions.store_version(runtime, bundled_files(), deployed_by="owner")
    files = bundled_files()
    files["bpmn/information_sharing.bpmn"] = files["bpmn/information_sharing.bpmn"].replace(
        b"day(7, ", b"day(6, "
    )
    candidate = versions.store_version(runtime, files, deployed_by="owner", activate=False)
    with pytest.raises(versions.NotReady, match="not tried yet on happy_path"):
        versions.activate_version(runtime, candidate.number, actor="owner", scenarios=["happy_path"])
    version_trials.try_version(runtime, candidate.number, actor="owner", scenarios=TRIED[:1])
    assert versions.activate_version(
        runtime, candidate.number, actor="owner", scenarios=["happy_path"]
    ).active


def test_going_back_needs_a_reason_and_only_a_never_active_candidate_is_discarded(runtime: Runtime) -> None:
    first = versions.store_version(runtime, bundled_files(), deployed_by="owner")
    second = versions.store_version(runtime, unquoted_reminder(), deployed_by="owner")  # deployed live
    with pytest.raises(versions.ReasonNeeded, match="say why you are going back to version 1"):
        versions.activate_version(runtime, first.number, actor="owner", note="  ")
    versions.activate_version(runtime, first.number, actor="owner", note="the reminder fails")
    assert audit(runtime, "process_rolled_back")[0]["note"] == "the reminder fails"

    with pytest.raises(versions.VersionError, match="has been active"):
        versions.discard_version(runtime, second.number, actor="owner")
    third = versions.store_version(runtime, unquoted_reminder(), deployed_by="owner", activate=False)
    versions.discard_version(runtime, third.number, actor="owner", note="uploaded by mistake")
    with transaction(runtime.sessions) as session:
        assert [v.number for v in versions.list_versions(session)] == [2, 1]
    assert audit(runtime, "process_discarded")[0]["note"] == "uploaded by mistake"
