"""Step records as pure rules: value validation, limits, corrections, late entries, hold times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebr.domain.errors import Conflict, InvalidInput
from ebr.domain.limits import Limit
from ebr.domain.records import (
    CapturedValue,
    HoldNotElapsed,
    HoldStatus,
    Source,
    StepRecord,
    check_hold,
    check_override,
    evaluate_limits,
    hold_status,
    is_late_entry,
    parse_duration,
    validate_value,
)
from ebr.domain.steps import DeviceSource, FieldDefinition

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
MASS = FieldDefinition("mass", "Net mass", "quantity", unit="kg", precision=3)


def value(field_id: str = "mass", amount: str = "12.500", at: datetime = T0, by: int = 7) -> CapturedValue:
    return CapturedValue(field_id, Decimal(amount), "kg", Source.TYPED, at, by, "KIOSK-1")


# Validation of a submitted value against its field definition


def test_a_quantity_with_its_unit_and_precision_is_accepted() -> None:
    assert validate_value(MASS, " 12.500 ", "kg") == Decimal("12.500")


def test_a_wrong_unit_is_refused_naming_both_units() -> None:
    with pytest.raises(InvalidInput, match="wrong unit 'g', expected 'kg'"):
        validate_value(MASS, "12.5", "g")


def test_a_unit_on_a_unitless_number_is_refused() -> None:
    with pytest.raises(InvalidInput, match="expected no unit"):
        validate_value(FieldDefinition("ph", "pH", "number"), "7.0", "pH")


def test_more_decimal_places_than_the_precision_are_refused() -> None:
    with pytest.raises(InvalidInput, match="at most 3 decimal places"):
        validate_value(MASS, "12.5001", "kg")


@pytest.mark.parametrize("text", ["abc", "1e3", "NaN", "Infinity", "1,5", ".5", "5."])
def test_anything_but_a_plain_decimal_is_not_a_number(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not a number"):
        validate_value(MASS, text, "kg")


def test_a_missing_required_value_is_refused_and_a_missing_optional_one_is_none() -> None:
    with pytest.raises(InvalidInput, match="Net mass is required"):
        validate_value(MASS, "  ", "kg")
    assert validate_value(FieldDefinition("note", "Note", "text", required=False), None) is None


def test_a_choice_must_be_one_of_the_listed_choices() -> None:
    field = FieldDefinition("look", "Appearance", "choice", choices=("clear", "turbid"))
    assert validate_value(field, "clear") == "clear"
    with pytest.raises(InvalidInput, match="not one of clear, turbid"):
        validate_value(field, "cloudy")


def test_a_boolean_is_yes_or_no() -> None:
    field = FieldDefinition("clean", "Line clear", "boolean")
    assert validate_value(field, "Yes") is True
    assert validate_value(field, "false") is False
    with pytest.raises(InvalidInput, match="yes or no"):
        validate_value(field, "maybe")


def test_a_date_time_needs_its_zone() -> None:
    field = FieldDefinition("sampled", "Sampled at", "datetime")
    assert validate_value(field, "2026-11-25T09:14:03Z") == datetime(2026, 11, 25, 9, 14, 3, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="needs its zone"):
        validate_value(field, "2026-11-25T09:14:03")
    with pytest.raises(InvalidInput, match="not an ISO 8601"):
        validate_value(field, "25/11/2026")


def test_a_calculated_field_cannot_be_entered() -> None:
    with pytest.raises(InvalidInput, match="calculated on the server"):
        validate_value(FieldDefinition("yield", "Yield", "calculated", unit="%"), "99", "%")


def test_typing_over_a_device_field_needs_a_reason() -> None:
    bound = FieldDefinition("mass", "Net mass", "reading", unit="kg", source=DeviceSource("balance", "net"))
    with pytest.raises(InvalidInput, match="needs a reason"):
        check_override(bound, Source.TYPED, " ")
    check_override(bound, Source.TYPED, "balance display frozen")
    check_override(bound, Source.DEVICE, "")
    check_override(MASS, Source.TYPED, "")


# Limits, through Limit


def test_inclusive_limits_accept_their_edges_and_refuse_just_outside() -> None:
    field = FieldDefinition(
        "t", "Temperature", "reading", unit="°C", limit=Limit(minimum=Decimal(20), maximum=Decimal(25))
    )
    assert evaluate_limits(field, Decimal(20)).within
    assert evaluate_limits(field, Decimal(25)).within
    below, above = evaluate_limits(field, Decimal("19.99")), evaluate_limits(field, Decimal("25.01"))
    assert not below.within and below.needs_confirmation and below.opens_deviation
    assert "below the limit" in below.reason and "above the limit" in above.reason
    assert below.limit == "≥ 20, ≤ 25"


def test_exclusive_limits_refuse_their_edges() -> None:
    limit = Limit(minimum=Decimal(0), maximum=Decimal(10), min_exclusive=True, max_exclusive=True)
    field = FieldDefinition("x", "X", "number", limit=limit)
    assert not evaluate_limits(field, Decimal(0)).within
    assert not evaluate_limits(field, Decimal(10)).within
    assert evaluate_limits(field, Decimal("0.001")).within


def test_target_and_tolerance_bound_the_value() -> None:
    field = FieldDefinition("m", "Mass", "quantity", unit="kg", limit=Limit(Decimal(10), Decimal("0.5"), unit="kg"))
    assert evaluate_limits(field, Decimal("10.5")).within
    assert not evaluate_limits(field, Decimal("9.499")).within


def test_a_field_without_limits_is_always_within() -> None:
    assert evaluate_limits(MASS, Decimal(-1)).within


# Late entries


def test_an_entry_exactly_at_the_window_is_on_time_and_a_microsecond_later_is_late() -> None:
    window = timedelta(minutes=15)
    assert not is_late_entry(T0, T0 + window, window)
    assert is_late_entry(T0, T0 + window + timedelta(microseconds=1), window)
    assert not is_late_entry(T0, T0, window)


def test_late_entry_compares_instants_not_wall_clocks() -> None:
    paris = timezone(timedelta(hours=1))
    assert not is_late_entry(T0, datetime(2026, 11, 25, 10, 10, tzinfo=paris), timedelta(minutes=15))


def test_an_entry_before_its_step_became_active_or_a_negative_window_is_refused() -> None:
    with pytest.raises(InvalidInput, match="precede"):
        is_late_entry(T0, T0 - timedelta(seconds=1), timedelta(minutes=15))
    with pytest.raises(InvalidInput, match="negative"):
        is_late_entry(T0, T0, timedelta(minutes=-1))


def test_naive_times_are_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        is_late_entry(datetime(2026, 11, 25, 9, 0), T0, timedelta(minutes=15))


# Durations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT30M", timedelta(minutes=30)),
        ("PT4H", timedelta(hours=4)),
        ("P1DT2H", timedelta(days=1, hours=2)),
        ("P2W", timedelta(weeks=2)),
        ("P1D", timedelta(days=1)),
        ("PT0S", timedelta(0)),
        ("PT90M", timedelta(minutes=90)),
        ("PT1H30M15S", timedelta(hours=1, minutes=30, seconds=15)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("PT1,25S", timedelta(seconds=1, milliseconds=250)),
        (" PT4H ", timedelta(hours=4)),
    ],
)
def test_iso_8601_durations_are_parsed(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "4H", "PT4", "PT4h", "-PT4H", "PT-4H", "P1.5D", "PT4M2H", "P1H", "PTH", "x"]
)
def test_malformed_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="not an ISO 8601 duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["P1Y", "P2M", "P1Y2M3D", "P1MT2H"])
def test_years_and_months_are_refused_because_their_length_varies(text: str) -> None:
    with pytest.raises(InvalidInput, match="years and months have no fixed length"):
        parse_duration(text)


def test_an_absurdly_long_duration_is_refused() -> None:
    with pytest.raises(InvalidInput, match="too long"):
        parse_duration("P99999999999D")


@given(days=st.integers(0, 3650), hours=st.integers(0, 200), minutes=st.integers(0, 200), seconds=st.integers(0, 200))
def test_any_day_hour_minute_second_duration_parses_to_its_sum(
    days: int, hours: int, minutes: int, seconds: int
) -> None:
    text = f"P{days}DT{hours}H{minutes}M{seconds}S"
    assert parse_duration(text) == timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


# Hold times


def test_exactly_at_the_minimum_hold_the_step_may_proceed_and_just_before_it_may_not() -> None:
    done = T0
    assert check_hold(done + timedelta(minutes=30), done, "PT30M", "PT4H").status is HoldStatus.OK
    with pytest.raises(HoldNotElapsed, match=r"PT30M has not elapsed: proceed at 2026-11-25T09:30:00\.000000Z"):
        check_hold(done + timedelta(minutes=29, seconds=59), done, "PT30M", "PT4H")


def test_exactly_at_the_maximum_hold_is_ok_and_just_after_is_overdue() -> None:
    at_max = check_hold(T0 + timedelta(hours=4), T0, "PT30M", "PT4H")
    assert at_max.status is HoldStatus.OK and not at_max.opens_deviation
    late = check_hold(T0 + timedelta(hours=4, microseconds=1), T0, "PT30M", "PT4H")
    assert late.status is HoldStatus.OVERDUE and late.opens_deviation
    assert late.latest == T0 + timedelta(hours=4)


def test_the_poller_sees_too_early_without_a_refusal() -> None:
    check = hold_status(T0, T0, "PT30M", "")
    assert check.status is HoldStatus.TOO_EARLY and check.earliest == T0 + timedelta(minutes=30)
    assert check.latest is None


def test_without_hold_limits_any_time_is_ok() -> None:
    assert check_hold(T0 + timedelta(days=400), T0, "", "").status is HoldStatus.OK


def test_a_minimum_longer_than_the_maximum_is_refused() -> None:
    with pytest.raises(InvalidInput, match="longer than the maximum"):
        check_hold(T0, T0, "PT5H", "PT4H")


def test_a_current_time_before_the_completion_is_a_clock_problem() -> None:
    with pytest.raises(InvalidInput, match="check the clock"):
        check_hold(T0 - timedelta(seconds=1), T0, "PT30M", "PT4H")


# Captured values and corrections


def test_a_device_value_needs_its_raw_value_and_read_time() -> None:
    with pytest.raises(InvalidInput, match="raw value"):
        CapturedValue("mass", Decimal("12.5"), "kg", Source.DEVICE, T0, 7, "KIOSK-1")
    read = CapturedValue("mass", Decimal("12.5"), "kg", Source.DEVICE, T0, 7, "KIOSK-1", "0x30D4", T0)
    assert read.raw == "0x30D4" and read.device_time == T0


def test_every_value_names_its_terminal() -> None:
    with pytest.raises(InvalidInput, match="terminal"):
        CapturedValue("mass", Decimal(1), "kg", Source.TYPED, T0, 7, "")


def test_a_second_capture_of_the_same_field_must_be_a_correction() -> None:
    record = StepRecord("B-1", "weigh", T0).capture(value())
    with pytest.raises(Conflict, match="correct it instead"):
        record.capture(value(amount="13"))


def test_a_correction_before_signing_keeps_the_history() -> None:
    record = StepRecord("B-1", "weigh", T0).capture(value())
    corrected, correction = record.correct(value(amount="12.400"), "", T0 + timedelta(minutes=1), 7)
    assert [v.value for v in corrected.history("mass")] == [Decimal("12.500"), Decimal("12.400")]
    current = corrected.current("mass")
    assert current is not None and current.value == Decimal("12.400")
    assert not correction.after_signing and correction.before.value == Decimal("12.500")


def test_a_correction_after_signing_needs_a_reason_and_lapses_the_signature() -> None:
    signed = StepRecord("B-1", "weigh", T0).capture(value()).sign(T0 + timedelta(minutes=2))
    with pytest.raises(Conflict, match="signed correction"):
        signed.capture(value("tare"))
    with pytest.raises(InvalidInput, match="needs a reason"):
        signed.correct(value(amount="12.400"), " ", T0 + timedelta(minutes=3), 8)
    corrected, correction = signed.correct(value(amount="12.400"), "transcription error", T0 + timedelta(minutes=3), 8)
    assert correction.after_signing and correction.reason == "transcription error"
    assert corrected.signed_at is None
    assert corrected.history("mass")[0].value == Decimal("12.500")


def test_correcting_a_field_without_a_value_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no value to correct"):
        StepRecord("B-1", "weigh", T0).correct(value(), "x", T0, 7)
