"""Limits as properties over any Decimal (VAL-03): minimum and maximum, inclusive and exclusive edges, exact Decimal
comparison however many digits, target ± tolerance equal to its written bounds, and the unit named in every refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from ebr.domain.limits import Limit

# Six decimal places within a million: every sum and difference below is exact in Decimal's 28 digits.
NUMBERS = st.decimals(min_value=-1_000_000, max_value=1_000_000, places=6, allow_nan=False, allow_infinity=False)
TOLERANCES = st.decimals(min_value=0, max_value=10_000, places=6, allow_nan=False, allow_infinity=False)
# A step far below the six places of the bounds (yet exact in 28 digits): exactness, not closeness, decides.
TINY = st.integers(7, 20).map(lambda k: Decimal(1).scaleb(-k))


@pytest.mark.limits("min")
@given(minimum=NUMBERS, value=NUMBERS)
def test_a_minimum_alone_admits_exactly_the_values_at_or_above_it(minimum: Decimal, value: Decimal) -> None:
    assert Limit(minimum=minimum).evaluate(value).within is (value >= minimum)


@pytest.mark.limits("max")
@given(maximum=NUMBERS, value=NUMBERS)
def test_a_maximum_alone_admits_exactly_the_values_at_or_below_it(maximum: Decimal, value: Decimal) -> None:
    assert Limit(maximum=maximum).evaluate(value).within is (value <= maximum)


@pytest.mark.limits("inclusive_edge")
@given(low=NUMBERS, high=NUMBERS, step=TINY)
def test_inclusive_edges_are_within_and_the_smallest_step_beyond_them_is_not(
    low: Decimal, high: Decimal, step: Decimal
) -> None:
    low, high = min(low, high), max(low, high)
    limit = Limit(minimum=low, maximum=high)
    assert limit.evaluate(low).within and limit.evaluate(high).within
    assert not limit.evaluate(low - step).within
    assert not limit.evaluate(high + step).within


@pytest.mark.limits("exclusive_edge")
@given(low=NUMBERS, high=NUMBERS, step=TINY)
def test_exclusive_edges_are_outside_and_the_smallest_step_inside_them_is_within(
    low: Decimal, high: Decimal, step: Decimal
) -> None:
    low, high = min(low, high), max(low, high)
    assume(high - low > 2 * step)
    limit = Limit(minimum=low, maximum=high, min_exclusive=True, max_exclusive=True)
    below, above = limit.evaluate(low), limit.evaluate(high)
    assert not below.within and f"(> {low})" in below.reason
    assert not above.within and f"(< {high})" in above.reason
    assert limit.evaluate(low + step).within and limit.evaluate(high - step).within


@pytest.mark.limits("exclusive_edge")
@given(low=NUMBERS, high=NUMBERS, value=NUMBERS, low_open=st.booleans(), high_open=st.booleans())
def test_each_edge_is_open_or_closed_on_its_own(
    low: Decimal, high: Decimal, value: Decimal, low_open: bool, high_open: bool
) -> None:
    low, high = min(low, high), max(low, high)
    limit = Limit(minimum=low, maximum=high, min_exclusive=low_open, max_exclusive=high_open)
    above_low = value > low if low_open else value >= low
    below_high = value < high if high_open else value <= high
    assert limit.evaluate(value).within is (above_low and below_high)


@pytest.mark.limits("target_tolerance")
@given(target=NUMBERS, tolerance=TOLERANCES, value=NUMBERS)
def test_target_plus_minus_tolerance_judges_every_value_as_its_written_min_and_max_do(
    target: Decimal, tolerance: Decimal, value: Decimal
) -> None:
    as_target = Limit(target=target, tolerance=tolerance).evaluate(value)
    as_bounds = Limit(minimum=target - tolerance, maximum=target + tolerance).evaluate(value)
    assert as_target == as_bounds


@pytest.mark.limits("target_tolerance")
@given(target=NUMBERS, tolerance=TOLERANCES, low=NUMBERS, high=NUMBERS, value=NUMBERS)
def test_with_both_target_and_min_max_the_tighter_bound_on_each_side_decides(
    target: Decimal, tolerance: Decimal, low: Decimal, high: Decimal, value: Decimal
) -> None:
    both = Limit(target=target, tolerance=tolerance, minimum=low, maximum=high).evaluate(value).within
    one = Limit(target=target, tolerance=tolerance).evaluate(value).within
    other = Limit(minimum=low, maximum=high).evaluate(value).within
    assert both is (one and other)


@pytest.mark.limits("target_tolerance")
@given(target=NUMBERS, tolerance=TOLERANCES, factor=st.decimals(min_value=0, max_value=100, places=3))
def test_a_scaled_target_keeps_its_edges_within_at_any_batch_size(
    target: Decimal, tolerance: Decimal, factor: Decimal
) -> None:
    scaled = Limit(target=target, tolerance=tolerance, scaled=True).times(factor)
    low, high = scaled.bounds()
    assert (low, high) == (target * factor - tolerance * factor, target * factor + tolerance * factor)
    assert low is not None and high is not None
    assert scaled.evaluate(low).within and scaled.evaluate(high).within


@pytest.mark.limits("units")
@given(
    low=NUMBERS, step=st.decimals(min_value="0.000001", max_value=1000, places=6), unit=st.sampled_from(["kg", "°C"])
)
def test_a_value_outside_names_the_broken_bound_with_its_unit(low: Decimal, step: Decimal, unit: str) -> None:
    limit = Limit(minimum=low, maximum=low + step, unit=unit)
    result = limit.evaluate(low - step)
    assert not result.within
    assert result.reason == f"{low - step} {unit} is below the limit (≥ {low} {unit})"
    assert limit.describe() == f"≥ {low} {unit}, ≤ {low + step} {unit}"
