"""The demo library through the BPMN engine: it lints clean and the procedures run to their end in a dry run."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import pytest

from ebr.domain.batch import reconcile, yield_percent
from ebr.domain.calculations import parse
from ebr.domain.signatures import SitePolicy, parse_policy
from ebr.engine.dryrun import fill
from ebr.engine.runtime import SpiffRuntime
from ebr.library.loader import FolderLibrary

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = FolderLibrary(ROOT)


class ReworkTwice(Mapping[str, Mapping[str, object]]):
    """Dry-run values whose LOD fails twice (too wet) and then passes."""

    def __init__(self) -> None:
        self.lod = iter(["3.4", "2.6", "1.2"])

    def __getitem__(self, step_id: str) -> Mapping[str, object]:
        if step_id != "sample_lod":
            raise KeyError(step_id)
        return {"lod_pct": next(self.lod)}

    def __iter__(self) -> Iterator[str]:
        return iter(["sample_lod"])

    def __len__(self) -> int:
        return 1


@pytest.fixture(scope="module")
def runtime() -> SpiffRuntime:
    return SpiffRuntime()


def site_policy() -> SitePolicy:
    text = (ROOT / "signatures/policy.toml").read_text(encoding="utf-8")
    return parse_policy(tomllib.loads(text), "test")


@pytest.mark.parametrize("procedure_id", ["granulation", "quick_check"])
def test_the_demo_library_lints_clean(runtime: SpiffRuntime, procedure_id: str) -> None:
    bundle = LIBRARY.bundle(procedure_id)
    problems = runtime.lint(bundle, LIBRARY.forms(bundle), LIBRARY.equipment(bundle), site_policy())
    assert problems == []


def test_granulation_runs_to_the_end(runtime: SpiffRuntime) -> None:
    bundle = LIBRARY.bundle("granulation")
    result = runtime.dry_run(bundle, LIBRARY.forms(bundle), {})
    assert result.problems == ()
    assert result.completed
    steps = runtime.steps(bundle)
    user_steps = [element for element in result.path if element in steps]
    assert len(user_steps) >= 34  # line clearance + every step of the nominal path
    assert user_steps[-1] == "final_reconciliation"
    assert not {"record_dispensing_deviation", "record_drying_deviation", "record_yield_deviation"} & set(result.path)


def test_the_nominal_values_give_a_yield_within_limits_and_a_balanced_reconciliation(runtime: SpiffRuntime) -> None:
    bundle = LIBRARY.bundle("granulation")
    forms, steps = LIBRARY.forms(bundle), runtime.steps(bundle)
    data: dict[str, object] = {}
    for step_id in (element for element in runtime.dry_run(bundle, forms, {}).path if element in steps):
        data.update(fill(forms[steps[step_id].form_id], {}, data))

    def amount(source: str) -> Decimal:
        value = parse(source).evaluate(data)
        assert isinstance(value, Decimal)
        return value

    spec = forms["calculate_yield"].yield_spec
    assert spec is not None
    assert spec.low is not None
    assert spec.high is not None
    assert spec.low <= yield_percent(amount(spec.produced), amount(spec.theoretical)) <= spec.high
    for line in forms["final_reconciliation"].reconciliation:
        balance = reconcile(amount(line.issued), amount(line.used), amount(line.returned), amount(line.waste))
        assert not balance.exceeds(line.tolerance), line.material


def test_granulation_reworks_twice_then_passes(runtime: SpiffRuntime) -> None:
    bundle = LIBRARY.bundle("granulation")
    values = ReworkTwice()
    result = runtime.dry_run(bundle, LIBRARY.forms(bundle), values)
    assert result.problems == ()
    assert result.completed
    assert result.path.count("dry_granules") == 3
    assert "record_drying_deviation" not in result.path


def test_granulation_stops_at_a_deviation_after_three_reworks(runtime: SpiffRuntime) -> None:
    bundle = LIBRARY.bundle("granulation")
    result = runtime.dry_run(bundle, LIBRARY.forms(bundle), {"sample_lod": {"lod_pct": "2.5"}})
    assert result.problems == ()
    assert result.completed
    assert result.path.count("sample_lod") == 3
    assert "record_drying_deviation" in result.path
    assert "final_reconciliation" not in result.path


def test_an_api_mass_out_of_tolerance_goes_to_the_deviation_step(runtime: SpiffRuntime) -> None:
    bundle = LIBRARY.bundle("granulation")
    result = runtime.dry_run(bundle, LIBRARY.forms(bundle), {"dispense_api": {"api_gross": "99.500"}})
    assert result.completed
    assert "record_dispensing_deviation" in result.path
    assert "dispense_mcc" not in result.path


@pytest.mark.parametrize(("mass", "deviation"), [("1.005", False), ("1.020", True)])
def test_quick_check_branches_on_the_weighed_mass(runtime: SpiffRuntime, mass: str, deviation: bool) -> None:
    bundle = LIBRARY.bundle("quick_check")
    result = runtime.dry_run(bundle, LIBRARY.forms(bundle), {"qc_weigh": {"qc_mass": mass}})
    assert result.problems == ()
    assert result.completed
    assert ("qc_deviation" in result.path) is deviation
    assert ("qc_confirm" in result.path) is not deviation
