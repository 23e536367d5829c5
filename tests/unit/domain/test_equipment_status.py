"""SEQ-07 for equipment: an instance is used only when it exists, is of the right class, in service, clean, calibrated
and qualified; each refusal names why, and every date is valid through its last day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from ebr.domain.equipment import Endpoint
from ebr.domain.equipment_status import EquipmentInstance, check_instance, status_text
from ebr.domain.errors import InvalidInput

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
READY = EquipmentInstance(
    "BAL-001",
    "balance",
    "Floor balance 60 kg",
    "Dispensary 1",
    Endpoint("10.0.0.21"),
    in_service=True,
    clean=True,
    clean_until=NOW + timedelta(hours=8),
    calibration_due=TODAY + timedelta(days=30),
    qualified_until=TODAY + timedelta(days=365),
)


def test_a_clean_calibrated_qualified_instance_in_service_of_the_right_class_passes_and_says_its_status() -> None:
    result = check_instance("BAL-001", READY, "balance", NOW)

    assert result.ok
    assert result.reason.startswith("BAL-001 (balance): in service, clean until 2026-11-25T17:00:00+00:00")
    assert "calibration due 2026-12-25" in result.reason


def test_an_unknown_barcode_is_refused_naming_it() -> None:
    result = check_instance("BAL-404", None, "balance", NOW)

    assert not result.ok
    assert "Unknown equipment 'BAL-404'" in result.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"class_id": "temperature_probe"},
            "Wrong equipment: BAL-001 is a temperature_probe, the step needs a balance",
        ),
        ({"in_service": False}, "BAL-001 is out of service"),
        ({"clean": False}, "BAL-001 is not clean: record its cleaning first"),
        ({"clean_until": NOW}, "its cleaning expired at 2026-11-25T09:00:00+00:00"),
        ({"calibration_due": TODAY - timedelta(days=1)}, "calibration overdue since 2026-11-24"),
        ({"qualified_until": TODAY - timedelta(days=1)}, "qualification lapsed on 2026-11-24"),
    ],
    ids=[
        "wrong-class",
        "out-of-service",
        "not-clean",
        "cleaning-expired",
        "calibration-overdue",
        "qualification-lapsed",
    ],
)
def test_each_broken_rule_refuses_the_instance_with_its_own_reason(change: dict[str, object], reason: str) -> None:
    result = check_instance("BAL-001", replace(READY, **change), "balance", NOW)  # type: ignore[arg-type]

    assert not result.ok
    assert reason in result.reason


def test_the_first_broken_rule_in_the_order_an_operator_fixes_them_is_named() -> None:
    broken = replace(READY, in_service=False, clean=False, calibration_due=TODAY - timedelta(days=3))

    assert check_instance("BAL-001", broken, "balance", NOW).reason == "BAL-001 is out of service."


def test_a_calibration_or_qualification_due_today_still_passes_and_lapses_the_next_day() -> None:
    due_today = replace(READY, clean_until=None, calibration_due=TODAY, qualified_until=TODAY)
    end_of_day = NOW.replace(hour=23, minute=59, second=59)

    assert check_instance("BAL-001", due_today, "balance", end_of_day).ok
    assert not check_instance("BAL-001", due_today, "balance", end_of_day + timedelta(seconds=1)).ok


def test_a_cleaning_holds_until_the_instant_before_its_expiry() -> None:
    until = READY.clean_until
    assert until is not None

    assert check_instance("BAL-001", READY, "balance", until - timedelta(microseconds=1)).ok
    assert not check_instance("BAL-001", READY, "balance", until).ok


def test_no_expected_class_skips_the_class_rule_and_no_dates_mean_none_are_required() -> None:
    plain = EquipmentInstance("IBC-7", "ibc", clean=True)

    assert check_instance("IBC-7", plain, "", NOW).ok
    assert check_instance("IBC-7", plain, "", NOW).reason == "IBC-7 (ibc): in service, clean."


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"code": ""}, "Equipment id"),
        ({"code": "-BAL"}, "Equipment id"),
        ({"code": "B" * 65}, "Equipment id"),
        ({"description": "x" * 201}, "Description"),
        ({"location": "Room\t1"}, "Location"),
        ({"clean_until": datetime(2026, 11, 25, 17, 0)}, "time zone"),  # the naive value refused
    ],
)
def test_an_instance_with_a_bad_id_text_or_naive_expiry_cannot_be_built(
    fields: dict[str, object], problem: str
) -> None:
    values: dict[str, object] = {"code": "BAL-001", "class_id": "balance", **fields}

    with pytest.raises(InvalidInput, match=problem):
        EquipmentInstance(**values)  # type: ignore[arg-type]


def test_the_status_text_names_service_cleaning_calibration_and_qualification() -> None:
    assert status_text(READY) == (
        "in service, clean until 2026-11-25T17:00:00+00:00, calibration due 2026-12-25, qualified until 2027-11-25"
    )
    assert status_text(replace(READY, in_service=False, clean=False, calibration_due=None, qualified_until=None)) == (
        "out of service, not clean"
    )
    assert status_text(replace(READY, clean_until=None, calibration_due=date(2027, 1, 1), qualified_until=None)) == (
        "in service, clean, calibration due 2027-01-01"
    )
