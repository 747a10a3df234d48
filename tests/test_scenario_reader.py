"""The scenario reader refuses bad scenarios with the file and field named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from rapidreview.simulator.scenario import ScenarioError, check_tasks, load_scenario, parse_scenario

GOOD: dict[str, Any] = {
    "name": "a case",
    "notification": {"notified_at": "2026-12-18T10:30:00+00:00", "reference": "RR-2026-014",
                     "child": {"name": "Child M", "date_of_birth": "2019-03-02", "sex": "female"},
                     "incident": {"date": "2026-12-16", "summary": "Injuries."}},
    "agencies": [{"id": "school", "name": "Oak Primary School", "contact_email": "dsl@oak.example",
                  "manager_email": "head@oak.example"}],
    "actions": [{"task": "record_criteria_view", "partner": "MPS", "at": "day 1 15:00", "data": {"criteria_met": "no"}},
                {"task": "complete_information_sharing_form", "agency": "school", "never": True}],
}


def changed(path: str, value: Any) -> dict[str, Any]:
    scenario = copy.deepcopy(GOOD)
    node: Any = scenario
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if key.isdigit() else node[key]
    last = keys[-1]
    if value is ...:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return scenario


def error_for(raw: Any) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(raw, "late.json")
    return str(caught.value)


def test_a_good_scenario_is_read_with_its_actions_in_order() -> None:
    scenario = parse_scenario(GOOD, "good.json")
    assert scenario.notification.reference == "RR-2026-014"
    assert [a.task for a in scenario.actions] == ["record_criteria_view", "complete_information_sharing_form"]
    assert scenario.actions[1].never is True


@pytest.mark.parametrize(("path", "value", "expected"), [
    ("notification", ..., "late.json: notification: is required"),
    ("notification.notified_at", "2026-12-18T10:30:00", "late.json: notification.notified_at: '2026-12-18T10:30:00' has no UTC offset"),
    ("notification.notified_at", "yesterday", "late.json: notification.notified_at: 'yesterday' is not an ISO-8601"),
    ("notification.reference", "", "late.json: notification.reference: expected a non-empty string"),
    ("notification.child.date_of_birth", "02/03/2019", "late.json: notification.child.date_of_birth: expected a date"),
    ("agencies.0.contact_email", "not-an-address", "late.json: agencies[0].contact_email: 'not-an-address' is not valid"),
    ("agencies.0.id", "Oak School", "late.json: agencies[0].id: 'Oak School' is not valid"),
    ("actions.0.at", "tomorrow", "late.json: actions[0].at: 'tomorrow': expected \"day N HH:MM\""),
    ("actions.0.at", "day 40 09:00", "late.json: actions[0].at: day must be between 1 and 25"),
    ("actions.0.partner", "NHS", "late.json: actions[0].partner: 'NHS' is not a statutory partner"),
    ("actions.1.agency", "gp", "late.json: actions[1].agency: 'gp' is not one of the scenario's agencies"),
    ("actions.0.data", "no", "late.json: actions[0].data: expected an object"),
    ("actions.0.when", "day 1 10:00", "late.json: actions[0]: unknown field 'when'"),
])
def test_a_bad_scenario_names_the_file_and_the_field(path: str, value: Any, expected: str) -> None:
    assert error_for(changed(path, value)).startswith(expected)


def test_two_agencies_with_one_id_are_refused() -> None:
    raw = copy.deepcopy(GOOD)
    raw["agencies"].append(dict(raw["agencies"][0]))
    assert "agencies[1].id: agency id 'school' is used twice" in error_for(raw)


def test_a_never_action_with_answers_is_refused() -> None:
    assert "takes no at and no data" in error_for(changed("actions.1.data", {"summary_of_contact": "x"}))


def test_an_action_for_a_task_the_process_does_not_have_is_refused() -> None:
    scenario = parse_scenario(changed("actions.0.task", "record_criteria_veiw"), "typo.json")
    with pytest.raises(ScenarioError, match=r"typo.json: actions\[0\].task: 'record_criteria_veiw' is not a user task"):
        check_tasks(scenario, {"record_criteria_view", "complete_information_sharing_form"})


def test_a_file_that_is_not_json_says_where(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n "notification": }')
    with pytest.raises(ScenarioError, match=r"broken.json: not valid JSON at line 2, column 18"):
        load_scenario(path)


def test_every_bundled_scenario_is_valid() -> None:
    folder = Path(__file__).resolve().parent.parent / "scenarios"
    files = sorted(folder.glob("*.json"))
    assert len(files) >= 9
    for path in files:
        load_scenario(path)
        json.loads(path.read_text())
