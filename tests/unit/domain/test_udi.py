"""Device identification rules (BR-09): GS1 check digits, quantities, expiry and what is missing or invalid."""

from __future__ import annotations

from datetime import date

import pytest

from ebr.domain.errors import InvalidInput
from ebr.domain.udi import DeviceIdentification, check_udi_di, gs1_check_digit_ok

MADE = date(2026, 11, 25)
GOOD = DeviceIdentification("120", "118", "pcs", "09506000134352", "L1", "SN1-SN120", "2029-11-30")


@pytest.mark.parametrize("gtin", ["09506000134352", "4006381333931", "96385074", "036000291452"])
def test_published_gtins_pass_the_gs1_check_digit(gtin: str) -> None:
    assert gs1_check_digit_ok(gtin)
    assert check_udi_di(gtin) == gtin


@pytest.mark.parametrize("gtin", ["09506000134353", "4006381333932", "1"])
def test_a_mistyped_gtin_fails_its_check_digit(gtin: str) -> None:
    assert not gs1_check_digit_ok(gtin)


def test_a_non_gs1_identifier_is_one_printable_token_and_a_gtin_has_a_gs1_length() -> None:
    assert check_udi_di("+H123ABC01") == "+H123ABC01"  # HIBCC
    with pytest.raises(InvalidInput, match="no spaces"):
        check_udi_di("A B")
    with pytest.raises(InvalidInput, match="8, 12, 13 or 14 digits"):
        check_udi_di("12345")


def test_a_complete_identification_has_no_problem_and_prints_its_gs1_udi() -> None:
    assert GOOD.problems(MADE, serial_required=True) == []
    assert GOOD.human_readable() == "(01)09506000134352(17)291130(10)L1(21)SN1-SN120"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"quantity_approved": ""}, "quantity approved for distribution is not recorded"),
        ({"expiry": "  "}, "expiry date (UDI-PI) is not recorded"),
        ({"quantity_approved": "121"}, "exceeds the quantity manufactured 120"),
        ({"quantity_manufactured": "-1"}, "at least 0"),
        ({"quantity_manufactured": "many"}, "must be numbers"),
        ({"expiry": "2026-11-25"}, "must be after the day of manufacture"),
        ({"udi_di": "09506000134353"}, "check digit"),
        ({"lot": "L 1"}, "lot number (UDI-PI)"),
    ],
)
def test_each_missing_or_invalid_item_is_named(change: dict[str, str], expected: str) -> None:
    from dataclasses import replace

    found = replace(GOOD, **change).problems(MADE, serial_required=True)

    assert any(expected in problem for problem in found), found


def test_the_serial_is_required_only_where_the_procedure_names_one() -> None:
    from dataclasses import replace

    unserialised = replace(GOOD, serial="")
    assert unserialised.problems(MADE, serial_required=False) == []
    assert unserialised.problems(MADE, serial_required=True) == ["serial number or range (UDI-PI) is not recorded"]
