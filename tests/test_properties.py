"""Property-based tests: form validation and the scenario reader never fail in unexpected ways."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapidreview.forms import FORMS_DIR, FieldError, load_forms, validate_answers
from rapidreview.simulator.scenario import ScenarioError, parse_scenario

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
FORMS = load_forms(FORMS_DIR)
PROFILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def answers_for(form_keys: list[str]) -> st.SearchStrategy[Any]:
    # Arbitrary JSON, and dicts using the form's own field names (so validation goes deep).
    keyed = st.dictionaries(st.sampled_from(form_keys) if form_keys else st.text(max_size=8), JSON, max_size=6)
    return JSON | keyed


@pytest.mark.parametrize("name", sorted(FORMS))
def test_validate_answers_returns_field_errors_for_any_json(name: str) -> None:
    form = FORMS[name]
    keys = sorted((form.schema.get("properties") or {}).keys())

    @PROFILE
    @given(answers_for(keys))
    def check(answers: Any) -> None:
        errors = validate_answers(form.schema, answers)
        assert isinstance(errors, list) and all(isinstance(e, FieldError) for e in errors)

    check()


SCENARIO_KEYS = ["name", "reference", "start", "notified_at", "agencies", "steps", "events", "autopilot", "expect",
                 "child", "incident", "days", "actions"]


@PROFILE
@given(JSON | st.dictionaries(st.sampled_from(SCENARIO_KEYS), JSON, max_size=8))
def test_parse_scenario_raises_only_scenario_error(raw: Any) -> None:
    with contextlib.suppress(ScenarioError):  # any other exception fails the test
        parse_scenario(raw, "generated")
