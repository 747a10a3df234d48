"""The application's code names the process's elements only through rapidreview.process_contract.

A literal element id elsewhere would escape ``rapidreview validate``'s contract check: a process owner could
rename the element, the version would deploy, and that code would silently find nothing.

Which constants count: the element ids (the keys of ``ELEMENTS``) and the process id. These are long, specific
names that mean one thing. The data names (``DATA``: "agencies", "sign_offs", ...) and the document kinds are
left out: the same words are rightly used as form questions, report template fields, database columns and
dictionary keys that are not the process's data, so forbidding the literal would flag code that is correct.
"""

from __future__ import annotations

import ast

from rapidreview import process_contract
from rapidreview.config import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "rapidreview"
CONTRACT_MODULE = PACKAGE / "process_contract.py"
GUARDED = {name: constant for constant, name in vars(process_contract).items()
           if constant.isupper() and isinstance(name, str)
           and (name in process_contract.ELEMENTS or constant == "PROCESS_ID")}


def literal_ids(source: str) -> list[tuple[int, str]]:
    """(line, id) for every string literal in the source that is exactly one of the guarded ids."""
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in GUARDED]


def test_the_guarded_ids_are_the_element_ids_and_the_process_id() -> None:
    assert set(GUARDED) == {*process_contract.ELEMENTS, process_contract.PROCESS_ID}
    assert process_contract.AGENCIES not in GUARDED  # a data name: see the module's docstring


def test_a_literal_element_id_is_found_and_a_constant_or_a_longer_string_is_not() -> None:
    source = ('from rapidreview.process_contract import SIGN_OFF_TASK\n'
              'a = "sign_off_final_report"\n'
              'b = SIGN_OFF_TASK\n'
              'c = "sign_off_final_report.schema.json"\n'
              'd = {"rapid_review": 1}\n')
    assert literal_ids(source) == [(2, "sign_off_final_report"), (5, "rapid_review")]


def test_no_module_names_an_element_or_the_process_by_a_literal_id() -> None:
    found = [f"{path.relative_to(PROJECT_ROOT)}:{line}: {value!r} (use process_contract.{GUARDED[value]})"
             for path in sorted(PACKAGE.rglob("*.py")) if path != CONTRACT_MODULE
             for line, value in literal_ids(path.read_text(encoding="utf-8"))]
    assert found == []


def test_the_package_holds_the_modules_the_walk_relies_on() -> None:
    # A wrong root would make the walk above pass on nothing.
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    assert {"process_contract.py", "services/reading/case_progress.py", "documents/report_context.py"} <= modules
    assert CONTRACT_MODULE.exists()
