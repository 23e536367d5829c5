"""VAL-03: every limit and error-handling scenario the requirement names has at least one test marked with it, and
the test plan lists each scenario."""

from __future__ import annotations

import ast
from collections import defaultdict

import pytest

from tests.requirements import ROOT, SCENARIOS

TESTS = ROOT / "tests"
TEST_PLAN = ROOT / "docs" / "test-plan.md"


def marked_scenarios(source: str, where: str) -> dict[tuple[str, str], list[str]]:
    """(marker, scenario) → the test functions of one module decorated with @pytest.mark.<marker>("scenario")."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
                continue
            marker = decorator.func.attr
            if marker in SCENARIOS and ast.unparse(decorator.func.value) == "pytest.mark":
                for arg in decorator.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found[(marker, arg.value)].append(f"{where}::{node.name}")
    return found


def suite_scenarios() -> dict[tuple[str, str], list[str]]:
    """The same over every test module of the suite."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(TESTS.rglob("test_*.py")):
        for key, tests in marked_scenarios(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))).items():
            found[key] += tests
    return found


@pytest.mark.req("VAL-03")
def test_every_limit_and_error_handling_scenario_has_a_marked_test() -> None:
    found = suite_scenarios()
    missing = [
        f"{marker}({name!r})" for marker, names in SCENARIOS.items() for name in names if not found[marker, name]
    ]
    assert not missing, f"no test is marked with {', '.join(missing)}"


def test_a_module_without_one_scenario_is_reported_as_missing_it() -> None:
    source = (
        "import pytest\n"
        "@pytest.mark.limits('min')\n@pytest.mark.parametrize('x', [1])\ndef test_low(x): pass\n"
        "@pytest.mark.error_handling\ndef test_bare(): pass\n"
        "@pytest.mark.error_handling('device_timeout')\ndef helper(): pass\n"
    )
    found = marked_scenarios(source, "m.py")
    assert dict(found) == {("limits", "min"): ["m.py::test_low"]}


@pytest.mark.req("VAL-03")
def test_the_test_plan_lists_every_scenario_with_a_test_that_carries_it() -> None:
    plan = TEST_PLAN.read_text(encoding="utf-8")
    found = suite_scenarios()
    for marker, names in SCENARIOS.items():
        for name in names:
            assert f'`{marker}("{name}")`' in plan, f"the test plan does not list {marker}({name!r})"
            named = [t.split("::")[0] for t in found[marker, name]]
            assert any(path in plan for path in named), f"the test plan names no module of {marker}({name!r})"
