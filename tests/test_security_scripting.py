"""BPMN expressions and scripts run restricted: no imports, no private names, no unbounded loops."""

from __future__ import annotations

import pytest

from rapidreview.calendar import WorkingCalendar
from rapidreview.engine.scripting import CaseScriptEnvironment, ScriptRejected, check_code


@pytest.fixture
def env() -> CaseScriptEnvironment:
    return CaseScriptEnvironment(WorkingCalendar.from_settings(None, ""))


@pytest.mark.parametrize("expression", [
    "().__class__.__base__.__subclasses__()",
    "__import__('os')",
    "x.__dict__",
    "_private",
    "getattr(x, '__class__')",
    "'{0.__class__}'.format(x)",
    "dict(__builtins__=1)",
])
def test_expressions_reaching_private_names_are_refused_naming_the_expression(env: CaseScriptEnvironment,
                                                                             expression: str) -> None:
    with pytest.raises(ScriptRejected, match="refused") as error:
        env.evaluate(expression, {"x": 1})
    assert expression[:20] in str(error.value)


@pytest.mark.parametrize("script", ["import os", "from os import path", "while True:\n    pass",
                                    "def _f():\n    pass", "global x"])
def test_scripts_with_imports_loops_or_private_names_are_refused(env: CaseScriptEnvironment, script: str) -> None:
    with pytest.raises(ScriptRejected):
        env.execute(script, {})


def test_ordinary_expressions_and_scripts_still_work(env: CaseScriptEnvironment) -> None:
    assert env.evaluate("len(agencies) > 1 and all(a['ok'] for a in agencies.values())",
                        {"agencies": {"a": {"ok": True}, "b": {"ok": True}}}) is True
    data: dict[str, object] = {"n": 3}
    env.execute("total = sum(range(n))\nnames = sorted(['b', 'a'])", data)
    assert data["total"] == 3 and data["names"] == ["a", "b"]


def test_the_builtins_are_only_the_safe_ones(env: CaseScriptEnvironment) -> None:
    for name in ("open", "eval", "exec", "getattr", "compile", "globals", "vars", "type"):
        with pytest.raises(Exception):  # noqa: B017 - NameError wrapped by the engine or not
            env.evaluate(f"{name}", {})


def test_range_is_bounded(env: CaseScriptEnvironment) -> None:
    with pytest.raises(Exception, match="at most"):  # noqa: B017
        env.evaluate("sum(range(10**9))", {})


def test_a_syntax_error_is_left_to_the_engine_to_report() -> None:
    check_code("1 +", "expression")  # no ScriptRejected: SpiffWorkflow names the task and the error
