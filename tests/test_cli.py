"""The rapidreview command as a process owner runs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from rapidreview.config import PROJECT_ROOT
from tests.conftest import TEST_DATABASE_URL


def rapidreview(*args: str) -> subprocess.CompletedProcess[str]:
    extra = ["--database-url", TEST_DATABASE_URL] if TEST_DATABASE_URL and args[0] == "simulate" else []
    return subprocess.run([sys.executable, "-m", "rapidreview.cli", *args, *extra], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=300)


def test_simulate_prints_the_case_and_its_events_as_json(tmp_path: Path) -> None:
    done = rapidreview("simulate", "scenarios/not_commissioned.json", "--json", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["case"]["status"] == "not_commissioned"
    completed = [e for e in result["events"] if e["type"] == "task_completed"]
    assert [e.get("partner") for e in completed] == ["LA", "MPS", "ICB", None]
    assert completed[-1]["id"] == "confirm_decision_record"
    subjects = [message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"]
                for p in (tmp_path / "out" / "outbox").glob("*.eml")]
    # each task's holder is told it is theirs, and the Panel gets the decision
    assert sorted(subjects) == sorted([f"Rapid Review {result['case']['reference']}: criteria for a Rapid Review not met"]
                                      + [s for s in subjects if "criteria for a Rapid Review not met" not in s])
    assert len(subjects) == 5


def test_simulate_without_json_prints_a_readable_timeline(tmp_path: Path) -> None:
    done = rapidreview("simulate", "scenarios/not_commissioned.json", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert re.search(r"Day  1  Wed 03 Jun 16:00  completed +record_criteria_view \(ICB\)", done.stdout)
    assert "Rapid Review not commissioned" in done.stdout
    assert str(tmp_path / "out" / "outbox") in done.stdout


def test_simulate_refuses_to_overwrite_earlier_results(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("earlier run")
    done = rapidreview("simulate", "scenarios/not_commissioned.json", "--out", str(tmp_path))
    assert done.returncode == 2 and "is not empty" in done.stderr
    assert (tmp_path / "keep.txt").read_text() == "earlier run"


def test_an_invalid_scenario_exits_non_zero_naming_the_file_and_field(tmp_path: Path) -> None:
    scenario = json.loads((PROJECT_ROOT / "scenarios" / "not_commissioned.json").read_text())
    scenario["actions"][1]["at"] = "tomorrow"
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(scenario))
    done = rapidreview("simulate", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.startswith("rapidreview: error: typo.json: actions[1].at: 'tomorrow'")
    assert "Traceback" not in done.stderr


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    folder = tmp_path / "bpmn"
    shutil.copytree(PROJECT_ROOT / "bpmn", folder)
    text = (folder / file).read_text()
    assert re.search(old, text), old
    (folder / file).write_text(re.sub(old, new, text, count=1))
    return folder


@pytest.mark.parametrize(("file", "old", "new", "expected"), [
    ("rapid_review.bpmn", r"</bpmn:definitions>", "", r"rapid_review.bpmn: not well-formed XML"),
    ("rapid_review.bpmn", r"<\?xml[^>]*\?>", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
     r"rapid_review.bpmn: a DOCTYPE or entity declaration is not allowed"),
    ("rapid_review.bpmn", r'targetRef="commission_rapid_review"', 'targetRef="commision_rapid_review"',
     r"rapid_review.bpmn, element \w+: sequence flow \w+ has targetRef='commision_rapid_review'"),
    ("information_sharing.bpmn", r'day\(6, &quot;09:00&quot;\)|day\(6, "09:00"\)', 'day(6, "9am")',
     r"information_sharing.bpmn, element information_sharing_reminder: .*bad time '9am': expected HH:MM"),
])
def test_an_invalid_process_exits_non_zero_naming_the_file_and_element(
        tmp_path: Path, file: str, old: str, new: str, expected: str) -> None:
    folder = broken_copy(tmp_path, file, old, new)
    done = rapidreview("simulate", "scenarios/happy_path.json", "--bpmn", str(folder), "--out", str(tmp_path / "out"))
    assert done.returncode == 2, done.stdout
    assert re.search(expected, done.stderr), done.stderr
    assert "Traceback" not in done.stderr
